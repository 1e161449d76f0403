"""Defaults a company can start with: a business calendar (Monday to Friday 08:00–17:00,
Germany's nationwide public holidays), the rejection reasons of issue 4 and the response
times of seed 002 (one business day; hot leads one business hour)."""

from datetime import time

from django.db import migrations

REASONS = [
    ("not-reachable", "Nicht erreichbar", "Not reachable", False, "recycled"),
    ("no-budget", "Kein Budget", "No budget", False, "recycled"),
    ("no-need", "Kein Bedarf", "No need", False, "recycled"),
    ("wrong-contact", "Falscher Ansprechpartner", "Wrong contact person", False, "recycled"),
    ("duplicate", "Dublette", "Duplicate", False, "disqualified"),
    ("competitor", "Wettbewerber", "Competitor", False, "disqualified"),
    ("student-job-seeker", "Student / Jobsuche", "Student / job seeker", False, "disqualified"),
    ("other", "Sonstiges", "Other", True, "recycled"),
]


def create(apps, schema_editor):
    calendar_model = apps.get_model("routing", "BusinessCalendar")
    hours_model = apps.get_model("routing", "WorkingHours")
    reason_model = apps.get_model("routing", "RejectionReason")
    policy_model = apps.get_model("routing", "SlaPolicy")
    if not calendar_model.objects.filter(is_default=True).exists():
        calendar = calendar_model.objects.create(
            name="Standard (Deutschland)",
            time_zone="Europe/Berlin",
            country="DE",
            subdivision="",
            is_default=True,
        )
        hours_model.objects.bulk_create(
            hours_model(calendar=calendar, weekday=d, starts_at=time(8), ends_at=time(17))
            for d in range(5)
        )
    for position, (code, de, en, needs_text, outcome) in enumerate(REASONS, start=1):
        reason_model.objects.get_or_create(
            code=code,
            defaults={
                "label_de": de,
                "label_en": en,
                "requires_text": needs_text,
                "outcome": outcome,
                "position": position * 10,
            },
        )
    for label, value, unit in (("", 1, "days"), ("hot", 1, "hours")):
        policy_model.objects.get_or_create(
            channel=None,
            label=label,
            defaults={
                "response_value": value,
                "response_unit": unit,
                "reminder_percents": [50, 90],
                "escalate": True,
            },
        )


def remove(apps, schema_editor):
    apps.get_model("routing", "BusinessCalendar").objects.filter(
        name="Standard (Deutschland)"
    ).delete()
    apps.get_model("routing", "RejectionReason").objects.filter(
        code__in=[r[0] for r in REASONS]
    ).delete()
    apps.get_model("routing", "SlaPolicy").objects.filter(channel=None, label__in=["", "hot"]).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
