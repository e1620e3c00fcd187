"""Audit rows written from Django's signals: signing in and out, and every change made
in the admin (its LogEntry)."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from .middleware import current_request
from .models import Action, Result
from .services import record

ADMIN_FLAGS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def signed_in(sender, request, user, **kwargs):
    record(Action.SIGN_IN, request=request, actor=user, target=user)


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    record(
        Action.SIGN_IN_FAILED,
        request=request,
        actor_name=str(credentials.get("username", "")),
        result=Result.FAILED,
    )


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        record(Action.SIGN_OUT, request=request, actor=user, target=user)


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_change")
def admin_changed(sender, instance: LogEntry, created, raw=False, **kwargs):
    if not created or raw:
        return
    record(
        Action.ADMIN_CHANGE,
        request=current_request(),
        actor=instance.user,
        target=f"{instance.content_type.app_label}.{instance.content_type.model}:{instance.object_id}",
        change=ADMIN_FLAGS.get(instance.action_flag, str(instance.action_flag)),
        object=instance.object_repr,
        message=instance.get_change_message(),
    )
