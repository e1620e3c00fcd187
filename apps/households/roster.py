"""The population roster import (农村人口花名册导入), on the import pipeline of
`apps.core.imports`.

A county, township or village uploads its register as CSV or Excel (.xlsx), one row per
person (`COLUMNS`). Each row is validated in Python (ID number, lengths, enumerations)
and staged; set-based SQL then checks the rows against each other and the regions:
village known and inside the importer's region, the same person twice, exactly one 户主
per household. The apply (one import at a time) checks the rows against the roster
itself (a person already in a household the file does not list), then upserts
households by (village, 户编号), members by the keyed hash of their ID number, and
removes the members of the file's households that the file no longer lists. Only what
differs is written, so importing the same file again changes nothing.
"""

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import imports, tabular
from apps.core.identity import fold, is_ascii_digits
from apps.core.imports import is_postgres, rows, sql
from apps.core.tabular import MAX_ERRORS, Column, InspectedUpload
from apps.regions.models import Region, Role, roles_over

from .models import LabourCapacity, RosterImport, Schooling

# Who may import a roster for a region: its village, township or county staff (grid
# workers record visits, they do not maintain registers), and superusers.
IMPORT_ROLES = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY})

HEAD = "户主"


# The file format: one row per person; the header row names the columns (any order,
# other columns ignored). Household facts (组, 是否脱贫户) are read from the 户主's row.
COLUMNS = (
    Column(
        "village_code", "村代码", ("村级代码", "村编码", "行政区划代码", "村（社区）代码"), True
    ),
    Column("number", "户编号", ("户号", "家庭编号"), True, 30),
    Column("name", "姓名", (), True, 30),
    Column("id_number", "身份证号", ("身份证号码", "证件号码", "公民身份号码"), True),
    Column("relation", "与户主关系", ("与户主的关系",), True, 20),
    Column("labour", "劳动能力", ("劳动技能",), True),
    Column("health", "健康状况", (), False, 100),
    Column("disability", "残疾等级", (), False),
    Column("schooling", "在校情况", ("在校生状况", "在校生情况"), False),
    Column("formerly_poor", "是否脱贫户", ("脱贫户",), False),
    Column("monitored", "是否监测户", ("监测户", "是否监测对象"), False),
    Column("group", "组", ("村民小组", "所在组"), False, 30),
)
HEADERS = {c.key: c.header for c in COLUMNS}

LABOUR_WORDS = {
    LabourCapacity.FULL: ("全部", "全部劳动力", "有劳动力", "普通劳动力", "技能劳动力", "劳动力"),
    LabourCapacity.PARTIAL: ("部分", "部分劳动力", "部分丧失劳动力", "弱劳动力", "半劳动力"),
    LabourCapacity.NONE: ("无", "无劳动力", "丧失劳动力", "完全丧失劳动力"),
}
SCHOOLING_WORDS = {
    Schooling.NONE: ("", "无", "否", "非在校生", "不在校", "未上学", "毕业", "已毕业", "辍学"),
    Schooling.PRESCHOOL: ("学前", "学前教育", "幼儿园"),
    Schooling.COMPULSORY: ("义务教育", "小学", "初中", "九年义务教育"),
    Schooling.HIGH_SCHOOL: ("高中", "普通高中", "中职", "中专", "职高", "技校", "技工学校"),
    Schooling.COLLEGE: ("大专", "高职", "本科", "大学", "研究生", "高等教育"),
}
YES_NO = {"是": True, "否": False, "": False, "Y": True, "N": False, "1": True, "0": False}
DISABILITY_WORDS = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
HEAD_WORDS = ("户主", "本人")


def _lookup(words: dict) -> dict[str, str]:
    return {w: value for value, ws in words.items() for w in ws}


LABOUR = _lookup(LABOUR_WORDS)
SCHOOLING = _lookup(SCHOOLING_WORDS)


def template_csv() -> bytes:
    return tabular.template_csv(COLUMNS)


def roster_upload_inspect(upload) -> InspectedUpload:
    """Check an uploaded roster file before it is stored (`tabular.upload_inspect`)."""
    return tabular.upload_inspect(upload, columns=COLUMNS, max_bytes=RosterImporter.max_bytes())


def roster_import_create(
    *, actor, region: Region, upload, inspected: InspectedUpload | None = None
) -> RosterImport:
    """Store an uploaded roster file and queue its import (after commit).

    Checks that the actor may import for the region, and the file (unless the form
    already did: pass its `inspected`). Raises PermissionDenied or ValidationError.
    """
    from .tasks import import_roster

    if not may_import_for(actor, region):
        raise PermissionDenied
    inspected = inspected or roster_upload_inspect(upload)
    roster_import = RosterImport(
        region=region,
        region_code=region.code,
        original_name=inspected.original_name,
        sha256=inspected.sha256,
        uploaded_by=actor,
    )
    return imports.queue(roster_import, upload, inspected.kind, import_roster)


