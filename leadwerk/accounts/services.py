"""Writes for users, teams and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from .choices import Role, TokenScope
from .models import ApiToken, User

TOKEN_PREFIX = "lw_"  # noqa: S105 - a public prefix, not a secret


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def roles_ensure() -> None:
    """Create one group per role (idempotent)."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    roles: list[Role],
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    **extra,
) -> User:
    """Create a user in the given roles."""
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, **extra)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    roles_ensure()
    user.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
    from leadwerk.audit.choices import AuditAction
    from leadwerk.audit.services import audit_record

    audit_record(
        action=AuditAction.CREATE,
        object_type="user",
        object_id=user.uuid,
        summary=f"user {username} created",
        after={"roles": [str(r) for r in roles]},
    )
    return user


def api_token_create(
    *, user: User, name: str, scope: TokenScope = TokenScope.WRITE, raw: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its raw value, which is shown once and not stored.

    ``raw`` lets the demo data create a known token; normal callers leave it empty.
    """
    if raw is None:
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        raw = f"{TOKEN_PREFIX}{prefix}_{secret}"
    prefix, secret = _split(raw)
    from leadwerk.audit.choices import AuditAction
    from leadwerk.audit.services import audit_record

    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=prefix, secret_hash=_hash_secret(secret), scope=scope
        )
        audit_record(
            action=AuditAction.CREATE,
            actor=user,
            object_type="api_token",
            object_id=token.uuid,
            summary=f"API token {name} ({scope})",
            after={"name": name, "scope": str(scope)},
        )
    return token, raw


def _split(raw: str) -> tuple[str, str]:
    if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        raise ValueError("malformed token")
    prefix, _, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not prefix or not secret:
        raise ValueError("malformed token")
    return prefix, secret


def api_token_authenticate(raw: str) -> ApiToken | None:
    """Return the active token for a raw bearer value, or None. Records the last use."""
    try:
        prefix, secret = _split(raw.strip())
    except ValueError:
        return None
    try:
        # prefix is unique: get() needs no ORDER BY, unlike first() (hot path: every API call).
        token = ApiToken.objects.select_related("user").get(prefix=prefix)
    except ApiToken.DoesNotExist:
        return None
    if not hmac.compare_digest(token.secret_hash, _hash_secret(secret)):
        return None
    if not token.is_active:
        return None
    now = timezone.now()
    # Update at most once a minute: the hot intake path should not write on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, token: ApiToken, actor=None) -> None:
    from leadwerk.audit.choices import AuditAction
    from leadwerk.audit.services import audit_record

    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(
                action=AuditAction.DELETE,
                actor=actor,
                object_type="api_token",
                object_id=token.uuid,
                summary=f"API token {token.name} revoked",
            )
