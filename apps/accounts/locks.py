"""The sign-in locks django-axes holds, and lifting them (the security administrator's
task)."""

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

from apps.audit.models import Action
from apps.audit.services import record

USERNAME = "username"
ADDRESS = "ip_address"


def current_locks(kind: str) -> list[dict]:
    """The user names (kind USERNAME) or addresses (ADDRESS) now locked: at least the
    failure limit of failed attempts, the last within the lockout time."""
    attempts = AccessAttempt.objects.exclude(**{f"{kind}__isnull": True}).exclude(**{kind: ""})
    if settings.AXES_COOLOFF_TIME:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    return list(
        attempts.values(kind)
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last")
    )


def unlock(request, kind: str, value: str) -> int:
    """Lift the lock on a user name or an address; audited. Returns the attempts removed."""
    if kind == USERNAME:
        removed = reset(username=value)
    elif kind == ADDRESS:
        removed = reset(ip=value)
    else:
        raise ValueError(kind)
    record(Action.UNLOCK, request=request, target=f"{kind}:{value}", removed=removed)
    return removed
