import csv
import io
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from apps.core.identity import is_ascii_digits
from apps.core.tabular import Column, map_headers

from .models import (
    Level,
    Region,
    Role,
    StaffMembership,
    level_of_code,
    new_public_slug,
    parent_code_of,
)

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


def notice_recipients(village: Region) -> list[str]:
    """Who hears of a village's new case (a declaration, a plan sent back, warnings): its
    grid workers; failing them, its village staff; failing those, the township, so
    that nothing goes unseen."""
    township_code = village.code[:9].ljust(12, "0")
    members = (
        StaffMembership.objects.filter(is_active=True, user__is_active=True)
        .filter(
            Q(region=village, role__in=[Role.GRID, Role.VILLAGE])
            | Q(region__code=township_code, region__level=Level.TOWNSHIP, role=Role.TOWNSHIP)
        )
        .values_list("role", "user__mobile")
    )
    by_role: dict[str, list[str]] = {Role.GRID: [], Role.VILLAGE: [], Role.TOWNSHIP: []}
    for role, mobile in members:
        if mobile:
            by_role[role].append(mobile)
    for role in (Role.GRID, Role.VILLAGE, Role.TOWNSHIP):
        if by_role[role]:
            return by_role[role]
    logger.error("village %s has no staff with a mobile number to notify", village.code)
    return []
