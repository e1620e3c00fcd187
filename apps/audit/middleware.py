"""The request being served, for the audit rows written by signals (an admin change, a
role change), and the audit and alert of every request made by a superuser."""

from contextvars import ContextVar

from django.core.exceptions import PermissionDenied

from .models import Action, Result
from .services import record, superuser_used

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

    def process_exception(self, request, exception):
        """A change the admin refused (a forged POST past what the page offers)."""
        match = getattr(request, "resolver_match", None)
        if (
            isinstance(exception, PermissionDenied)
            and request.method == "POST"
            and match is not None
            and match.namespace == "admin"
        ):
            record(Action.ADMIN_CHANGE, request=request, target=request.path, result=Result.DENIED)
