"""The website tracking endpoint: page views posted by the tracking snippet (static
leadwerk/track.js) from the company's own website."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from leadwerk.throttle.services import rate_limit_hit

from .tracking import event_settings_get, host_allowed, pageview_record

MAX_BODY = 8 * 1024
_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


def _client_ip(request) -> str:
    if settings.LEADWERK_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def _refuse(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _text(data: dict, key: str, limit: int) -> str:
    value = data.get(key) or ""
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a text")
    if len(value) > limit:
        raise ValueError(f"'{key}' is longer than {limit} characters")
    return value.replace("\x00", "")


@csrf_exempt
@require_POST
def collect(request):
    """One page view: ``{"v": visitor id, "u": page URL, "t": title, "r": referrer}`` as
    JSON (sent as text/plain by navigator.sendBeacon, so browsers need no CORS preflight).

    Accepted only when tracking is on and the page (Origin, else Referer) belongs to one of
    the configured websites; rate-limited per IP address."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _refuse(413, f"request body too large: {length} bytes, the limit is {MAX_BODY}")
    config = event_settings_get()
    if not config.tracking_enabled:
        return _refuse(404, "website tracking is switched off")
    source = request.META.get("HTTP_ORIGIN") or request.META.get("HTTP_REFERER") or ""
    host = urlsplit(source).hostname or ""
    if not host or not host_allowed(host, config.domain_list):
        return _refuse(403, f"pages of '{host or 'unknown'}' may not report page views")
    if not rate_limit_hit(
        scope="track",
        ident=_client_ip(request),
        limit=settings.LEADWERK_TRACK_RATE_LIMIT,
        window_seconds=60,
    ):
        return _refuse(429, "too many page views from this address")
    try:
        data = json.loads(request.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("a JSON object is needed")
        visitor = UUID(_text(data, "v", 64))
        url = _text(data, "u", 2000)
        if not _URL.match(url):
            raise ValueError("'u' must be an absolute http(s) URL")
        if not host_allowed(urlsplit(url).hostname or "", config.domain_list):
            raise ValueError("'u' is not a page of a tracked website")
        title = _text(data, "t", 300)
        referrer = _text(data, "r", 2000)
    except (ValueError, UnicodeDecodeError) as exc:
        return _refuse(400, f"bad page view: {exc}")
    pageview_record(visitor_id=visitor, url=url, title=title, referrer=referrer)
    return HttpResponse(status=204)