def may_import_for(user, region: Region) -> bool:
    if user.is_superuser and user.is_active:
        return True
    return bool(roles_over(user, region.code) & IMPORT_ROLES)


def import_regions_for(user):
    """The regions the user may choose to import for."""
    from apps.regions.models import Level

    if user.is_superuser:
        return Region.objects.filter(level__lte=Level.COUNTY)
    return Region.objects.filter(
        memberships__user=user,
        memberships__is_active=True,
        memberships__role__in=IMPORT_ROLES,
    ).distinct()


class RosterImporter(imports.Importer):
    model = RosterImport
    related = ("region",)
    stage_table = "roster_stage"
    stage_columns = (
        "rownum integer NOT NULL",
        "village_code varchar(12)",
        "number varchar(30)",
        "name varchar(30) NOT NULL",
        "relation varchar(20) NOT NULL",
        "is_head boolean NOT NULL",
        "id_hash varchar(64)",
        "id_token text",
        "labour varchar(16) NOT NULL",
        "health varchar(100) NOT NULL",
        "disability smallint",
        "schooling varchar(16) NOT NULL",
        "formerly_poor boolean NOT NULL",
        "monitored boolean NOT NULL",
        "address_group varchar(30) NOT NULL",
    )
    stage_indexes = {
        "roster_stage_key_idx": "village_code, number",
        "roster_stage_hash_idx": "id_hash",
    }
    temp_tables = ("roster_stage_household", "roster_stage_member")
    max_bytes_setting = "ROSTER_UPLOAD_MAX_BYTES"

    def columns(self):
        return COLUMNS

    def row_checker(self, found):
        return RowChecker(COLUMNS, found, self.errors).check

    def check_staged(self):
        _check_stage(self.obj.region, self.errors)

    def apply(self):
        # One import at a time writes the roster: the checks below and the writes then
        # see the same roster, and two files of one village cannot interleave.
        if is_postgres():
            sql("SELECT pg_advisory_xact_lock(hashtext('households.roster_import'))")
        _check_against_roster(self.obj.region, self.errors)
        return {} if self.errors.count else _apply(timezone.now())


# --- checking one row -------------------------------------------------------------------


class RowChecker(tabular.PersonRowChecker):
    """Validates person rows one by one; the key material is read once per file."""

    def check(self, rownum: int, values: list) -> tuple:
        """Validate one person's row; returns the staged tuple (bad values become NULL)."""
        errors = self.errors
        cells = self.cells(rownum, values)
        village_code = fold(cells["village_code"])
        if village_code and not (len(village_code) == 12 and is_ascii_digits(village_code)):
            errors.add(rownum, "village_code", _("A village code has 12 digits."))
            village_code = ""
        hashed, token = self.id_number(rownum, values, cells["id_number"])
        labour = LABOUR.get(cells["labour"])
        if cells["labour"] and labour is None:
            errors.add(
                rownum,
                "labour",
                _("Unknown labour capacity “%(value)s”; write one of: %(choices)s.")
                % {"value": cells["labour"], "choices": "、".join(LABOUR)},
            )
        schooling = SCHOOLING.get(cells["schooling"].removesuffix("在读").removesuffix("在校"))
        if schooling is None:
            errors.add(
                rownum,
                "schooling",
                _("Unknown schooling “%(value)s”; write one of: %(choices)s, or leave it empty.")
                % {"value": cells["schooling"], "choices": "、".join(w for w in SCHOOLING if w)},
            )
        disability = self._disability(rownum, cells["disability"])
        formerly_poor = YES_NO.get(cells["formerly_poor"].upper())
        if formerly_poor is None:
            errors.add(rownum, "formerly_poor", _("Write 是 or 否, or leave it empty."))
        monitored = YES_NO.get(cells["monitored"].upper())
        if monitored is None:
            errors.add(rownum, "monitored", _("Write 是 or 否, or leave it empty."))

        relation = cells["relation"]
        is_head = relation in HEAD_WORDS
        return (
            rownum,
            village_code or None,
            cells["number"] or None,
            cells["name"],
            HEAD if is_head else relation,
            is_head,
            hashed,
            token,
            labour or "",
            cells["health"],
            disability,
            schooling or Schooling.NONE,
            bool(formerly_poor),
            bool(monitored),
            cells["group"],
        )

    def _disability(self, rownum: int, text: str) -> int | None:
        if not text or text == "无":
            return None
        grade = DISABILITY_WORDS.get(text)
        digits = text.removeprefix("残疾").removesuffix("级")
        if grade is None and digits in ("1", "2", "3", "4"):
            grade = int(digits)
        if grade is None:
            self.errors.add(
                rownum, "disability", _("A disability grade is 1, 2, 3 or 4, or empty.")
            )
        return grade


