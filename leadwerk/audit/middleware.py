from .context import request_meta, reset_request_meta, set_request_meta


class AuditContextMiddleware:
    """Makes the client address and user agent of the request known to audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_request_meta(request_meta(request))
        try:
            return self.get_response(request)
        finally:
            reset_request_meta(token)
