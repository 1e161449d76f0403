"""Lead list export (CSV/XLSX): exactly the leads the inbox shows the user with the same
filters (the one door: lead_list), neutralised against formula injection, audited."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from leadwerk.audit.choices import AuditAction
from leadwerk.audit.services import audit_record
from leadwerk.leads.selectors import lead_list
from leadwerk.leads.views import _filters_from

from .tabular import FORMATS, table_response

EXPORT_LIMIT = 50_000
LEAD_HEADER = [
    "lead_id",
    "created_at",
    "stage",
    "channel",
    "campaign",
    "owner",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company",
    "city",
    "country",
    "product_interest",
    "message",
]


def _lead_row(lead) -> list:
    p, c = lead.person, lead.company
    return [
        lead.uuid,
        lead.created_at,
        lead.stage,
        lead.channel.slug,
        lead.campaign.slug if lead.campaign_id else "",
        str(lead.owner) if lead.owner_id else "",
        p.salutation,
        p.title,
        p.first_name,
        p.last_name,
        p.email,
        p.phone,
        p.job_title,
        str(c) if c else "",
        c.city if c else "",
        c.country if c else "",
        lead.product_interest,
        lead.message,
    ]


@login_required
def lead_export(request, fmt: str):
    if fmt not in FORMATS:
        raise Http404
    filters, _raw = _filters_from(request)
    leads = list(lead_list(user=request.user, filters=filters)[:EXPORT_LIMIT])
    with transaction.atomic():
        audit_record(
            action=AuditAction.EXPORT,
            actor=request.user,
            object_type="lead_list",
            summary=_("Lead list exported (%(n)s leads)") % {"n": len(leads)},
            after={"format": fmt, "filters": request.GET.dict(), "rows": len(leads)},
        )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return table_response(
        fmt=fmt,
        filename=f"leads-{stamp}",
        header=LEAD_HEADER,
        rows=(_lead_row(lead) for lead in leads),
    )
