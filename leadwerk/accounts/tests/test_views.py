"""Signing in and out, the login wall, the language switch and the API token page."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from leadwerk.accounts.models import ApiToken
from leadwerk.leads.models import WebForm
from leadwerk.tests_support.factories import PASSWORD, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def browser(language: str = "en") -> Client:
    return Client(headers={"Accept-Language": language})


def logged_in(user) -> Client:
    client = browser()
    client.force_login(user)
    return client


# --- login wall ------------------------------------------------------------------------------


@pytest.fixture
def some_pages(channel):
    lead = LeadFactory(channel=channel)
    webform = WebForm.objects.create(name="Kontakt", channel=channel)
    return [
        "/",
        "/leads/",
        "/leads/new/",
        lead.get_absolute_url(),
        reverse("leads:transition", args=[lead.uuid]),
        reverse("leads:assign", args=[lead.uuid]),
        reverse("leads:log_activity", args=[lead.uuid]),
        "/persons/",
        lead.person.get_absolute_url(),
        "/persons/check-email/?email=a@b.de",
        "/companies/",
        lead.company.get_absolute_url(),
        "/forms/",
        "/forms/new/",
        reverse("leads:webform_edit", args=[webform.uuid]),
        "/accounts/tokens/",
    ]


def test_every_page_sends_anonymous_users_to_the_login_page(some_pages):
    client = browser()
    for path in some_pages:
        response = client.get(path, follow=True)
        assert response.redirect_chain, path
        final, _status = response.redirect_chain[-1]
        assert final.startswith(LOGIN), (path, final)
        if path != "/":
            assert final == f"{LOGIN}?next={quote(path, safe='/')}", path
        assert "Log in to Leadwerk" in response.content.decode()


def test_anonymous_posts_change_nothing(channel):
    lead = LeadFactory(channel=channel)
    response = browser().post(reverse("leads:transition", args=[lead.uuid]), {"to": "mql"})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    lead.refresh_from_db()
    assert lead.stage == "new"


# --- login / logout --------------------------------------------------------------------------


def test_logging_in_leads_to_the_inbox(admin_user):
    client = browser()
    page = client.get(LOGIN)
    assert page.status_code == 200
    assert "autofocus" in re.search(r'<input id="id_username"[^>]*>', page.content.decode()).group(
        0
    )

    response = client.post(LOGIN, {"username": "admin", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/leads/"
    assert client.get("/leads/").status_code == 200


def test_logging_in_returns_to_the_page_asked_for(admin_user):
    response = browser().post(
        LOGIN, {"username": "admin", "password": PASSWORD, "next": "/companies/"}
    )
    assert response["Location"] == "/companies/"


def test_logging_in_never_redirects_to_another_site(admin_user):
    response = browser().post(
        LOGIN, {"username": "admin", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/leads/"


@pytest.mark.parametrize(
    ("username", "password"),
    [("admin", "wrong password"), ("nobody", PASSWORD), ("admin", "")],
)
def test_a_wrong_password_shows_an_error(admin_user, username, password):
    client = browser()

    response = client.post(LOGIN, {"username": username, "password": password})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Wrong username or password. Please try again." in html
    assert f'value="{username}"' in html
    assert 'value="wrong password"' not in html, "the password is not echoed back"
    assert client.get("/leads/")["Location"].startswith(LOGIN)


def test_an_inactive_user_cannot_log_in(db):
    UserFactory(username="gone", is_active=False)
    response = browser().post(LOGIN, {"username": "gone", "password": PASSWORD})
    assert "Wrong username or password." in response.content.decode()


def test_logging_out_ends_the_session(admin_user):
    client = logged_in(admin_user)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302 and response["Location"] == LOGIN
    assert client.get("/leads/")["Location"].startswith(LOGIN)


def test_logout_needs_a_post(admin_user):
    client = logged_in(admin_user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/leads/").status_code == 200


def test_the_login_form_is_protected_by_csrf(admin_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": "admin", "password": PASSWORD})
    assert response.status_code == 403


def test_a_logged_in_user_visiting_login_goes_to_the_inbox(admin_user):
    assert logged_in(admin_user).get(LOGIN)["Location"] == "/leads/"


# --- language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("de-DE,de;q=0.9,en;q=0.8", "de"), ("en-US,en;q=0.9", "en"), ("fr-FR", "de"), ("", "de")],
)
def test_the_language_defaults_to_the_browsers(accept, expected):
    response = Client(headers={"Accept-Language": accept} if accept else {}).get(LOGIN)
    assert f'<html lang="{expected}">' in response.content.decode()
    assert response["Content-Language"] == expected
    with translation.override(expected):
        assert translation.gettext("Log in to Leadwerk") in response.content.decode()


def test_the_language_switch_changes_and_keeps_the_language(admin_user):
    client = logged_in(admin_user)  # the browser asks for English
    html = client.get("/leads/").content.decode()
    assert '<option value="en" lang="en" selected>' in html

    response = client.post("/i18n/setlang/", {"language": "de", "next": "/persons/"})

    assert response.status_code == 302 and response["Location"] == "/persons/"
    page = client.get("/persons/")
    assert '<html lang="de">' in page.content.decode()
    assert '<option value="de" lang="de" selected>' in page.content.decode()
    assert client.get("/leads/")["Content-Language"] == "de"


def test_the_language_switch_refuses_unknown_languages(admin_user):
    client = logged_in(admin_user)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/leads/"})
    assert '<html lang="en">' in client.get("/leads/").content.decode()


def test_every_page_offers_the_language_switch(admin_user):
    html = logged_in(admin_user).get("/companies/").content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert ">Deutsch</option>" in html and ">English</option>" in html


# --- API tokens -------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works_with_the_api(admin_user):
    client = logged_in(admin_user)

    response = client.post("/accounts/tokens/", {"name": "Website <Shop>", "scope": "read"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "it is shown only once" in html
    raw = re.search(r'id="new-token" class="code" value="(lw_[^"]+)"', html).group(1)
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=admin_user)
    assert (token.name, token.scope) == ("Website <Shop>", "read")
    assert raw not in token.secret_hash
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/leads").status_code == 200

    listing = client.get("/accounts/tokens/").content.decode()
    assert raw not in listing, "the raw token is never shown again"
    assert "Website &lt;Shop&gt;" in listing
    assert f"lw_{token.prefix}_…" in listing


def test_a_token_needs_a_name(admin_user):
    response = logged_in(admin_user).post("/accounts/tokens/", {"name": "  ", "scope": "write"})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_users_see_only_their_own_tokens(admin_user, marketing_user):
    logged_in(marketing_user).post("/accounts/tokens/", {"name": "Marketing-Sync", "scope": "read"})
    assert "Marketing-Sync" not in logged_in(admin_user).get("/accounts/tokens/").content.decode()


def test_revoking_a_token_stops_it_at_once(admin_user):
    client = logged_in(admin_user)
    html = client.post("/accounts/tokens/", {"name": "CRM", "scope": "write"}).content.decode()
    raw = re.search(r'value="(lw_[^"]+)"', html).group(1)
    token = ApiToken.objects.get()

    response = client.post(f"/accounts/tokens/{token.uuid}/revoke/", follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    page = response.content.decode()
    assert "Token “CRM” revoked." in page and "revoked " in page
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/leads").status_code == 401


def test_nobody_revokes_another_users_token(admin_user, marketing_user):
    logged_in(marketing_user).post("/accounts/tokens/", {"name": "Fremd", "scope": "read"})
    token = ApiToken.objects.get()

    response = logged_in(admin_user).post(f"/accounts/tokens/{token.uuid}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(admin_user):
    client = logged_in(admin_user)
    client.post("/accounts/tokens/", {"name": "CRM", "scope": "write"})
    token = ApiToken.objects.get()
    assert client.get(f"/accounts/tokens/{token.uuid}/revoke/").status_code == 405