# --- set-based checks -------------------------------------------------------------------


def _sql_errors(errors: tabular.Errors, header: str, columns: str, source: str, params, message):
    """Count the rows a check finds and keep the first ones, in row order (the first
    column is the row number)."""
    found = rows(
        f"SELECT count(*) OVER (), {columns} {source} ORDER BY 2 LIMIT {MAX_ERRORS}", params
    )
    errors.count += found[0][0] if found else 0
    for _count, rownum, *values in found:
        errors.kept.append({"row": rownum, "field": header, "message": message(*values)})


def _check_stage(region: Region, errors: tabular.Errors) -> None:
    """The checks that need all rows: villages, the same person twice, one head each."""
    prefix = region.prefix + "%"

    village = """FROM roster_stage s LEFT JOIN regions_region r ON r.code = s.village_code AND r.level = 5
        WHERE s.village_code IS NOT NULL AND (r.id IS NULL OR s.village_code NOT LIKE %s)"""
    _sql_errors(
        errors,
        HEADERS["village_code"],
        "s.rownum, s.village_code, r.id",
        village,
        [prefix],
        lambda code, known: (
            _("Village %(code)s lies outside %(region)s, the region you import for.")
            % {"code": code, "region": region.name}
            if known
            else _("No village has the code %(code)s.") % {"code": code}
        ),
    )

    twice = """FROM roster_stage s JOIN (SELECT id_hash, min(rownum) AS first FROM roster_stage
        WHERE id_hash IS NOT NULL GROUP BY id_hash HAVING count(*) > 1) d
        ON d.id_hash = s.id_hash WHERE s.rownum > d.first"""
    _sql_errors(
        errors,
        HEADERS["id_number"],
        "s.rownum, d.first",
        twice,
        [],
        lambda first: (
            _("The same person (same ID number) is already in row %(row)d.") % {"row": first}
        ),
    )

    households = """(SELECT village_code, number, min(rownum) AS first,
        sum(CASE WHEN is_head THEN 1 ELSE 0 END) AS heads,
        min(CASE WHEN is_head THEN rownum END) AS first_head
        FROM roster_stage WHERE village_code IS NOT NULL AND number IS NOT NULL
        GROUP BY village_code, number)"""
    headless = "FROM " + households + " h WHERE h.heads = 0"
    _sql_errors(
        errors,
        HEADERS["relation"],
        "h.first, h.number",
        headless,
        [],
        lambda number: (
            _("Household %(number)s has no head: one of its members needs “%(head)s” as relation.")
            % {"number": number, "head": HEAD}
        ),
    )
    two_heads = (
        "FROM roster_stage s JOIN "
        + households
        + """ h ON h.village_code = s.village_code AND h.number = s.number
        WHERE s.is_head AND h.heads > 1 AND s.rownum > h.first_head"""
    )
    _sql_errors(
        errors,
        HEADERS["relation"],
        "s.rownum, s.number, h.first_head",
        two_heads,
        [],
        lambda number, first: (
            _("Household %(number)s already has a head in row %(row)d.")
            % {"number": number, "row": first}
        ),
    )


def _check_against_roster(region: Region, errors: tabular.Errors) -> None:
    """People the roster already has in a household the file does not list.

    Inside the importer's region they move to the file's household (people marry and
    households split), unless they head the old household, which would be left without
    one. A household elsewhere belongs to another region's staff: refused.
    """
    elsewhere = """FROM roster_stage s
        JOIN households_rostermember m ON m.id_hash = s.id_hash
        JOIN households_rosterhousehold h ON h.id = m.household_id
        WHERE NOT EXISTS (SELECT 1 FROM roster_stage f
            WHERE f.village_code = h.region_code AND f.number = h.number)"""
    outside = elsewhere + " AND h.region_code NOT LIKE %s"
    _sql_errors(
        errors,
        HEADERS["id_number"],
        "s.rownum",
        outside,
        [region.prefix + "%"],
        lambda: _(
            "This person is in the roster of a household outside the region you import "
            "for; that region's staff must remove them first."
        ),
    )
    head_elsewhere = elsewhere + " AND h.region_code LIKE %s AND m.relation = %s"
    _sql_errors(
        errors,
        HEADERS["id_number"],
        "s.rownum, h.number",
        head_elsewhere,
        [region.prefix + "%", HEAD],
        lambda number: (
            _(
                "This person heads household %(number)s in the roster, which this file does "
                "not list; list that household too, with its new head."
            )
            % {"number": number}
        ),
    )


