"""The edge of the API: request body limits per path prefix (413 before anything is read),
and JSON instead of HTML for the few errors that Django answers before the API sees them."""

from __future__ import annotations

import json

from django.http import HttpResponse

# Longest prefix first. Bodies beyond the limit are refused with 413.
BODY_LIMITS: list[tuple[str, int]] = [
    ("/api/v1/", 64 * 1024),
    ("/f/", 64 * 1024),
]
API_PREFIX = "/api/v1/"
# Answers that Django or ninja give as HTML or plain text for paths under the API:
# no route (404) and a method the route does not have (405).
_JSON_DETAIL = {404: "not found", 405: "method not allowed"}


def body_limit_for(path: str) -> int | None:
    for prefix, limit in BODY_LIMITS:
        if path.startswith(prefix):
            return limit
    return None


def _json(status: int, detail: str) -> HttpResponse:
    return HttpResponse(
        json.dumps({"detail": detail}), status=status, content_type="application/json"
    )


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
                return _json(
                    413, f"request body too large: {length} bytes, the limit is {limit} bytes"
                )
        response = self.get_response(request)
        if (
            response.status_code in _JSON_DETAIL
            and request.path_info.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            answer = _json(response.status_code, _JSON_DETAIL[response.status_code])
            if response.has_header("Allow"):
                answer["Allow"] = response["Allow"]
            return answer
        return response
