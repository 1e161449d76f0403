"""Consent pages. Public (signed links from e-mails, rate-limited): confirm a double opt-in,
unsubscribe (RFC 8058 one-click), preferences. Staff: the consent panel on a person, record
and withdraw, consent texts."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from leadwerk.accounts.choices import Role
from leadwerk.audit.context import client_ip
from leadwerk.contacts.models import Person
from leadwerk.contacts.selectors import contact_fields_limited, person_get
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.throttle.services import rate_limit_hit

from . import services
from .choices import ConsentSource, ConsentState, ContactChannel, Purpose
from .forms import ConsentRecordForm, ConsentTextForm, PurposeChannelForm
from .selectors import (
    consent_history,
    consent_overview,
    consent_text_get,
    consent_text_list,
)
from .tokens import (
    BadLink,
    preferences_token,
    preferences_token_read,
    unsubscribe_token_read,
)

# --- public links ----------------------------------------------------------------


def _limited(request) -> bool:
    return not rate_limit_hit(
        scope="consent-link",
        ident=client_ip(request),
        limit=settings.LEADWERK_LINK_RATE_LIMIT,
        window_seconds=settings.LEADWERK_LINK_RATE_WINDOW,
    )


def _public_error(request, message: str, status: int):
    return render(request, "consent/public/message.html", {"message": message}, status=status)


def _too_many(request):
    return _public_error(request, _("Too many requests. Please try again later."), 429)


def _bad_link(request, exc: BadLink):
    if exc.reason == "expired":
        msg = _("This link has expired. Please ask for a new one.")
    else:
        msg = _("This link is not valid.")
    return _public_error(request, msg, 400 if exc.reason == "invalid" else 410)


@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    """Double opt-in: GET shows what is confirmed (link scanners only GET), POST confirms."""
    if _limited(request):
        return _too_many(request)
    from .tokens import doi_token_read

    try:
        doi_token_read(token)
    except BadLink as exc:
        return _bad_link(request, exc)
    if request.method == "GET":
        return render(request, "consent/public/confirm.html", {"token": token})
    try:
        result, doi = services.consent_doi_confirm(
            token=token,
            ip=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    except BadLink as exc:
        return _bad_link(request, exc)
    return render(
        request,
        "consent/public/confirmed.html",
        {
            "doi": doi,
            "already": result == services.ConfirmResult.ALREADY,
            "purpose": Purpose(doi.purpose).label,
            "preferences_token": preferences_token(person=doi.person),
        },
    )


@csrf_exempt  # the signed link replaces CSRF; RFC 8058 clients POST without a session
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET: a page with one button. POST (the button, or a mail client's one-click
    ``List-Unsubscribe=One-Click``): withdraw at once."""
    if _limited(request):
        return _too_many(request)
    try:
        link = unsubscribe_token_read(token)
    except BadLink as exc:
        return _bad_link(request, exc)
    person = Person.objects.filter(uuid=link.person_uuid).first()
    if person is None or link.purpose not in Purpose.values:
        return _public_error(request, _("This link is not valid."), 400)
    ctx = {
        "token": token,
        "purpose": Purpose(link.purpose).label,
        "channel": ContactChannel(link.channel).label,
        "preferences_token": preferences_token(person=person),
    }
    if request.method == "GET":
        return render(request, "consent/public/unsubscribe.html", ctx)
    try:
        services.consent_withdraw(
            person=person,
            purpose=link.purpose,
            channel=link.channel,
            source=ConsentSource.UNSUBSCRIBE,
            evidence=f"message {link.message_uuid}" if link.message_uuid else "",
        )
    except DomainValidationError:
        return _public_error(request, _("This link is not valid."), 400)
    return render(request, "consent/public/unsubscribed.html", ctx)


@require_http_methods(["GET", "POST"])
def preferences(request, token: str):
    """The person's own page: see each purpose, withdraw at once, or subscribe (double
    opt-in by e-mail)."""
    if _limited(request):
        return _too_many(request)
    try:
        person_uuid = preferences_token_read(token)
    except BadLink as exc:
        return _bad_link(request, exc)
    person = Person.objects.filter(uuid=person_uuid).first()
    if person is None:
        return _public_error(request, _("This link is not valid."), 400)
    notice = ""
    status = 200
    if request.method == "POST":
        form = PurposeChannelForm(request.POST)
        action = request.POST.get("action")
        if not form.is_valid() or action not in ("withdraw", "subscribe"):
            return _public_error(request, _("Please choose a purpose."), 400)
        purpose, channel = form.cleaned_data["purpose"], form.cleaned_data["channel"]
        try:
            if action == "withdraw":
                services.consent_withdraw(
                    person=person,
                    purpose=purpose,
                    channel=channel,
                    source=ConsentSource.PREFERENCES,
                )
                notice = _("Done: %(purpose)s is switched off.") % {
                    "purpose": Purpose(purpose).label
                }
            else:
                services.consent_doi_start(
                    person=person,
                    purpose=purpose,
                    channel=channel,
                    source=ConsentSource.PREFERENCES,
                )
                notice = _("Please check your inbox and confirm with the link we sent you.")
        except (DomainValidationError, Conflict) as exc:
            notice = exc.message if isinstance(exc, Conflict) else exc.errors[0].msg
            status = 422
    return render(
        request,
        "consent/public/preferences.html",
        {
            "rows": consent_overview(person=person),
            "notice": notice,
            "token": token,
            "granted": ConsentState.GRANTED,
            "email": ContactChannel.EMAIL,
        },
        status=status,
    )


