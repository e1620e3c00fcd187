"""The five-level administrative tree and who works where.

A region is keyed by its 12-digit national administrative-division code: province 2
digits, city 2, county 2, township 3, village 3. The meaningful prefix of a code
(`Region.prefix`) is shared by every region below it, so "this region's subtree" is a
`startswith` on the code, and every case carries its village's code for the same test.
"""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("province")
    CITY = 2, _("city")
    COUNTY = 3, _("county")
    TOWNSHIP = 4, _("township")
    VILLAGE = 5, _("village")


# Length of the meaningful prefix of a code at each level.
PREFIX_LENGTH = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
}


def level_of_code(code: str) -> Level:
    """The level a 12-digit code denotes, read from its trailing zeros."""
    for level in (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP):
        if code[PREFIX_LENGTH[level] :] == "0" * (12 - PREFIX_LENGTH[level]):
            return level
    return Level.VILLAGE


def parent_code_of(code: str) -> str | None:
    level = level_of_code(code)
    if level == Level.PROVINCE:
        return None
    keep = PREFIX_LENGTH[Level(level - 1)]
    return code[:keep].ljust(12, "0")


def new_public_slug() -> str:
    # Lower-case letters and digits without 0/o, 1/l/i: easy to type from a poster.
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class ScopedQuerySet(models.QuerySet):
    """The one place that decides what a user may see.

    Subclasses name the field holding the 12-digit region code of each row
    (`region_code_field`); a user sees the rows whose code starts with the prefix of a
    region they are a member of. Every list, detail, export and admin page goes
    through `visible_to`.
    """

    region_code_field = "region_code"

    def visible_to(self, user):
        if not user or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        prefixes = user_region_prefixes(user)
        if not prefixes:
            return self.none()
        condition = Q()
        for prefix in prefixes:
            condition |= Q(**{f"{self.region_code_field}__startswith": prefix})
        return self.filter(condition)


def user_memberships(user) -> list[tuple[str, str]]:
    """(code prefix, role) of each active membership, cached on the user object."""
    cached = getattr(user, "_memberships", None)
    if cached is None:
        rows = StaffMembership.objects.filter(user=user, is_active=True).values_list(
            "region__code", "region__level", "role"
        )
        cached = sorted({(code[: PREFIX_LENGTH[Level(level)]], role) for code, level, role in rows})
        user._memberships = cached
    return cached


def user_region_prefixes(user) -> list[str]:
    """Code prefixes of the regions whose cases the user sees."""
    # Department staff deliver data and administrators run the system: neither sees cases.
    return sorted(
        {
            prefix
            for prefix, role in user_memberships(user)
            if role != Role.DEPARTMENT and role not in ADMIN_ROLES
        }
    )


def admin_roles(user) -> dict[str, list[str]]:
    """The administrator roles the user holds: role → code prefixes of its regions."""
    held: dict[str, list[str]] = {}
    if user and user.is_authenticated and user.is_active:
        for prefix, role in user_memberships(user):
            if role in ADMIN_ROLES:
                held.setdefault(role, []).append(prefix)
    return held


def roles_over(user, region_code: str) -> set[str]:
    """The roles the user holds over the region with this code (at it or above it)."""
    if not user or not user.is_authenticated or not user.is_active:
        return set()
    return {role for prefix, role in user_memberships(user) if region_code.startswith(prefix)}


class RegionQuerySet(ScopedQuerySet):
    region_code_field = "code"

    def villages(self):
        return self.filter(level=Level.VILLAGE)

    def subtree_of(self, region: "Region"):
        return self.filter(code__startswith=region.prefix)


