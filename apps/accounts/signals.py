from axes.helpers import get_failure_limit
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_otp_webauthn.models import WebAuthnCredential

from apps.audit.models import Action, Result
from apps.audit.services import record

from .middleware import stamp_sign_in


@receiver(user_logged_in, dispatch_uid="accounts.stamp_sign_in")
def on_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        stamp_sign_in(request)


@receiver(user_locked_out, dispatch_uid="accounts.audit_lockout")
def on_lockout(sender, request, username, ip_address, **kwargs):
    """One row when a user name or an address becomes locked (axes signals again at each
    refused attempt while locked; those are failed sign-ins, recorded as such)."""
    credentials = getattr(request, "axes_credentials", None)
    failures = getattr(request, "axes_failures_since_start", None)
    if failures != get_failure_limit(request, credentials):
        return
    record(
        Action.LOCKOUT,
        request=request,
        actor_name=username or "",
        ip=ip_address,
        target=f"username:{username}" if username else f"ip:{ip_address}",
        result=Result.DENIED,
        failures=failures,
    )


# Security keys are added through django-otp-webauthn's own views (and removed in the
# admin): their rows are audited as they are saved and deleted.
@receiver(post_save, sender=WebAuthnCredential, dispatch_uid="accounts.audit_key_added")
def on_security_key_added(sender, instance, created, **kwargs):
    if created:
        record(
            Action.SECOND_FACTOR,
            actor=instance.user,
            target=instance,
            change="enrol",
            kind="webauthn",
        )


@receiver(post_delete, sender=WebAuthnCredential, dispatch_uid="accounts.audit_key_removed")
def on_security_key_removed(sender, instance, **kwargs):
    record(
        Action.SECOND_FACTOR,
        actor=instance.user,
        target=instance,
        change="remove",
        kind="webauthn",
    )