# --- applying -------------------------------------------------------------------------------


def _apply(now) -> dict[str, int]:
    """Write the staged file to the roster, set-based; only what differs is written.

    Which household and member already exist is looked up once, before anything is
    inserted: an INSERT ... WHERE NOT EXISTS on the table being filled would make
    PostgreSQL rescan the rows it has just added (invisible to it, but still read) for
    every row, quadratic in the file.
    """
    counts = {}
    stamp = connection.ops.adapt_datetimefield_value(now)
    sql(
        """CREATE TEMP TABLE roster_stage_household AS
        SELECT r.id AS village_id, s.village_code, s.number, s.name AS head_name,
               s.address_group, s.formerly_poor, s.monitored, h.id AS household_id
        FROM roster_stage s JOIN regions_region r ON r.code = s.village_code
        LEFT JOIN households_rosterhousehold h ON h.village_id = r.id AND h.number = s.number
        WHERE s.is_head"""
    )
    counts["households_updated"] = sql(
        """UPDATE households_rosterhousehold SET head_name = x.head_name,
            address_group = x.address_group, formerly_poor = x.formerly_poor,
            monitored = x.monitored, updated_at = %s
        FROM roster_stage_household x
        WHERE households_rosterhousehold.id = x.household_id
          AND (households_rosterhousehold.head_name <> x.head_name
               OR households_rosterhousehold.address_group <> x.address_group
               OR households_rosterhousehold.formerly_poor <> x.formerly_poor
               OR households_rosterhousehold.monitored <> x.monitored)""",
        [stamp],
    )
    counts["households_created"] = sql(
        """INSERT INTO households_rosterhousehold
            (village_id, region_code, number, head_name, address_group, formerly_poor,
             monitored, updated_at)
        SELECT x.village_id, x.village_code, x.number, x.head_name, x.address_group,
               x.formerly_poor, x.monitored, %s
        FROM roster_stage_household x WHERE x.household_id IS NULL""",
        [stamp],
    )
    if counts["households_created"] and is_postgres():
        # Statistics of a table that was empty would plan the join below as a loop.
        sql("ANALYZE households_rosterhousehold")
    sql(
        """CREATE TEMP TABLE roster_stage_member AS
        SELECT h.id AS household_id, s.name, s.relation, s.id_hash, s.id_token, s.labour,
               s.health, s.disability, s.schooling, m.id AS member_id
        FROM roster_stage s
        JOIN roster_stage_household x ON x.village_code = s.village_code AND x.number = s.number
        JOIN households_rosterhousehold h ON h.village_id = x.village_id AND h.number = x.number
        LEFT JOIN households_rostermember m ON m.id_hash = s.id_hash"""
    )
    imports.index_stage(
        "roster_stage_member",
        {"roster_stage_member_hash_idx": "id_hash", "roster_stage_member_hh_idx": "household_id"},
    )
    # The file is the truth for its households: whoever it no longer lists goes.
    counts["members_removed"] = sql(
        """DELETE FROM households_rostermember
        WHERE household_id IN (SELECT household_id FROM roster_stage_member)
          AND NOT EXISTS (SELECT 1 FROM roster_stage_member s
                          WHERE s.id_hash = households_rostermember.id_hash)"""
    )
    counts["members_updated"] = sql(
        """UPDATE households_rostermember SET household_id = s.household_id, name = s.name,
            relation = s.relation, labour_capacity = s.labour, health = s.health,
            disability_grade = s.disability, schooling = s.schooling
        FROM roster_stage_member s
        WHERE households_rostermember.id = s.member_id
          AND (households_rostermember.household_id <> s.household_id
               OR households_rostermember.name <> s.name
               OR households_rostermember.relation <> s.relation
               OR households_rostermember.labour_capacity <> s.labour
               OR households_rostermember.health <> s.health
               OR households_rostermember.disability_grade IS DISTINCT FROM s.disability
               OR households_rostermember.schooling <> s.schooling)"""
    )
    counts["members_created"] = sql(
        """INSERT INTO households_rostermember
            (household_id, name, relation, id_number, id_hash, labour_capacity, health,
             disability_grade, schooling)
        SELECT s.household_id, s.name, s.relation, s.id_token, s.id_hash, s.labour, s.health,
               s.disability, s.schooling
        FROM roster_stage_member s WHERE s.member_id IS NULL"""
    )
    return counts
