"""Hardening: Argon2 passwords, login lock-out, cookies, the Content-Security-Policy the UI
works under, API token revocation and last use."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import identify_hasher

from leadwerk.accounts.models import ApiToken
from leadwerk.accounts.services import api_token_create
from leadwerk.audit.choices import AuditAction
from leadwerk.audit.models import AuditEntry
from leadwerk.leads.models import WebForm
from leadwerk.tests_support.factories import PASSWORD, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_passwords_are_hashed_with_argon2(settings):
    # Tests may swap in a fast hasher; the configuration Leadwerk ships is what counts.
    shipped = importlib.import_module("leadwerk.settings").PASSWORD_HASHERS
    assert shipped[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = shipped
    user = UserFactory(username="hashed", password="ein langes Passwort")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("ein langes Passwort")


def test_repeated_failed_logins_lock_the_account_out_even_with_the_right_password(client, rep):
    limit = django_settings.AXES_FAILURE_LIMIT
    for _ in range(limit):
        response = client.post("/accounts/login/", {"username": "rep", "password": "falsch"})
        assert response.status_code in (200, 429)
    locked = client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})
    assert locked.status_code == 429
    assert "locked" in locked.content.decode().lower()
    assert "_auth_user_id" not in client.session
    failures = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).count()
    assert failures >= limit


def test_a_successful_login_resets_the_failure_count(client, rep):
    for _ in range(django_settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/login/", {"username": "rep", "password": "falsch"})
    ok = client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})
    assert ok.status_code == 302
    client.post("/accounts/logout/")
    client.post("/accounts/login/", {"username": "rep", "password": "falsch"})
    again = client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})
    assert again.status_code == 302


def test_session_and_csrf_cookies_are_http_only_and_same_site(client, rep):
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert django_settings.CSRF_COOKIE_HTTPONLY is True
    assert django_settings.SESSION_COOKIE_AGE <= 12 * 3600


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {p.split()[0]: p.strip() for p in header.split(";") if p.strip()}


def test_the_app_sends_a_strict_csp_and_denies_framing(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/leads/")
    csp = _csp(response)
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_public_form_may_be_embedded_anywhere(client, channel):
    form = WebForm.objects.create(name="Kontakt", channel=channel)
    response = client.get(f"/f/{form.uuid}/")
    assert _csp(response)["frame-ancestors"] == "frame-ancestors *"
    assert "X-Frame-Options" not in response
    assert _csp(response)["script-src"] == "script-src 'self'"


class _InlineFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts and styles, event handlers,
    javascript: URLs and htmx attributes that evaluate code."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = {name: value or "" for name, value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in names.items():
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if name in ("hx-on", "hx-vars") or name.startswith("hx-on"):
                self.found.append(f"{name} on <{tag}>")
            if value.strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}>")


def test_no_page_needs_inline_script_or_style(client, admin_user, channel):
    lead = LeadFactory(channel=channel)
    form = WebForm.objects.create(name="Kontakt", channel=channel)
    client.force_login(admin_user)
    pages = [
        "/leads/",
        f"/leads/{lead.uuid}/",
        "/leads/new/",
        f"/persons/{lead.person.uuid}/",
        "/persons/",
        f"/companies/{lead.company.uuid}/",
        "/companies/",
        "/forms/",
        "/accounts/tokens/",
        "/audit/",
        "/consent/texts/",
        "/calls/",
        "/privacy/retention/",
        f"/persons/{lead.person.uuid}/privacy/export.html",
        f"/f/{form.uuid}/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        finder = _InlineFinder()
        finder.feed(response.content.decode())
        assert finder.found == [], path
        assert "Content-Security-Policy" in response


def test_deploy_check_is_clean_behind_https(tmp_path):
    env = {
        **os.environ,
        "LEADWERK_SECURE_COOKIES": "1",
        "LEADWERK_SECRET_KEY": "x" * 30 + "Zq9!kLmN0pQrS7tUvWxY2zAbCdEfGhIj",
        "LEADWERK_VAR_DIR": str(tmp_path),
        "LEADWERK_ALLOWED_HOSTS": "leads.example.com",
        "DJANGO_SETTINGS_MODULE": "leadwerk.settings",
    }
    env.pop("LEADWERK_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # HSTS for subdomains and preloading are the operator's call (LEADWERK_HSTS_SUBDOMAINS).
    warnings = set(re.findall(r"\(([a-z_.]+\.[EW]\d+)\)", result.stdout + result.stderr))
    assert warnings <= {"security.W005", "security.W021"}, result.stdout + result.stderr


def test_a_revoked_token_stops_working_at_once(client, rep):
    token, raw = api_token_create(user=rep, name="CRM-Sync")
    from django.test import Client

    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/leads").status_code == 200
    client.force_login(rep)
    page = client.get("/accounts/tokens/").content.decode()
    assert "CRM-Sync" in page and f"lw_{token.prefix}" in page
    response = client.post(
        f"/accounts/tokens/{token.uuid}/revoke/", follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "revoked" in response.content.decode()
    assert api.get("/api/v1/leads").status_code == 401
    assert AuditEntry.objects.filter(action=AuditAction.DELETE, object_id=token.uuid).exists()


def test_nobody_revokes_someone_elses_token(client, rep):
    other = UserFactory(username="other")
    token, _raw = api_token_create(user=other, name="fremd")
    client.force_login(rep)
    assert client.post(f"/accounts/tokens/{token.uuid}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_tokens_page_shows_when_a_token_was_last_used(client, rep):
    token, raw = api_token_create(user=rep, name="Zapier")
    client.force_login(rep)
    assert "—" in client.get("/accounts/tokens/").content.decode().split("Zapier")[1][:400]
    from django.test import Client

    Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/leads")
    token.refresh_from_db()
    assert token.last_used_at is not None
    row = client.get("/accounts/tokens/").content.decode().split("Zapier")[1][:400]
    assert "—" not in row.split("</td>")[3]


def test_token_secrets_are_stored_only_as_hashes(rep):
    _token, raw = api_token_create(user=rep, name="x")
    stored = ApiToken.objects.filter(user=rep).values_list("secret_hash", "prefix").get()
    secret = raw.split("_", 2)[2]
    assert secret not in "".join(stored)
