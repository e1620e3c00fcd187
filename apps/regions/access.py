"""Separation of duties (三权分立) and scoped staff management.

Three administrator roles sit beside the work roles, each with only what it needs:

- the system administrator (at the province, a county or a township) keeps the
  accounts and memberships of its subtree, the regions and the deadline settings;
- the security administrator keeps the locks, the security policies and the keys;
- the audit administrator reads and exports the audit log.

None of them sees a case (`user_region_prefixes` leaves them out). `RolePermissionBackend`
turns the roles into Django permissions, so every `has_perm` in the admin and on the
pages follows them: it grants an administrator the permissions of its duty and refuses
every other one, whatever permissions the account was given by hand. The superuser is
for installation only (each of its requests is audited: `apps.audit.middleware`).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from .models import ADMIN_ROLES, PREFIX_LENGTH, Level, Region, Role, StaffMembership, admin_roles

# What each administrator role may do: app label → permission actions allowed there.
DUTIES: dict[str, dict[str, frozenset[str]]] = {
    Role.SYSTEM_ADMIN: {
        "accounts": frozenset({"view", "add", "change"}),
        "regions": frozenset({"view", "add", "change"}),
        "deadlines": frozenset({"view", "add", "change"}),
    },
    # The locks (django-axes) and second factors (django-otp) when installed.
    Role.SECURITY_ADMIN: {
        "axes": frozenset({"view", "change", "delete"}),
        "otp_totp": frozenset({"view", "change", "delete"}),
        "otp_static": frozenset({"view", "change", "delete"}),
        "django_otp_webauthn": frozenset({"view", "change", "delete"}),
    },
    Role.AUDIT_ADMIN: {
        "audit": frozenset({"view", "export"}),
    },
}

# The permissions an account of the work roles may be given by a system administrator:
# those of the apps that work cases. Administrator duties come only from the roles.
WORK_APPS = (
    "declarations",
    "households",
    "screening",
    "notifications",
    "supervision",
    "quality",
)


def _grants(roles, app_label: str, action: str | None = None) -> bool:
    for role in roles:
        actions = DUTIES.get(role, {}).get(app_label)
        if actions is not None and (action is None or action in actions):
            return True
    return False


class RolePermissionBackend(ModelBackend):
    """Django's backend, with the administrator roles: an administrator has the
    permissions of its duty and no other (PermissionDenied stops Django asking any
    other backend); an account of the work roles has the permissions it was given."""

    def has_perm(self, user_obj, perm, obj=None):
        roles = admin_roles(user_obj)
        if not roles:
            return super().has_perm(user_obj, perm, obj)
        app_label, _dot, codename = perm.partition(".")
        if _grants(roles, app_label, codename.partition("_")[0]):
            return True
        raise PermissionDenied

    def has_module_perms(self, user_obj, app_label):
        roles = admin_roles(user_obj)
        if not roles:
            return super().has_module_perms(user_obj, app_label)
        if _grants(roles, app_label):
            return True
        raise PermissionDenied


def is_administrator(user) -> bool:
    """Holds one of the three administrator roles."""
    return bool(admin_roles(user))


def managed_prefixes(user) -> list[str]:
    """Code prefixes of the subtrees whose staff the user manages (as system administrator)."""
    return admin_roles(user).get(Role.SYSTEM_ADMIN, [])


def provincial_sysadmin(user) -> bool:
    """The superuser, or a system administrator of the province (the region tree and
    the deadline settings are the province's)."""
    return user.is_superuser or any(
        len(prefix) == PREFIX_LENGTH[Level.PROVINCE] for prefix in managed_prefixes(user)
    )


def manages_staff(user) -> bool:
    return user.is_superuser or bool(managed_prefixes(user))


def _within(prefixes, field: str = "region__code") -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(**{f"{field}__startswith": prefix})
    return condition


def manageable_users(actor):
    """The accounts the actor may see and change: for a system administrator, those
    whose every membership lies in its subtree, never its own, a superuser's or that of
    an administrator at or above its own level."""
    User = get_user_model()
    if actor.is_superuser:
        return User.objects.all()
    prefixes = managed_prefixes(actor)
    if not prefixes:
        return User.objects.none()
    inside = _within(prefixes)
    # The deepest of the actor's levels: administrators at it or above are peers or seniors.
    deepest = max(len(p) for p in prefixes)
    seniors = Q(role__in=ADMIN_ROLES) & Q(
        region__level__lte=next(lvl for lvl, n in PREFIX_LENGTH.items() if n == deepest)
    )
    return (
        User.objects.filter(pk__in=StaffMembership.objects.filter(inside).values("user"))
        .exclude(pk__in=StaffMembership.objects.exclude(inside).values("user"))
        .exclude(pk__in=StaffMembership.objects.filter(seniors).values("user"))
        .exclude(is_superuser=True)
        .exclude(pk=actor.pk)
    )


def manageable_memberships(actor):
    if actor.is_superuser:
        return StaffMembership.objects.all()
    return StaffMembership.objects.filter(
        _within(managed_prefixes(actor)), user__in=manageable_users(actor)
    )


def grantable_regions(actor):
    """The regions the actor may give a membership at: its subtrees."""
    if actor.is_superuser:
        return Region.objects.all()
    return Region.objects.filter(_within(managed_prefixes(actor), "code"))


def grantable_roles(actor) -> list[tuple[str, str]]:
    """Work roles and the system administrator; security and audit administrators are
    appointed by the superuser (the installation) alone."""
    if actor.is_superuser:
        return list(Role.choices)
    return [
        (v, label) for v, label in Role.choices if v not in ADMIN_ROLES or v == Role.SYSTEM_ADMIN
    ]


def grant_refusal(actor, *, region: Region, role: str) -> dict[str, str] | None:
    """Why the actor may not give `role` at `region` (field → message), or None."""
    if actor.is_superuser:
        return None
    prefixes = managed_prefixes(actor)
    if role in ADMIN_ROLES and role != Role.SYSTEM_ADMIN:
        return {"role": _("Only the installation's superuser appoints this administrator.")}
    if not any(region.code.startswith(p) for p in prefixes):
        return {"region": _("You manage the staff of your own region and the regions below it.")}
    if role == Role.SYSTEM_ADMIN and not any(
        region.code.startswith(p) and len(region.prefix) > len(p) for p in prefixes
    ):
        return {"role": _("A system administrator is appointed only below your own region.")}
    return None
