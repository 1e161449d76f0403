"""Who is asking, from where: the request's client address and user agent for audit entries.

The middleware puts them into a context variable for the duration of one request, so that
services deep down can attribute a change without every caller passing the request along.
Outside a request (tasks, commands) there is no address.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""


_current: ContextVar[RequestMeta | None] = ContextVar("leadwerk_request_meta", default=None)


def client_ip(request) -> str:
    """The client's address; X-Forwarded-For only when we are told to trust our proxy."""
    if settings.LEADWERK_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def request_meta(request) -> RequestMeta:
    return RequestMeta(
        ip=client_ip(request) or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )


def current_request_meta() -> RequestMeta:
    return _current.get() or RequestMeta()


def set_request_meta(meta: RequestMeta | None):
    return _current.set(meta)


def reset_request_meta(token) -> None:
    _current.reset(token)
