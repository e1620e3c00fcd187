"""Which links the staff navigation shows a user: casework pages to those who work
cases, the roster to those who may import it, department data to department staff,
the civil-affairs page to civil-affairs staff. The pages check access again; this only
keeps the bar free of links that would lead to a 404. Supervision, the highest app,
may look at every app's notion of who does what.

Read from the user's memberships, which the scoping has usually loaded already; only a
member with the department role costs one query more (which departments)."""

from django import template

from apps.households.national import IMPORT_ROLES as NATIONAL_ROLES
from apps.households.roster import IMPORT_ROLES
from apps.regions.models import Role, user_memberships
from apps.screening.models import Department, assistance_roll_codes

register = template.Library()


@register.simple_tag
def staff_nav(user) -> dict:
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_staff_nav", None)
    if cached is not None:
        return cached
    roles = {role for _prefix, role in user_memberships(user)}
    kinds: list[list[str]] = []
    if Role.DEPARTMENT in roles:
        kinds = list(
            Department.objects.filter(members__user=user, active=True).values_list(
                "kinds", flat=True
            )
        )
    admin = user.is_superuser
    rolls = assistance_roll_codes() if kinds else set()
    nav = {
        "casework": admin or bool(roles - {Role.DEPARTMENT}),
        "roster": admin or bool(roles & set(IMPORT_ROLES)),
        "national": admin or bool(roles & set(NATIONAL_ROLES)),
        "department": admin or bool(kinds),
        "civil_affairs": admin or any(rolls.intersection(k) for k in kinds),
        "sign_in_locks": Role.SECURITY_ADMIN in roles,
    }
    user._staff_nav = nav
    return nav
