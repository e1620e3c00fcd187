"""The staff navigation: each role its own menu, as data.

`MENU` lists every link once per audience: (label, URL name, who sees it, priority).
A user's menu is the entries whose audience they belong to, most important first (the
lowest priority number; a URL listed for several audiences keeps its best priority).
The first `SHOWN` entries sit in the bar (never the account's own pages); the rest go behind "More" (a <details>, no
JavaScript), so that a 360 px phone never gets a bar of three rows. A new page is one
line in `MENU`.

Who sees an entry is a set of roles (`Role`) and/or a flag of `staff_nav` (the older
capability flags, which other code reads). The pages check access again; this only
keeps the bar free of links that would lead to a 404. Supervision, the highest app,
may look at every app's notion of who does what.

Read from the user's memberships, which the scoping has usually loaded already; only a
member with the department role costs one query more (which departments)."""

from dataclasses import dataclass

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.households.national import IMPORT_ROLES as NATIONAL_ROLES
from apps.households.roster import IMPORT_ROLES
from apps.regions.models import ADMIN_ROLES, CASEWORK_ROLES, Role, user_memberships
from apps.screening.models import Department, assistance_roll_codes
from apps.spotchecks.services import VIEWER_ROLES as SPOT_CHECK_ROLES

register = template.Library()

# How many entries sit in the bar before "More" (with "More", five on a phone)…
SHOWN = 4
# …and from which priority an entry always goes under "More" (the account's pages).
MORE_FROM = 90

VILLAGE = frozenset({Role.GRID, Role.VILLAGE})
TOWNSHIP_UP = frozenset({Role.TOWNSHIP, Role.COUNTY})
SUPERVISORS = frozenset({Role.CITY, Role.PROVINCE})
EVERYONE = frozenset(Role.values)


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    roles: frozenset = frozenset()  # any of these roles…
    flag: str = ""  # …or this flag of `staff_nav` (the superuser has them all)
    priority: int = 50
    query: str = ""  # appended to the URL ("?queue=county")


# fmt: off
MENU: tuple[Entry, ...] = (
    # Casework: the village, the township, the county.
    Entry(_("My cases"), "staff:home", CASEWORK_ROLES, priority=10),
    Entry(_("Review queue"), "staff:queue", TOWNSHIP_UP, priority=15),
    Entry(_("Review queue"), "staff:queue", VILLAGE, priority=58),
    Entry(_("Monitored households"), "households:list", CASEWORK_ROLES | SUPERVISORS, priority=20),
    Entry(_("Department warnings"), "screening:worklist", CASEWORK_ROLES | SUPERVISORS, priority=30),
    Entry(_("Supervision"), "supervision:start", SUPERVISORS, priority=5),
    Entry(_("Supervision"), "supervision:start", TOWNSHIP_UP, priority=40),
    Entry(_("Spot checks"), "spotchecks:index", SPOT_CHECK_ROLES, priority=45),
    Entry(_("Data quality"), "quality:index", CASEWORK_ROLES | SUPERVISORS, priority=50),
    Entry(_("Population roster"), "roster:list", IMPORT_ROLES, priority=55),
    Entry(_("National system"), "national:list", NATIONAL_ROLES, priority=56),
    Entry(_("QR codes"), "regions:qr_list", CASEWORK_ROLES, priority=60),
    Entry(_("Absences"), "regions:absences", CASEWORK_ROLES, priority=65),
    # Department staff.
    Entry(_("Civil affairs"), "screening:civil_affairs", flag="civil_affairs", priority=8),
    Entry(_("Department data"), "feeds:list", flag="department", priority=9),
    # The three administrators, each its own duty.
    Entry(_("Sign-in locks"), "security:locks", frozenset({Role.SECURITY_ADMIN}), priority=10),
    Entry(_("Audit log"), "admin:audit_auditentry_changelist", frozenset({Role.AUDIT_ADMIN}), priority=10),
    Entry(_("Admin"), "admin:index", ADMIN_ROLES, priority=11),
    Entry(_("Admin"), "admin:index", flag="staff", priority=90),
    # Everyone's own account.
    Entry(_("Sign-in security"), "accounts:security", EVERYONE, priority=95),
)
# fmt: on


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    url_name: str


@dataclass(frozen=True)
class Menu:
    shown: list[Link]
    more: list[Link]

    @property
    def landing(self) -> str:
        """Where the user lands after signing in: the first entry of the menu."""
        links = self.shown + self.more
        return links[0].url if links else reverse("accounts:security")


def _roles(user) -> set[str]:
    return {role for _prefix, role in user_memberships(user)}


@register.simple_tag
def staff_nav(user) -> dict:
    """What kinds of pages the user works with (flags; `MENU` reads them)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_staff_nav", None)
    if cached is not None:
        return cached
    roles = _roles(user)
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
        "casework": admin or bool(roles & CASEWORK_ROLES),
        "supervision": admin or bool(roles & SUPERVISORS),
        "roster": admin or bool(roles & set(IMPORT_ROLES)),
        "national": admin or bool(roles & set(NATIONAL_ROLES)),
        "department": admin or bool(kinds),
        "civil_affairs": admin or any(rolls.intersection(k) for k in kinds),
        "sign_in_locks": Role.SECURITY_ADMIN in roles,
        "staff": user.is_staff and not (roles & ADMIN_ROLES),
    }
    user._staff_nav = nav
    return nav


def _sees(entry: Entry, user, roles: set[str], flags: dict) -> bool:
    if entry.flag:
        return bool(flags.get(entry.flag))
    return user.is_superuser or bool(roles & entry.roles)


@register.simple_tag
def staff_menu(user) -> Menu:
    """The user's menu: the entries of `MENU` they see, most important first."""
    if not getattr(user, "is_authenticated", False):
        return Menu([], [])
    cached = getattr(user, "_staff_menu", None)
    if cached is not None:
        return cached
    roles, flags = _roles(user), staff_nav(user)
    best: dict[str, Entry] = {}
    for entry in MENU:
        if _sees(entry, user, roles, flags):
            held = best.get(entry.url_name)
            if held is None or entry.priority < held.priority:
                best[entry.url_name] = entry
    ordered = sorted(best.values(), key=lambda e: e.priority)
    links = [Link(str(e.label), reverse(e.url_name) + e.query, e.url_name) for e in ordered]
    work = sum(1 for e in ordered[:SHOWN] if e.priority < MORE_FROM)
    menu = Menu(links[:work], links[work:])
    user._staff_menu = menu
    return menu
