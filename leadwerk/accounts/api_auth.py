"""Bearer-token authentication for the API."""

from __future__ import annotations

from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from .choices import TokenScope
from .services import api_token_authenticate

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class TokenAuth(HttpBearer):
    """``Authorization: Bearer lw_…``. Read-scoped tokens may only read."""

    def authenticate(self, request, token: str):
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        if request.method not in SAFE_METHODS and api_token.scope == TokenScope.READ:
            raise AuthorizationError(message="this token may only read (scope: read)")
        request.user = api_token.user
        request.api_token = api_token
        return api_token
