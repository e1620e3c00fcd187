"""The request being served, for the audit rows written by signals (an admin change, a
role change), and the audit and alert of every request made by a superuser."""

from contextvars import ContextVar

from .services import superuser_used

_request: ContextVar = ContextVar("audit_request", default=None)


def current_request():
    """The request this thread or task is serving, or None (a command, a task)."""
    return _request.get()


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_superuser:
                superuser_used(request)
            return self.get_response(request)
        finally:
            _request.reset(token)
