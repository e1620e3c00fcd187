"""Every change of a membership (a role given, changed, withdrawn) and of an account's
permissions (the reveal permission …), wherever it is made (the admin, a command, the
shell), is a row of the audit log."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from apps.audit.middleware import current_request
from apps.audit.models import Action
from apps.audit.services import record

from .models import StaffMembership


def _state(membership) -> dict:
    return {
        "region": membership.region.code if membership.region_id else "",
        "role": membership.role,
        "is_active": membership.is_active,
    }


def _record(membership, change: str, before: dict | None, after: dict | None) -> None:
    request = current_request()
    record(
        Action.ROLE_CHANGE,
        request=request,
        actor_name="" if request is not None else "system",
        target=membership,
        change=change,
        user=membership.user.get_username(),
        before=before,
        after=after,
    )


@receiver(pre_save, sender=StaffMembership, dispatch_uid="membership_before")
def membership_before(sender, instance, raw=False, **kwargs):
    previous = None
    if instance.pk and not raw:
        previous = StaffMembership.objects.select_related("region").filter(pk=instance.pk).first()
    instance._audit_before = _state(previous) if previous is not None else None


@receiver(post_save, sender=StaffMembership, dispatch_uid="membership_role_change")
def membership_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    before, after = getattr(instance, "_audit_before", None), _state(instance)
    if before == after:
        return
    if created or before is None:
        change = "granted"
    elif before["is_active"] and not after["is_active"]:
        change = "deactivated"
    else:
        change = "changed"
    _record(instance, change, before, after)


@receiver(post_delete, sender=StaffMembership, dispatch_uid="membership_deleted")
def membership_deleted(sender, instance, **kwargs):
    _record(instance, "deleted", _state(instance), None)


@receiver(m2m_changed, sender=get_user_model().user_permissions.through, dispatch_uid="permissions")
def permissions_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    codenames = sorted(
        f"{app}.{code}"
        for app, code in Permission.objects.filter(pk__in=pk_set or ()).values_list(
            "content_type__app_label", "codename"
        )
    )
    request = current_request()
    record(
        Action.ROLE_CHANGE,
        request=request,
        actor_name="" if request is not None else "system",
        target=instance,
        change={"post_add": "permissions granted", "post_remove": "permissions withdrawn"}.get(
            action, "permissions cleared"
        ),
        permissions=codenames,
    )