# --- staff -------------------------------------------------------------------------


def _person_or_404(request, uuid) -> Person:
    person = person_get(user=request.user, uuid=uuid)
    if person is None:
        raise Http404
    return person


def _may_grant(user) -> bool:
    return user.has_role(
        Role.ADMIN, Role.MARKETING, Role.INSIDE_SALES, Role.SALES_REP, Role.SALES_MANAGER
    )


def consent_panel_context(request, person: Person, **extra) -> dict:
    return {
        "person": person,
        "consent_rows": consent_overview(person=person),
        "consent_history": consent_history(person=person)[:100],
        "consent_form": extra.pop("consent_form", ConsentRecordForm()),
        "may_grant": _may_grant(request.user),
        # Partners see the state and history, not the person's addresses.
        "limited": contact_fields_limited(request.user),
        "granted": ConsentState.GRANTED,
        **extra,
    }


def _panel(request, person: Person, status: int = 200, **extra):
    if request.htmx:
        return render(
            request,
            "consent/partials/panel.html",
            consent_panel_context(request, person, **extra),
            status=status,
        )
    return redirect(person)


@login_required
@require_POST
def person_withdraw(request, uuid):
    """Anyone who may see the person may record a withdrawal (e.g. "do not call me")."""
    person = _person_or_404(request, uuid)
    form = PurposeChannelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a purpose and channel."))
        return _panel(request, person, status=422)
    try:
        services.consent_withdraw(
            person=person,
            purpose=form.cleaned_data["purpose"],
            channel=form.cleaned_data["channel"],
            source=ConsentSource.UI,
            actor=request.user,
        )
    except DomainValidationError as exc:
        messages.error(request, exc.errors[0].msg)
        return _panel(request, person, status=422)
    messages.success(request, _("Withdrawal recorded. It applies at once."))
    return _panel(request, person)


@login_required
@require_POST
def person_record(request, uuid):
    person = _person_or_404(request, uuid)
    if not _may_grant(request.user):
        raise PermissionDenied
    form = ConsentRecordForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        text = None
        if d.get("text_version"):
            text = consent_text_get(
                purpose=d["purpose"],
                channel=d["channel"],
                language=d["language"],
                version=d["text_version"],
            )
            if text is None:
                form.add_error("text_version", _("There is no such text version."))
        if form.is_valid():
            try:
                services.consent_record(
                    person=person,
                    purpose=d["purpose"],
                    channel=d["channel"],
                    state=ConsentState.GRANTED,
                    legal_basis=d["legal_basis"],
                    source=d["source"],
                    text=text,
                    actor=request.user,
                    evidence=d["evidence"],
                )
            except DomainValidationError as exc:
                for e in exc.errors:
                    form.add_error(e.loc[0] if e.loc[0] in form.fields else None, e.msg)
            else:
                messages.success(request, _("Consent recorded."))
                return _panel(request, person)
    if not request.htmx:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return _panel(request, person, status=422, consent_form=form)


@login_required
@require_POST
def person_doi(request, uuid):
    person = _person_or_404(request, uuid)
    if not _may_grant(request.user):
        raise PermissionDenied
    form = PurposeChannelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose a purpose and channel."))
        return _panel(request, person, status=422)
    try:
        services.consent_doi_start(
            person=person,
            purpose=form.cleaned_data["purpose"],
            channel=form.cleaned_data["channel"],
            source=ConsentSource.UI,
            actor=request.user,
        )
    except (DomainValidationError, Conflict) as exc:
        messages.error(request, exc.message if isinstance(exc, Conflict) else exc.errors[0].msg)
        return _panel(request, person, status=422)
    messages.success(request, _("Confirmation e-mail sent."))
    return _panel(request, person)


def _may_edit_texts(user) -> bool:
    return user.has_role(Role.ADMIN, Role.MARKETING)


@login_required
@require_http_methods(["GET", "POST"])
def texts(request):
    if not _may_edit_texts(request.user):
        raise PermissionDenied
    form = ConsentTextForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                version = services.consent_text_publish(actor=request.user, **form.cleaned_data)
            except DomainValidationError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Version %(v)s published.") % {"v": version.version})
                return redirect("consent:texts")
        status = 422
    return render(
        request, "consent/texts.html", {"form": form, "texts": consent_text_list()}, status=status
    )
