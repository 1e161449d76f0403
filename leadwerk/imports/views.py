"""Import pages: upload, column mapping with preview, run with progress, problem rows."""

from __future__ import annotations

import csv
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.errors import DomainValidationError
from leadwerk.leads.column_mapping import target_choices

from . import services
from .choices import ACTIVE_STATUSES, IssueKind, JobStatus
from .forms import UploadForm
from .selectors import can_import, job_get, job_list

PREVIEW_ROWS = 20


def _require(request):
    if not can_import(request.user):
        raise PermissionDenied


def _job_or_404(request, uuid):
    _require(request)
    job = job_get(user=request.user, uuid=uuid)
    if job is None:
        raise Http404
    return job


@login_required
def imports(request):
    _require(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.job_create(
                data=upload.read(),
                file_name=upload.name,
                channel=form.cleaned_data["channel"],
                campaign=form.cleaned_data["campaign"],
                actor=request.user,
                sheet=form.cleaned_data["sheet"],
            )
        except DomainValidationError as exc:
            for error in exc.errors:
                form.add_error("file" if error.loc[0] == "file" else None, error.msg)
        else:
            return redirect(job)
    return render(
        request,
        "imports/list.html",
        {"form": form, "jobs": job_list(user=request.user)[:50]},
        status=422 if form.errors else 200,
    )


def _mapping_context(job, errors=None) -> dict:
    mapping = services.job_mapping(job)
    preview = services.job_preview(job, limit=PREVIEW_ROWS)
    samples: dict[int, list[str]] = {}
    for row in preview[:3]:
        for index, cell in enumerate(row.cells):
            if cell.strip():
                samples.setdefault(index, []).append(cell.strip()[:40])
    columns = [
        {
            "index": i,
            "header": h or f"#{i + 1}",
            "target": mapping.get(i, ""),
            "samples": samples.get(i, []),
        }
        for i, h in enumerate(job.header)
    ]
    return {
        "job": job,
        "columns": columns,
        "targets": target_choices(),
        "channels": Channel.objects.filter(is_active=True),
        "campaigns": Campaign.objects.filter(is_active=True).select_related("channel"),
        "preview": preview,
        "problems": services.mapping_problems(mapping),
        "errors": errors or [],
    }


@login_required
def detail(request, uuid):
    job = _job_or_404(request, uuid)
    context = {"job": job, "stale": services.job_stale(job)}
    if job.status == JobStatus.MAPPING:
        context.update(_mapping_context(job))
    else:
        context.update(_result_context(job))
    return render(request, "imports/detail.html", context)


def _result_context(job) -> dict:
    issues = job.issues.order_by("row_index", "id")
    return {
        "issues": issues[:100],
        "issue_count": issues.count(),
        "errors_count": job.rows_rejected,
        "IssueKind": IssueKind,
        "active": job.status in ACTIVE_STATUSES,
    }


@login_required
@require_POST
def mapping(request, uuid):
    job = _job_or_404(request, uuid)
    new_mapping = {}
    for index in range(len(job.header)):
        target = request.POST.get(f"map_{index}", "")
        if target:
            new_mapping[index] = target
    channel = Channel.objects.filter(pk=request.POST.get("channel") or job.channel_id).first()
    campaign_id = request.POST.get("campaign", "")
    campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
    errors = []
    try:
        job = services.job_set_mapping(
            job=job, mapping=new_mapping, channel=channel or job.channel, campaign=campaign
        )
    except DomainValidationError as exc:
        errors = [e.msg for e in exc.errors]
    context = {"job": job, **_mapping_context(job, errors)}
    if request.htmx:
        return render(
            request, "imports/partials/mapping.html", context, status=422 if errors else 200
        )
    if errors:
        for error in errors:
            messages.error(request, error)
    return redirect(job)


@login_required
@require_POST
def start(request, uuid):
    job = _job_or_404(request, uuid)
    try:
        services.job_enqueue(job=job)
    except DomainValidationError as exc:
        for error in exc.errors:
            messages.error(request, error.msg)
    else:
        messages.success(request, _("The import is running. You can leave this page."))
    return redirect(job)


@login_required
def progress(request, uuid):
    job = _job_or_404(request, uuid)
    context = {"job": job, "stale": services.job_stale(job), **_result_context(job)}
    return render(request, "imports/partials/progress.html", context)


class _Echo:
    def write(self, value):
        return value


@login_required
def issues_csv(request, uuid):
    job = _job_or_404(request, uuid)
    writer = csv.writer(_Echo(), delimiter=";")

    def rows():
        yield "\ufeff"  # Excel opens UTF-8 with a BOM correctly
        for row in services.job_issues_csv(job):
            yield writer.writerow(row)

    name = re.sub(r"[^\w.\-]+", "_", job.file_name.rsplit(".", 1)[0])[:80] or "import"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-problems.csv"'
    return response
