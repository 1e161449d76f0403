"""Background tasks (Django Tasks): run an import so the page that started it answers at
once."""

from __future__ import annotations

from django_tasks import task

from .models import ImportJob


@task()
def import_run_task(job_uuid: str) -> dict:
    from .services import job_run

    job = ImportJob.objects.filter(uuid=job_uuid).first()
    if job is None:
        return {"missing": job_uuid}
    job = job_run(job=job)
    return {"job": job_uuid, "status": job.status, "rows_done": job.rows_done}
