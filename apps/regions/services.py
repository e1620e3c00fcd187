import csv
import datetime as dt
import io
import logging
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.errors import InvalidInput, NotPermitted
from apps.core.identity import is_ascii_digits
from apps.core.tabular import Column, map_headers

from .models import (
    PREFIX_LENGTH,
    Absence,
    Level,
    Region,
    Role,
    StaffMembership,
    group_set,
    level_of_code,
    new_public_slug,
    normalise_group,
    parent_code_of,
    roles_over,
)

User = get_user_model()

logger = logging.getLogger(__name__)

# Header names accepted for each column (matched lower-cased): ours, and those of the
# national statistical division-code list (统计用区划代码).
COLUMNS = [
    Column("code", "code", ("统计用区划代码", "区划代码", "代码")),
    Column("name", "name", ("名称",)),
    Column("level", "level", ("级别", "层级")),
    Column("parent", "parent", ("parent_code", "上级代码", "上级区划代码")),
]


class RegionImportError(Exception):
    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def regions_import_csv(*, text: str) -> ImportResult:
    """Create or update regions from CSV; all rows or none.

    Columns: code and name, plus level (1–5) or the parent's code, either of which is
    checked against the code itself. Existing regions keep their public QR slug.
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise RegionImportError([_("The file is empty.")])
    header, body = rows[0], rows[1:]
    found = map_headers([h.lower() for h in header], COLUMNS)
    if "code" not in found or "name" not in found:
        raise RegionImportError([_("The header must name a code column and a name column.")])

    errors: list[str] = []
    parsed: dict[str, tuple[str, int]] = {}
    for lineno, row in enumerate(body, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(found["code"], found["name"]):
            errors.append(_("Line %(line)d: missing columns.") % {"line": lineno})
            continue
        value = {key: row[i].strip() if i < len(row) else "" for key, i in found.items()}
        code, name = value["code"], value["name"]
        if len(code) != 12 or not is_ascii_digits(code):
            errors.append(_("Line %(line)d: the code must have 12 digits.") % {"line": lineno})
            continue
        if not name or len(name) > 100:
            errors.append(_("Line %(line)d: the name is empty or too long.") % {"line": lineno})
            continue
        level = level_of_code(code)
        if value.get("level") and value["level"] != str(int(level)):
            errors.append(_("Line %(line)d: the level does not match the code.") % {"line": lineno})
            continue
        if value.get("parent") and value["parent"] != parent_code_of(code):
            errors.append(
                _("Line %(line)d: the parent does not match the code.") % {"line": lineno}
            )
            continue
        if code in parsed:
            errors.append(_("Line %(line)d: the code appears twice.") % {"line": lineno})
            continue
        parsed[code] = (name, level)

    existing = {
        r.code: r
        for r in Region.objects.filter(
            code__in=[*parsed, *filter(None, map(parent_code_of, parsed))]
        )
    }
    for code in parsed:
        parent = parent_code_of(code)
        if parent and parent not in parsed and parent not in existing:
            errors.append(
                _("Code %(code)s: its parent %(parent)s is missing.")
                % {"code": code, "parent": parent}
            )
    if errors:
        raise RegionImportError(errors)

    result = ImportResult()
    with transaction.atomic():
        # Parents before children, so each row can point at its parent.
        for code in sorted(parsed, key=lambda c: (parsed[c][1], c)):
            name, level = parsed[code]
            parent_code = parent_code_of(code)
            parent = existing.get(parent_code) if parent_code else None
            region = existing.get(code)
            if region is None:
                region = Region.objects.create(
                    code=code,
                    name=name,
                    level=level,
                    parent=parent,
                    public_slug=new_public_slug() if level == Level.VILLAGE else None,
                )
                existing[code] = region
                result.created += 1
            elif region.name != name or region.parent_id != (parent.pk if parent else None):
                region.name, region.parent = name, parent
                region.save(update_fields=["name", "parent"])
                result.updated += 1
            else:
                result.unchanged += 1
    return result


# --- who hears of a village's cases -------------------------------------------------------


def _grid_phones(members: list[tuple], village: Region, group: str, on: dt.date) -> list[str]:
    """The grid workers' numbers: those covering `group` (all when none does, or none of
    those has a number), each absent one replaced by their substitute."""
    wanted = normalise_group(group) if group else ""
    covering = [m for m in members if wanted and wanted in group_set(m[2])]
    substitutes = dict(
        Absence.objects.on(on)
        .filter(region=village, user_id__in=[user_id for user_id, _m, _g in members])
        .order_by("start", "pk")
        .values_list("user_id", "substitute__mobile")
    )
    for chosen in (covering, members):
        phones = [substitutes.get(user_id, mobile) for user_id, mobile, _g in chosen]
        phones = list(dict.fromkeys(p for p in phones if p))
        if phones:
            return phones
    return []


def notice_recipients(village: Region, *, group: str = "", on: dt.date | None = None) -> list[str]:
    """Who hears of a village's case (a declaration, a plan sent back, warnings, a
    deadline): its grid workers — those covering the case's village group (`group`,
    its 村民小组) when any does, each absent one replaced by their substitute (Absence,
    on the day `on`, by default today); failing them, its village staff; failing those,
    the township, so that nothing goes unseen."""
    on = on or timezone.localdate()
    township_code = village.code[:9].ljust(12, "0")
    members = (
        StaffMembership.objects.filter(is_active=True, user__is_active=True)
        .filter(
            Q(region=village, role__in=[Role.GRID, Role.VILLAGE])
            | Q(region__code=township_code, region__level=Level.TOWNSHIP, role=Role.TOWNSHIP)
        )
        .order_by("pk")
        .values_list("role", "user_id", "user__mobile", "groups")
    )
    by_role: dict[str, list] = {Role.GRID: [], Role.VILLAGE: [], Role.TOWNSHIP: []}
    for role, user_id, mobile, groups in members:
        by_role[role].append((user_id, mobile, groups))
    grid = _grid_phones(by_role[Role.GRID], village, group, on) if by_role[Role.GRID] else []
    if grid:
        return grid
    for role in (Role.VILLAGE, Role.TOWNSHIP):
        phones = [mobile for _id, mobile, _g in by_role[role] if mobile]
        if phones:
            return phones
    logger.error("village %s has no staff with a mobile number to notify", village.code)
    return []


# --- a grid worker's absence and substitute ----------------------------------------------

# Who records a grid worker's absence: the worker, or staff over the village.
ABSENCE_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY})
# Who may stand in: staff who work cases in the village's township.
SUBSTITUTE_ROLES = (Role.GRID, Role.VILLAGE, Role.TOWNSHIP)


class AbsenceRefused(InvalidInput):
    """Bad input for an absence, with the form field it belongs to."""

    def __init__(self, field: str, message):
        super().__init__(message)
        self.field = field


def may_record_absence(actor, membership: StaffMembership) -> bool:
    """The worker, or village, township or county staff over the village."""
    return actor.pk == membership.user_id or bool(
        roles_over(actor, membership.region.code) & ABSENCE_ROLES
    )


def substitutes_for(village_codes):
    """Users who may stand in for a grid worker of these villages: active staff who work
    cases in the same township."""
    condition = Q()
    for code in {code[: PREFIX_LENGTH[Level.TOWNSHIP]] for code in village_codes}:
        condition |= Q(memberships__region__code__startswith=code)
    if not condition:
        return User.objects.none()
    return (
        User.objects.filter(
            condition,
            is_active=True,
            memberships__is_active=True,
            memberships__role__in=SUBSTITUTE_ROLES,
        )
        .distinct()
        .order_by("full_name", "username")
    )


def absence_record(
    *, actor, membership: StaffMembership, substitute, start: dt.date, end: dt.date
) -> Absence:
    """Record a grid worker's absence (`membership`: the worker's grid role in the
    village) and who stands in. The substitute then gets the village's notices and
    reminders and holds the grid role over it, from `start` to `end` inclusive."""
    if membership.role != Role.GRID or not membership.is_active:
        raise AbsenceRefused("membership", _("Choose an active grid worker."))
    if not may_record_absence(actor, membership):
        raise NotPermitted
    village = membership.region
    if start < timezone.localdate():
        raise AbsenceRefused("start", _("An absence cannot start in the past."))
    if end < start:
        raise AbsenceRefused("end", _("The absence cannot end before it starts."))
    if substitute.pk == membership.user_id:
        raise AbsenceRefused("substitute", _("The substitute must be someone else."))
    if not substitutes_for([village.code]).filter(pk=substitute.pk).exists():
        raise AbsenceRefused(
            "substitute", _("The substitute must work cases in the same township.")
        )
    with transaction.atomic():
        # One writer at a time per worker, so that two overlapping absences cannot both
        # pass the check below.
        StaffMembership.objects.select_for_update().get(pk=membership.pk)
        if Absence.objects.filter(
            user_id=membership.user_id, region=village, start__lte=end, end__gte=start
        ).exists():
            raise AbsenceRefused("start", _("This worker is already absent in this period."))
        absence = Absence.objects.create(
            user_id=membership.user_id,
            substitute=substitute,
            region=village,
            start=start,
            end=end,
            created_by=actor,
        )
        # The substitute gains a role over the village's cases: logged like a role change.
        record(
            Action.ROLE_CHANGE,
            actor=actor,
            target=absence,
            substitute=substitute.get_username(),
            start=start.isoformat(),
            end=end.isoformat(),
        )
    return absence


def absence_end(*, actor, absence: Absence) -> Absence | None:
    """End an absence early: it runs until yesterday, or is dropped if it had not
    started before today. None when dropped."""
    membership = StaffMembership(user_id=absence.user_id, region=absence.region)
    if not may_record_absence(actor, membership):
        raise NotPermitted
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    if absence.end <= yesterday:
        raise InvalidInput(_("This absence is already over."))
    with transaction.atomic():
        record(Action.ROLE_CHANGE, actor=actor, target=absence, ended=yesterday.isoformat())
        if absence.start > yesterday:
            absence.delete()
            return None
        absence.end = yesterday
        absence.save(update_fields=["end"])
    return absence
