"""Request body limits per path prefix, answered with 413 before anything is read."""

from __future__ import annotations

import json

from django.http import HttpResponse

# Longest prefix first. Bodies beyond the limit are refused with 413.
BODY_LIMITS: list[tuple[str, int]] = [
    ("/api/v1/events", 1024 * 1024),  # batches of up to 1,000 events
    ("/api/v1/", 64 * 1024),
    ("/f/", 64 * 1024),
]


def body_limit_for(path: str) -> int | None:
    for prefix, limit in BODY_LIMITS:
        if path.startswith(prefix):
            return limit
    return None


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit_for(request.path_info)
        if limit is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return HttpResponse(
                    json.dumps(
                        {
                            "detail": f"request body too large: {length} bytes, "
                            f"the limit is {limit} bytes"
                        }
                    ),
                    status=413,
                    content_type="application/json",
                )
        return self.get_response(request)
