"""Person and company pages, and the e-mail duplicate check for telesales."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

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


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _page_size(request) -> int:
    size = _int(request.GET.get("per_page"), 25)
    return size if size in PAGE_SIZES else 25


@login_required
def persons(request):
    q = request.GET.get("q", "")[:200]
    page = paginate(
        person_list(user=request.user, q=q),
        page=_int(request.GET.get("page"), 1),
        size=_page_size(request),
    )
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"page": page, "q": q, "query": query.urlencode(), "page_sizes": PAGE_SIZES}
    if request.htmx and request.htmx.target == "list-table":
        return render(request, "contacts/partials/person_table.html", ctx)
    return render(request, "contacts/persons.html", ctx)


@login_required
def person_detail(request, uuid):
    from leadwerk.consent.views import consent_panel_context
    from leadwerk.privacy.selectors import user_may_handle_requests
    from leadwerk.privacy.services import person_is_erased

    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    leads = lead_list(user=request.user, filters=LeadFilters()).filter(person=person)
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
def companies(request):
    q = request.GET.get("q", "")[:200]
    page = paginate(
        company_list(user=request.user, q=q),
        page=_int(request.GET.get("page"), 1),
        size=_page_size(request),
    )
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"page": page, "q": q, "query": query.urlencode(), "page_sizes": PAGE_SIZES}
    if request.htmx and request.htmx.target == "list-table":
        return render(request, "contacts/partials/company_table.html", ctx)
    return render(request, "contacts/companies.html", ctx)


@login_required
def company_detail(request, uuid):
    company = company_get(user=request.user, uuid=uuid)
    if company is None:
        raise Http404
    limited = contact_fields_limited(request.user)
    people = person_list(user=request.user, company_uuid=company.uuid)[:200]
    leads = lead_list(user=request.user, filters=LeadFilters()).filter(company=company)[:200]
    return render(
        request,
        "contacts/company_detail.html",
        {"company": company, "people": people, "leads": leads, "limited": limited},
    )


@login_required
def email_check(request):
    """htmx: warn telesales when the typed e-mail already belongs to a person."""
    person = person_find_by_email(user=request.user, email=request.GET.get("email", "")[:254])
    return render(request, "contacts/partials/email_check.html", {"person": person})
