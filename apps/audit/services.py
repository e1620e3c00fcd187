"""Writing the audit log: `record()` from every place that does something worth
auditing, with the request when there is one (it gives the user and the address)."""

import datetime as dt
import logging

import pgtrigger
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import mail_admins
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.views import client_ip

from .models import Action, AuditEntry, Result

# Nothing shorter than this may be configured or purged (等保 L3 asks six months).
MIN_RETENTION_DAYS = 180


def target_of(obj) -> str:
    """How a row is named in the log: "declarations.declaration:42"."""
    if isinstance(obj, models.Model):
        return f"{obj._meta.label_lower}:{obj.pk}"
    return str(obj or "")


def record(
    action: str,
    *,
    request=None,
    actor=None,
    actor_name: str = "",
    ip: str | None = None,
    target=None,
    result: str = Result.OK,
    **detail,
) -> AuditEntry:
    """Add one row. The actor is `actor`, else the request's signed-in user; a name
    alone (a failed sign-in's user name) goes in `actor_name`; the address is `ip`, else
    the request's client address."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=(actor.get_username() if actor is not None else actor_name)[:150],
        ip=ip or (client_ip(request) if request is not None else None) or None,
        action=action,
        target=target_of(target)[:200],
        result=result,
        detail=detail,
    )


def retention_days() -> int:
    days = settings.AUDIT_RETENTION_DAYS
    if days < MIN_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"AUDIT_RETENTION_DAYS must be at least {MIN_RETENTION_DAYS} (is {days})."
        )
    return days


def purge_older_than(days: int, *, actor=None, now: dt.datetime | None = None) -> int:
    """Remove the rows older than `days` (never fewer than the minimum), and record it."""
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"the audit log is kept at least {MIN_RETENTION_DAYS} days")
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    with transaction.atomic(), pgtrigger.ignore("audit.AuditEntry:append_only"):
        removed, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
    record(
        Action.PURGE,
        actor=actor,
        actor_name="system" if actor is None else "",
        target="audit.auditentry",
        removed=removed,
        before=cutoff.isoformat(),
    )
    return removed


# Alerts for the people on duty: a handler (mail, the monitoring system's log
# collector) is attached to this logger in production; `mail_admins` mails ADMINS.
alerts = logging.getLogger("apps.audit.alerts")


def superuser_used(request) -> AuditEntry:
    """The superuser is for installation only: each of its requests is recorded and
    alerted."""
    entry = record(Action.SUPERUSER, request=request, target=request.path, method=request.method)
    message = _("Superuser %(user)s: %(method)s %(path)s from %(ip)s") % {
        "user": entry.actor_name,
        "method": request.method,
        "path": request.path,
        "ip": entry.ip or "-",
    }
    alerts.warning(message)
    mail_admins(_("The superuser account was used"), message, fail_silently=True)
    return entry