class Region(models.Model):
    code = models.CharField(_("division code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # A village's QR code encodes /v/<public_slug>. It never changes once printed,
    # even if the village is renamed or re-coded.
    public_slug = models.CharField(
        max_length=16, unique=True, null=True, blank=True, editable=False
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{12}$"), name="region_code_12_digits"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def prefix(self) -> str:
        return self.code[: PREFIX_LENGTH[Level(self.level)]]

    @property
    def is_village(self) -> bool:
        return self.level == Level.VILLAGE

    def ancestors(self) -> list["Region"]:
        """Province first, self excluded; one query."""
        codes = []
        code = parent_code_of(self.code)
        while code:
            codes.append(code)
            code = parent_code_of(code)
        return list(Region.objects.filter(code__in=codes).order_by("level"))

    def full_name(self) -> str:
        return "".join(r.name for r in [*self.ancestors()[1:], self])

    def clean(self):
        if self.code and level_of_code(self.code) != self.level:
            raise ValidationError({"level": _("The level does not match the division code.")})


class Role(models.TextChoices):
    GRID = "grid", _("grid worker")
    VILLAGE = "village", _("village staff")
    TOWNSHIP = "township", _("township staff")
    COUNTY = "county", _("county staff")
    CITY = "city", _("city staff")
    PROVINCE = "province", _("province staff")
    DEPARTMENT = "department", _("department staff")
    # 三权分立: three administrators beside the work roles, none of whom sees cases.
    SYSTEM_ADMIN = "sysadmin", _("system administrator")
    SECURITY_ADMIN = "secadmin", _("security administrator")
    AUDIT_ADMIN = "auditor", _("audit administrator")


# Roles that administer the system rather than work cases or deliver data.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


class RolesOver(frozenset):
    """Roles, held over a row's region (its `region_code`): who may act on the row.

    A state machine's transition names who may make it, once, as its permission:
    `@transition(..., permission=VILLAGE_ROLES)`. django-fsm-2 calls it with the row and
    the user; the services (`require_transition_role`), the pages (`user_transitions`)
    and the state diagrams (`manage.py state_diagrams`) all read it from there.
    """

    def __call__(self, instance, user) -> bool:
        return bool(roles_over(user, instance.region_code) & self)

    def __or__(self, other):
        return RolesOver(frozenset(self) | other)

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(value, label) for value, label in Role.choices if value in self]


# Who does what, by level: the services of every app check these over a region's code.
VILLAGE_ROLES = RolesOver({Role.GRID, Role.VILLAGE})
TOWNSHIP_ROLES = RolesOver({Role.TOWNSHIP})
COUNTY_ROLES = RolesOver({Role.COUNTY})
# Working a case: anyone from the village to the county.
CASEWORK_ROLES = VILLAGE_ROLES | TOWNSHIP_ROLES | COUNTY_ROLES


def require_role_over(user, region_code: str, roles: frozenset) -> None:
    """Refuse unless the user holds one of `roles` over the region with this code."""
    from apps.core.errors import NotPermitted

    if not (roles_over(user, region_code) & roles):
        raise NotPermitted


def transition_roles(instance, name: str) -> RolesOver:
    """The roles transition `name` of the row's state machine declares from the row's
    state; from a state it does not leave, those it declares from any (so that the wrong
    person is told "not permitted" and the right one "not now")."""
    meta = getattr(type(instance), name)._django_fsm
    now = meta.get_transition(meta.field.get_state(instance))
    declared = [now] if now else meta.transitions.values()
    return RolesOver(frozenset().union(*(t.permission or () for t in declared)))


def require_transition_role(actor, instance, name: str) -> None:
    """Refuse unless the actor holds a role transition `name` declares over the row's region."""
    require_role_over(actor, instance.region_code, transition_roles(instance, name))


def user_transitions(instance, user, field: str = "state") -> set[str]:
    """The transitions out of the row's state that the user's roles allow. Their
    conditions are left to the services, which say why a row cannot move yet."""
    state_field = instance._meta.get_field(field)
    state = state_field.get_state(instance)
    metas = [m._django_fsm for m in state_field.transitions[type(instance)].values()]
    return {
        t.name
        for t in (m.get_transition(state) for m in metas if m.has_transition(state))
        if t.permission and t.has_perm(instance, user)
    }


# The level of region each role belongs to (departments sit at any level).
ROLE_LEVEL = {
    Role.GRID: Level.VILLAGE,
    Role.VILLAGE: Level.VILLAGE,
    Role.TOWNSHIP: Level.TOWNSHIP,
    Role.COUNTY: Level.COUNTY,
    Role.CITY: Level.CITY,
    Role.PROVINCE: Level.PROVINCE,
    # Security and audit administration are provincial; system administrators sit at
    # the province, a county or a township and manage the staff of its subtree.
    Role.SECURITY_ADMIN: Level.PROVINCE,
    Role.AUDIT_ADMIN: Level.PROVINCE,
}


class StaffMembershipQuerySet(ScopedQuerySet):
    region_code_field = "region__code"


class StaffMembership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StaffMembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "region", "role"], name="membership_unique"),
        ]

    def __str__(self):
        return f"{self.user} · {self.region} · {self.get_role_display()}"

    def clean(self):
        self._clean_separation_of_duties()
        expected = ROLE_LEVEL.get(self.role)
        if expected and self.region_id and self.region.level != expected:
            raise ValidationError(
                {
                    "region": _("This role belongs to a region of level “%(level)s”.")
                    % {"level": expected.label}
                }
            )

    def _clean_separation_of_duties(self):
        """An administrator's account holds that role alone (三权分立): a work role or
        another administrator role needs an account of its own."""
        if not (self.user_id and self.is_active and self.role):
            return
        others = set(
            StaffMembership.objects.filter(user_id=self.user_id, is_active=True)
            .exclude(pk=self.pk)
            .values_list("role", flat=True)
        )
        if roles_conflict({self.role}, others):
            raise ValidationError(
                {"role": _("An administrator's account holds no other role: use another account.")}
            )


def roles_conflict(roles: set[str], others: set[str]) -> bool:
    """Whether one account may not hold both sets of roles."""
    everything = roles | others
    admin = everything & ADMIN_ROLES
    return bool(admin) and len(everything) > 1
