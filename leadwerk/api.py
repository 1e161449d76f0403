"""The REST API at /api/v1 (django-ninja): OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from leadwerk.accounts.api_auth import TokenAuth
from leadwerk.activities.api import router as events_router
from leadwerk.campaigns.api import router as campaigns_router
from leadwerk.consent.api import router as consent_router
from leadwerk.contacts.api import router as contacts_router
from leadwerk.dataquality.api import router as dataquality_router
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.leads.api import router as leads_router
from leadwerk.privacy.api import router as privacy_router
from leadwerk.routing.api import router as routing_router
from leadwerk.scoring.api import router as scoring_router

api = NinjaAPI(
    title="Leadwerk API",
    version="1",
    description="Capture, qualify and route B2B leads. Authenticate with "
    "`Authorization: Bearer <token>`; tokens are created per user in the app.",
    auth=TokenAuth(),
    urls_namespace="api",
)
api.add_router("", leads_router)
api.add_router("", contacts_router)
api.add_router("", campaigns_router)
api.add_router("", routing_router)
api.add_router("", consent_router)
api.add_router("", privacy_router)
api.add_router("", events_router)
api.add_router("", scoring_router)
api.add_router("", dataquality_router)


# The names of the view parameters that hold a whole schema (``payload: LeadIn``,
# ``query: Query[…]``): ninja puts them into some error locations, clients never see them.
_PARAM_NAMES = {"payload", "query"}


def _loc(loc) -> list:
    """Drop ninja's parameter name from a location: ['body','payload','x'] -> ['body','x'],
    ['query','query','stage',1] -> ['query','stage',1]."""
    loc = list(loc)
    if len(loc) >= 2 and loc[0] in ("body", "query") and loc[1] in _PARAM_NAMES:
        del loc[1]
    return loc


def _msg(msg: str) -> str:
    """pydantic prefixes messages of our own validators with 'Value error, '."""
    return msg.removeprefix("Value error, ")


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    detail = [
        {"loc": _loc(e.get("loc", ())), "msg": _msg(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(DomainValidationError)
def on_domain_validation_error(request, exc: DomainValidationError):
    detail = []
    for e in exc.errors:
        item = e.as_dict()
        if item["loc"] and item["loc"][0] not in ("query", "path", "header"):
            item["loc"] = ["body", *item["loc"]]
        detail.append(item)
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(Conflict)
def on_conflict(request, exc: Conflict):
    return api.create_response(
        request, {"detail": exc.message, "code": exc.code, **exc.extra}, status=409
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc: AuthenticationError):
    response = api.create_response(request, {"detail": "missing or invalid API token"}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="leadwerk"'
    return response


@api.exception_handler(Http404)
def on_not_found(request, exc: Http404):
    return api.create_response(request, {"detail": str(exc) or "not found"}, status=404)
