"""Person and company pages, and the e-mail duplicate check for telesales."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods

from leadwerk.activities.selectors import activity_timeline
from leadwerk.leads.selectors import LeadFilters, lead_list
from leadwerk.pagination import PAGE_SIZES, paginate

from .selectors import (
    company_get,
    company_list,
    contact_fields_limited,
    person_find_by_email,
    person_get,
    person_list,
)

# A company page shows this many of its newest leads and persons.
COMPANY_PAGE_LIMIT = 200


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _page_size(request) -> int:
    size = _int(request.GET.get("per_page"), PAGE_SIZES[0])
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def _list_page(request, rows, *, template: str, partial: str) -> HttpResponse:
    """A searchable, paginated list: the full page, or only the table for htmx."""
    q = request.GET.get("q", "").strip()[:200]
    page = paginate(
        rows(user=request.user, q=q),
        page=_int(request.GET.get("page"), 1),
        size=_page_size(request),
    )
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"page": page, "q": q, "query": query.urlencode(), "page_sizes": PAGE_SIZES}
    wants_partial = (
        request.htmx
        and not request.htmx.history_restore_request
        and request.htmx.target == "list-table"
    )
    response = render(request, partial if wants_partial else template, ctx)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def persons(request):
    return _list_page(
        request,
        person_list,
        template="contacts/persons.html",
        partial="contacts/partials/person_table.html",
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def person_detail(request, uuid):
    from leadwerk.consent.views import consent_panel_context
    from leadwerk.privacy.selectors import user_may_handle_requests
    from leadwerk.privacy.services import person_is_erased

    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    leads = list(lead_list(user=request.user, filters=LeadFilters()).filter(person=person))
    return render(
        request,
        "contacts/person_detail.html",
        {
            "leads": leads,
            "timeline": activity_timeline(user=request.user, person=person),
            "may_handle_requests": user_may_handle_requests(request.user),
            "erased": person_is_erased(person),
            **consent_panel_context(request, person),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def companies(request):
    return _list_page(
        request,
        company_list,
        template="contacts/companies.html",
        partial="contacts/partials/company_table.html",
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def company_detail(request, uuid):
    company = company_get(user=request.user, uuid=uuid)
    if company is None:
        raise Http404
    limited = contact_fields_limited(request.user)
    people = list(person_list(user=request.user, company_uuid=company.uuid)[:COMPANY_PAGE_LIMIT])
    leads_qs = lead_list(user=request.user, filters=LeadFilters()).filter(company=company)
    leads = list(leads_qs[:COMPANY_PAGE_LIMIT])
    lead_count = len(leads) if len(leads) < COMPANY_PAGE_LIMIT else leads_qs.count()
    return render(
        request,
        "contacts/company_detail.html",
        {
            "company": company,
            "people": people,
            "leads": leads,
            "lead_count": lead_count,
            "limited": limited,
        },
    )


@login_required
@require_http_methods(["GET"])
def email_check(request):
    """htmx: warn telesales when the typed e-mail already belongs to a person."""
    person = person_find_by_email(user=request.user, email=request.GET.get("email", "")[:254])
    return render(request, "contacts/partials/email_check.html", {"person": person})
