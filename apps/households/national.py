"""The hand-over with the national monitoring system (全国防返贫监测信息系统).

**Import.** A county starts with the monitored households the national system already
holds. Its export of them (监测对象信息), one Excel (or CSV) file per county, one row per
person, comes in through the import pipeline of `apps.core.imports`: each row checked in
Python (ID number, category, risk types, dates, measures), staged, then checked
set-based (villages of the county, the same person twice, one head per household, one
village per household) and, in the transaction, against the households already here (a
household code or a person of another household). The apply writes, set-based, what
enrolment writes for each household (`services.household_enrol`): the monitored
household and its members, its log row, its help plan (approved with the measures the
file lists, or a draft with its 10-day clock while it has none), its first follow-up
visit with its clock; a household whose risk was eliminated is drawn for look-back
reviews like any other. Idempotent by household code: a household already here is
updated where the file differs, so importing the same file again changes nothing.

**Export.** The households of a county newly enrolled, changed or eliminated in a
period, in the national system's import layout (the same columns, plus the kind of
change), for the county to record there (录入国家系统). Each exported household is
marked with the date; newly enrolled households wait on a clock (`Stage.NATIONAL_RECORD`,
5 working days by default) until they are.

The national system's layout is not published: `COLUMNS` and the word tables below are
the one place that says it, so that a county can correct them (docs/national.md).
"""

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import imports, tabular
from apps.core.errors import InvalidInput
from apps.core.identity import fold, is_ascii_digits
from apps.core.imports import sql
from apps.core.tabular import Column, InspectedUpload
from apps.core.xlsx import period_line, workbook
from apps.deadlines.calendar import WorkingCalendar, add_period
from apps.deadlines.models import Stage
from apps.deadlines.services import clocks_meet, end_of_day, policies_for
from apps.regions.models import Level, Region, Role, roles_over

from .models import (
    Category,
    Difficulty,
    HouseholdEvent,
    HouseholdStatus,
    LabourCapacity,
    MonitoredHousehold,
    NationalExport,
    NationalImport,
    NationalRecord,
    PlanState,
    PolicyKind,
)
from .roster import _sql_errors
from .services.common import FOLLOW_UP_SUBJECT, NATIONAL_SUBJECT, PLAN_SUBJECT

# County staff hand households over to the national system, and bring them in.
IMPORT_ROLES = frozenset({Role.COUNTY})

HEAD = "户主"
HEAD_WORDS = ("户主", "本人")

# --- the layout: one table -----------------------------------------------------------------

# The national system's file, one row per person; the household's facts (category,
# risks, dates, measures, income) are read from the head's row. Import and export share
# it: the export writes these headers in this order (after 变更类型), the import finds
# them (or an alias) in any order and ignores other columns.
COLUMNS = (
    Column("village_code", "村代码", ("行政区划代码", "村级代码", "村（社区）代码"), True),
    Column("code", "户编号", ("家庭编号", "户码"), True, 30),
    Column("name", "姓名", (), True, 30),
    Column("id_number", "证件号码", ("身份证号", "身份证号码", "公民身份号码"), True),
    Column("relation", "与户主关系", ("与户主的关系",), True, 20),
    Column("labour", "劳动技能", ("劳动能力",), False),
    Column("category", "监测对象类别", ("监测类型", "监测对象类型")),
    Column("risks", "风险类型", ("主要风险类型", "致贫返贫风险"), False),
    Column("identified_on", "识别时间", ("纳入监测时间", "识别监测时间")),
    Column("measures", "帮扶措施", ("落实帮扶措施",), False),
    Column("eliminated", "风险消除状态", ("是否风险消除", "风险是否消除"), False),
    Column("eliminated_on", "风险消除时间", ("风险消除日期",), False),
    Column("income", "家庭人均纯收入", ("人均纯收入", "人均纯收入（元）"), False),
)
HEADERS = {c.key: c.header for c in COLUMNS}
CHANGE_HEADER = "变更类型"

# Each value's words in the file; the first is the one the export writes.
CATEGORY_WORDS = {
    Category.UNSTABLE: ("脱贫不稳定户", "脱贫不稳定"),
    Category.MARGINAL: ("边缘易致贫户", "边缘易致贫"),
    Category.SUDDEN: ("突发严重困难户", "突发严重困难"),
}
RISK_WORDS = {
    Difficulty.ILLNESS: ("因病", "病"),
    Difficulty.DISABILITY: ("因残", "残"),
    Difficulty.SCHOOLING: ("因学", "学"),
    Difficulty.DISASTER: ("因自然灾害", "因灾", "灾"),
    Difficulty.ACCIDENT: ("因意外事故", "意外事故"),
    Difficulty.UNSTABLE_WORK: ("因务工就业不稳", "务工就业不稳"),
    Difficulty.BUSINESS_FAILURE: ("因产业项目失败", "产业项目失败"),
    Difficulty.INCOME_SHOCK: ("因收入骤减或支出骤增", "因收入骤减", "因支出骤增"),
    Difficulty.OTHER: ("其他",),
}
MEASURE_WORDS = {
    PolicyKind.INDUSTRY: ("产业帮扶", "产业"),
    PolicyKind.EMPLOYMENT: ("就业帮扶", "就业"),
    PolicyKind.SKILLS: ("技能培训",),
    PolicyKind.BACKSTOP: ("综合保障", "兜底保障", "低保", "特困供养"),
    PolicyKind.MEDICAL: ("健康帮扶", "医疗救助", "医疗保障"),
    PolicyKind.EDUCATION: ("教育帮扶", "教育"),
    PolicyKind.HOUSING: ("住房安全保障", "危房改造"),
    PolicyKind.WATER: ("饮水安全保障",),
    PolicyKind.MICRO_CREDIT: ("金融帮扶", "小额信贷"),
    PolicyKind.WELFARE_JOB: ("公益岗位", "公益性岗位"),
    PolicyKind.RAIN_DEW: ("雨露计划",),
    PolicyKind.TEMPORARY: ("临时救助",),
    PolicyKind.OTHER: ("其他帮扶", "其他"),
}
LABOUR_WORDS = {
    LabourCapacity.FULL: (
        "普通劳动力",
        "技能劳动力",
        "全部",
        "全部劳动力",
        "有劳动力",
        "劳动力",
    ),
    LabourCapacity.PARTIAL: (
        "弱劳动力或半劳动力",
        "弱劳动力",
        "半劳动力",
        "部分",
        "部分劳动力",
        "部分丧失劳动力",
    ),
    LabourCapacity.NONE: ("丧失劳动力", "无劳动力", "无", "完全丧失劳动力"),
}
ELIMINATED_WORDS = {True: ("已消除", "风险已消除", "是"), False: ("未消除", "风险未消除", "否", "")}
CHANGE_WORDS = {"enrolled": "新增", "changed": "变更", "eliminated": "风险消除"}
# Lists in a cell: 因病、因残 or 因病,因残 …
SEPARATORS = re.compile(r"[、,，;；/\s]+")
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
MAX_INCOME = Decimal("100000000")


def _lookup(words: dict) -> dict[str, str]:
    return {w: value for value, ws in words.items() for w in ws}


CATEGORY = _lookup(CATEGORY_WORDS)
RISK = _lookup(RISK_WORDS)
MEASURE = _lookup(MEASURE_WORDS)
LABOUR = _lookup(LABOUR_WORDS)
ELIMINATED = _lookup(ELIMINATED_WORDS)


def split_list(text: str) -> list[str]:
    return [w for w in SEPARATORS.split(text) if w]


# --- who may, and the upload ------------------------------------------------------------------


def may_import_for(user, region: Region) -> bool:
    if region.level != Level.COUNTY:
        return False
    if user.is_superuser and user.is_active:
        return True
    return bool(roles_over(user, region.code) & IMPORT_ROLES)


def counties_for(user):
    """The counties the user hands over: those of their county memberships."""
    if user.is_superuser:
        return Region.objects.filter(level=Level.COUNTY)
    return Region.objects.filter(
        level=Level.COUNTY,
        memberships__user=user,
        memberships__is_active=True,
        memberships__role__in=IMPORT_ROLES,
    ).distinct()


def national_upload_inspect(upload) -> InspectedUpload:
    return tabular.upload_inspect(upload, columns=COLUMNS, max_bytes=NationalImporter.max_bytes())


def national_import_create(
    *, actor, county: Region, upload, inspected: InspectedUpload | None = None
) -> NationalImport:
    """Store an uploaded national file of a county and queue its import (after commit).
    Raises PermissionDenied or ValidationError."""
    from .tasks import import_national

    if not may_import_for(actor, county):
        raise PermissionDenied
    inspected = inspected or national_upload_inspect(upload)
    national_import = NationalImport(
        region=county,
        region_code=county.code,
        original_name=inspected.original_name,
        sha256=inspected.sha256,
        uploaded_by=actor,
    )
    return imports.queue(national_import, upload, inspected.kind, import_national)


# --- checking one row -------------------------------------------------------------------------


class RowChecker(tabular.PersonRowChecker):
    """Validates person rows one by one; the key material is read once per file."""

    keep_dates = True  # an Excel date cell

    def __init__(self, *args):
        super().__init__(*args)
        self.today = timezone.localdate()

    def check(self, rownum: int, values: list) -> tuple:
        errors = self.errors
        cells = self.cells(rownum, values)
        village_code = fold(str(cells["village_code"]))
        if village_code and not (len(village_code) == 12 and is_ascii_digits(village_code)):
            errors.add(rownum, "village_code", _("A village code has 12 digits."))
            village_code = ""
        hashed, token = self.id_number(rownum, values, str(cells["id_number"]))
        labour = LABOUR.get(str(cells["labour"]), "")
        if cells["labour"] and not labour:
            errors.add(
                rownum,
                "labour",
                _("Unknown labour capacity “%(value)s”; write one of: %(choices)s.")
                % {"value": cells["labour"], "choices": "、".join(LABOUR)},
            )
        relation = str(cells["relation"])
        is_head = relation in HEAD_WORDS
        household = self._household(rownum, cells) if is_head else (None,) * 7
        return (
            rownum,
            village_code or None,
            str(cells["code"]) or None,
            str(cells["name"]),
            HEAD if is_head else relation,
            is_head,
            hashed,
            token,
            labour,
            *household,
        )

    def _household(self, rownum: int, cells: dict) -> tuple:
        """The head's row: category, risks, dates, measures, income."""
        errors = self.errors
        category = CATEGORY.get(str(cells["category"]))
        if category is None and cells["category"]:
            errors.add(
                rownum,
                "category",
                _("Unknown monitoring category “%(value)s”; write one of: %(choices)s.")
                % {
                    "value": cells["category"],
                    "choices": "、".join(w[0] for w in CATEGORY_WORDS.values()),
                },
            )
        elif category is None:
            errors.add(rownum, "category", _("The head's row needs the monitoring category."))
        risks = []
        for word in split_list(str(cells["risks"])):
            risk = RISK.get(word)
            if risk is None:
                errors.add(
                    rownum,
                    "risks",
                    _("Unknown risk type “%(value)s”; write one of: %(choices)s.")
                    % {
                        "value": word,
                        "choices": "、".join(w[0] for w in RISK_WORDS.values()),
                    },
                )
            elif risk not in risks:
                risks.append(risk)
        identified = self._date(rownum, "identified_on", cells["identified_on"])
        if identified is None and not cells["identified_on"]:
            errors.add(rownum, "identified_on", _("The head's row needs the identification date."))
        eliminated = ELIMINATED.get(str(cells["eliminated"]))
        if eliminated is None:
            errors.add(
                rownum,
                "eliminated",
                _("Write %(yes)s or %(no)s.") % {"yes": "已消除", "no": "未消除"},
            )
        eliminated_on = None
        if eliminated:
            eliminated_on = self._date(rownum, "eliminated_on", cells["eliminated_on"])
            if eliminated_on is None and not cells["eliminated_on"]:
                errors.add(
                    rownum,
                    "eliminated_on",
                    _("A household whose risk was eliminated needs the date of it."),
                )
            elif eliminated_on and identified and eliminated_on < identified:
                errors.add(
                    rownum,
                    "eliminated_on",
                    _("The risk cannot be eliminated before the household was identified."),
                )
        measures = []
        for word in split_list(str(cells["measures"])):
            if len(word) > 100:
                errors.add(rownum, "measures", _("A measure has at most 100 characters."))
                continue
            measures.append([MEASURE.get(word, PolicyKind.OTHER), word])
        income = self._income(rownum, str(cells["income"]))
        return (
            category,
            json.dumps(sorted(risks)),
            identified,
            json.dumps(measures, ensure_ascii=False),
            bool(eliminated),
            eliminated_on,
            income,
        )

    def _date(self, rownum: int, key: str, value) -> dt.date | None:
        if isinstance(value, dt.datetime):
            value = value.date()
        if not value:
            return None
        if not isinstance(value, dt.date):
            value = str(value)
            match = DATE_RE.match(value)
            compact = value if len(value) == 8 and is_ascii_digits(value) else ""
            try:
                if match:
                    value = dt.date(*(int(g) for g in match.groups()))
                elif compact:
                    value = dt.date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
                else:
                    raise ValueError
            except ValueError:
                self.errors.add(rownum, key, _("Write a date as 2026-05-01."))
                return None
        if value > self.today:
            self.errors.add(rownum, key, _("This date lies in the future."))
            return None
        if value.year < 2000:
            self.errors.add(rownum, key, _("This date is implausibly old."))
            return None
        return value

    def _income(self, rownum: int, text: str) -> Decimal | None:
        if not text:
            return None
        try:
            amount = Decimal(text.replace(",", "").removesuffix("元"))
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or not 0 <= amount < MAX_INCOME:
            self.errors.add(rownum, "income", _("Write an amount in yuan, e.g. 1234.50."))
            return None
        return amount.quantize(Decimal("0.01"))


# --- the import -------------------------------------------------------------------------------


class NationalImporter(imports.Importer):
    model = NationalImport
    related = ("region", "uploaded_by")
    stage_table = "national_stage"
    stage_columns = (
        "rownum integer NOT NULL",
        "village_code varchar(12)",
        "code varchar(30)",
        "name varchar(30) NOT NULL",
        "relation varchar(20) NOT NULL",
        "is_head boolean NOT NULL",
        "id_hash varchar(64)",
        "id_token text",
        "labour varchar(16) NOT NULL",
        "category varchar(16)",
        "risks text",
        "identified_on date",
        "measures text",
        "eliminated boolean",
        "eliminated_on date",
        "income numeric(12, 2)",
    )
    stage_indexes = {
        "national_stage_code_idx": "code",
        "national_stage_hash_idx": "id_hash",
    }
    temp_tables = ("national_stage_household", "national_stage_new")
    max_bytes_setting = "NATIONAL_UPLOAD_MAX_BYTES"

    def columns(self):
        return COLUMNS

    def row_checker(self, found):
        return RowChecker(COLUMNS, found, self.errors).check

    def check_staged(self):
        _check_stage(self.obj.region, self.errors)

    def apply(self):
        # One national import at a time: the checks against the households here and the
        # writes see the same households.
        sql("SELECT pg_advisory_xact_lock(hashtext('households.national_import'))")
        _check_against_households(self.obj.region, self.errors)
        if self.errors.count:
            return {}
        counts = _apply(self.obj, timezone.now())
        _keep_records(self.obj)
        return counts


def _check_stage(county: Region, errors: tabular.Errors) -> None:
    """Villages of the county, the same person twice, one head and one village per
    household code."""
    village = """FROM national_stage s LEFT JOIN regions_region r
        ON r.code = s.village_code AND r.level = 5
        WHERE s.village_code IS NOT NULL AND (r.id IS NULL OR s.village_code NOT LIKE %s)"""
    _sql_errors(
        errors,
        HEADERS["village_code"],
        "s.rownum, s.village_code, r.id",
        village,
        [county.prefix + "%"],
        lambda code, known: (
            _("Village %(code)s lies outside %(region)s, the region you import for.")
            % {"code": code, "region": county.name}
            if known
            else _("No village has the code %(code)s.") % {"code": code}
        ),
    )
    twice = """FROM national_stage s JOIN (SELECT id_hash, min(rownum) AS first
        FROM national_stage WHERE id_hash IS NOT NULL GROUP BY id_hash HAVING count(*) > 1) d
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
    households = """(SELECT code, min(rownum) AS first,
        count(DISTINCT village_code) AS villages,
        sum(CASE WHEN is_head THEN 1 ELSE 0 END) AS heads,
        min(CASE WHEN is_head THEN rownum END) AS first_head
        FROM national_stage WHERE code IS NOT NULL GROUP BY code)"""
    _sql_errors(
        errors,
        HEADERS["relation"],
        "h.first, h.code",
        "FROM " + households + " h WHERE h.heads = 0",
        [],
        lambda code: (
            _("Household %(number)s has no head: one of its members needs “%(head)s” as relation.")
            % {"number": code, "head": HEAD}
        ),
    )
    _sql_errors(
        errors,
        HEADERS["relation"],
        "s.rownum, s.code, h.first_head",
        "FROM national_stage s JOIN "
        + households
        + " h ON h.code = s.code WHERE s.is_head AND h.heads > 1 AND s.rownum > h.first_head",
        [],
        lambda code, first: (
            _("Household %(number)s already has a head in row %(row)d.")
            % {"number": code, "row": first}
        ),
    )
    _sql_errors(
        errors,
        HEADERS["village_code"],
        "s.rownum, s.code, h.first",
        "FROM national_stage s JOIN "
        + households
        + """ h ON h.code = s.code JOIN national_stage f ON f.rownum = h.first
        WHERE h.villages > 1 AND s.village_code IS DISTINCT FROM f.village_code""",
        [],
        lambda code, first: (
            _("Household %(number)s lies in another village in row %(row)d.")
            % {"number": code, "row": first}
        ),
    )


def _check_against_households(county: Region, errors: tabular.Errors) -> None:
    """Household codes and people the system already has elsewhere."""
    prefix = county.prefix + "%"
    _sql_errors(
        errors,
        HEADERS["code"],
        "s.rownum",
        """FROM national_stage s JOIN households_monitoredhousehold h ON h.national_code = s.code
        WHERE s.is_head AND h.region_code NOT LIKE %s""",
        [prefix],
        lambda: _("This household code belongs to a monitored household of another county."),
    )
    # The head of another monitored household (one with another code, or one outside
    # the county; one of the county without a code is this household, enrolled here).
    _sql_errors(
        errors,
        HEADERS["id_number"],
        "s.rownum",
        """FROM national_stage s JOIN households_monitoredhousehold h ON h.head_id_hash = s.id_hash
        WHERE s.is_head AND (h.region_code NOT LIKE %s OR h.national_code <> s.code)""",
        [prefix],
        lambda: _("This person already heads another monitored household."),
    )
    _sql_errors(
        errors,
        HEADERS["id_number"],
        "s.rownum",
        """FROM national_stage s WHERE s.id_hash IS NOT NULL AND EXISTS (
            SELECT 1 FROM households_householdmember m
            JOIN households_monitoredhousehold h ON h.id = m.household_id
            WHERE m.id_hash = s.id_hash AND h.national_code IS DISTINCT FROM s.code
              AND h.head_id_hash <> (SELECT f.id_hash FROM national_stage f
                                     WHERE f.code = s.code AND f.is_head))""",
        [],
        lambda: _("This person already belongs to another monitored household."),
    )


@dataclass(frozen=True)
class Due:
    due_on: dt.date
    due_at: dt.datetime
    provisional: bool


def _dues(stages: list[str], now: dt.datetime) -> dict[str, Due]:
    """The due date of each stage's clock started now (as `clocks_start` fixes it)."""
    today = timezone.localdate(now)
    policies = policies_for(stages)
    calendar = WorkingCalendar.spanning(today, extra_years=1)
    dues = {}
    for stage in stages:
        policy = policies[stage]
        due_on, provisional = add_period(today, policy.limit, policy.unit, calendar)
        dues[stage] = Due(due_on, end_of_day(due_on), provisional)
    return dues


def _apply(obj: NationalImport, now: dt.datetime) -> dict[str, int]:
    """Write the staged file, set-based; only what differs is written.

    Households already here (by household code; or, without one, by their head in the
    county: enrolled here and now recorded nationally) are updated; new ones get what
    enrolment gives a household: members, log row, help plan, follow-up visit, clocks.
    """
    counts = {}
    tz = settings.TIME_ZONE
    sql(
        """CREATE TEMP TABLE national_stage_household AS
        SELECT r.id AS village_id, s.village_code, s.code, s.name AS head_name,
               s.id_hash AS head_hash, s.id_token AS head_token, s.category, s.risks,
               s.identified_on, s.measures, s.eliminated, s.eliminated_on, s.income,
               coalesce(byc.id, byh.id) AS household_id, rm.household_id AS roster_id,
               count(rm.household_id) OVER (PARTITION BY rm.household_id) AS roster_heads
        FROM national_stage s JOIN regions_region r ON r.code = s.village_code
        LEFT JOIN households_rostermember rm ON rm.id_hash = s.id_hash
        LEFT JOIN households_monitoredhousehold byc ON byc.national_code = s.code
        LEFT JOIN households_monitoredhousehold byh
            ON byh.head_id_hash = s.id_hash AND byh.national_code IS NULL
        WHERE s.is_head"""
    )
    imports.index_stage("national_stage_household", {"national_stage_household_code_idx": "code"})
    # Enrolled here and found by their head: the national system has them, so their
    # hand-over is done (few rows; each clock keeps the working days it took).
    adopted = [
        pk
        for (pk,) in imports.rows(
            """SELECT h.id FROM national_stage_household x
            JOIN households_monitoredhousehold h ON h.id = x.household_id
            WHERE h.national_code IS NULL"""
        )
    ]
    MonitoredHousehold.objects.filter(pk__in=adopted, national_recorded_at__isnull=True).update(
        national_recorded_at=now
    )
    for pk in adopted:
        clocks_meet(
            subject_type=NATIONAL_SUBJECT, subject_id=pk, stages=[Stage.NATIONAL_RECORD], at=now
        )
    counts["households_updated"] = sql(
        """UPDATE households_monitoredhousehold h SET national_code = x.code,
            head_name = x.head_name, category = x.category, risk_types = x.risks::jsonb,
            per_capita_income = coalesce(x.income, h.per_capita_income)
        FROM national_stage_household x
        WHERE h.id = x.household_id
          AND (h.national_code IS DISTINCT FROM x.code OR h.head_name <> x.head_name
               OR h.category <> x.category OR h.risk_types <> x.risks::jsonb
               OR (x.income IS NOT NULL AND h.per_capita_income IS DISTINCT FROM x.income))"""
    )
    counts["households_created"] = sql(
        """INSERT INTO households_monitoredhousehold
            (village_id, region_code, head_name, head_id_number, head_id_hash, risk_types,
             per_capita_income, enrolled_at, enrolled_by_id, category, status,
             monitoring_since, eliminated_at, industry_willing, roster_household_id,
             national_code, imported, national_recorded_at)
        SELECT x.village_id, x.village_code, x.head_name, x.head_token, x.head_hash,
               x.risks::jsonb, x.income, x.identified_on::timestamp AT TIME ZONE %(tz)s,
               %(actor)s, x.category,
               CASE WHEN x.eliminated THEN %(eliminated)s ELSE %(monitoring)s END,
               x.identified_on::timestamp AT TIME ZONE %(tz)s,
               x.eliminated_on::timestamp AT TIME ZONE %(tz)s, false,
               -- The head's roster household, unless another monitored household
               -- (here, or in the file) already has it: one per roster household.
               CASE WHEN x.roster_heads = 1 AND NOT EXISTS (
                    SELECT 1 FROM households_monitoredhousehold o
                    WHERE o.roster_household_id = x.roster_id) THEN x.roster_id END,
               x.code, true, %(now)s
        FROM national_stage_household x WHERE x.household_id IS NULL""",
        {
            "tz": tz,
            "actor": obj.uploaded_by_id,
            "eliminated": HouseholdStatus.ELIMINATED,
            "monitoring": HouseholdStatus.MONITORING,
            "now": now,
        },
    )
    # The new households, with what each gets: a plan and, under monitoring, a visit.
    sql(
        """CREATE TEMP TABLE national_stage_new AS
        SELECT h.id AS household_id, x.code, h.region_code, h.category, h.status, x.measures
        FROM national_stage_household x
        JOIN households_monitoredhousehold h ON h.national_code = x.code
        WHERE x.household_id IS NULL"""
    )
    imports.index_stage(
        "national_stage_new",
        {"national_stage_new_code_idx": "code", "national_stage_new_hh_idx": "household_id"},
    )
    members_created = 0
    if counts["households_created"]:
        sql("ANALYZE households_monitoredhousehold")
        members_created = _members_new()
        _enrolment_rows(obj, now)
    created, counts["members_updated"] = _members_existing()
    counts["members_created"] = members_created + created
    return counts


def _keep_records(obj: NationalImport) -> None:
    """The file's households (their heads), as the county's national records: they
    replace those of the county's earlier imports (reconciliation compares them)."""
    NationalRecord.objects.filter(national_import__region_code=obj.region_code).delete()
    sql(
        """INSERT INTO households_nationalrecord
            (national_import_id, region_code, code, head_name, head_id_number, head_id_hash,
             eliminated)
        SELECT %s, s.village_code, s.code, s.name, s.id_token, s.id_hash,
               coalesce(s.eliminated, false)
        FROM national_stage s WHERE s.is_head""",
        [obj.pk],
    )


def _members_new() -> int:
    """Every person of the file's new households: members, as at enrolment."""
    return sql(
        """INSERT INTO households_householdmember
            (household_id, name, relation, id_number, id_hash, labour_capacity, health,
             disability_grade, schooling, has_skills, left_reason)
        SELECT n.household_id, s.name, s.relation, s.id_token, s.id_hash, s.labour, '',
               NULL, 'none', false, ''
        FROM national_stage s JOIN national_stage_new n ON n.code = s.code"""
    )


def _members_existing() -> tuple[int, int]:
    """The file's people of households already here: added when missing, their name,
    relation and labour updated where they differ, their ID number filled in where the
    household had none for them (a member is found by ID number, or by name when the
    household has none for them). Nobody is removed: members leave a monitored household
    through its own services."""
    updated = sql(
        """UPDATE households_householdmember m SET name = s.name, relation = s.relation,
            labour_capacity = CASE WHEN s.labour = '' THEN m.labour_capacity ELSE s.labour END,
            id_number = CASE WHEN m.id_hash = '' THEN s.id_token ELSE m.id_number END,
            id_hash = s.id_hash
        FROM national_stage s JOIN national_stage_household x ON x.code = s.code
        WHERE x.household_id IS NOT NULL AND m.household_id = x.household_id
          AND (m.id_hash = s.id_hash OR (m.id_hash = '' AND m.name = s.name))
          AND (m.name <> s.name OR m.relation <> s.relation OR m.id_hash = ''
               OR (s.labour <> '' AND m.labour_capacity <> s.labour))"""
    )
    created = sql(
        """INSERT INTO households_householdmember
            (household_id, name, relation, id_number, id_hash, labour_capacity, health,
             disability_grade, schooling, has_skills, left_reason)
        SELECT x.household_id, s.name, s.relation, s.id_token, s.id_hash, s.labour, '',
               NULL, 'none', false, ''
        FROM national_stage s JOIN national_stage_household x ON x.code = s.code
        WHERE x.household_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM households_householdmember m
            WHERE m.household_id = x.household_id
              AND (m.id_hash = s.id_hash OR (m.id_hash = '' AND m.name = s.name)))"""
    )
    return created, updated


def _enrolment_rows(obj: NationalImport, now: dt.datetime) -> None:
    """What `household_enrol` writes for a household, for all new ones at once: the log
    row; the help plan (approved with the measures the national system lists, or, under
    monitoring without any, a draft with its 10-day clock); the first follow-up visit and
    its clock, monthly for 脱贫不稳定户 and quarterly for the others."""
    dues = _dues([Stage.HELP_PLAN, Stage.FOLLOW_UP, Stage.FOLLOW_UP_CLOSE], now)
    summary = _("Imported from the national system (%(file)s)") % {"file": obj.original_name}
    sql(
        """INSERT INTO households_householdevent
            (household_id, kind, summary, reason, actor_id, actor_label, at)
        SELECT n.household_id, 'imported', %s, '', %s, '', %s FROM national_stage_new n""",
        [summary[:200], obj.uploaded_by_id, now],
    )
    sql(
        """INSERT INTO households_helpplan
            (household_id, region_code, state, returned_reason, created_at, approved_at,
             approved_by_id)
        SELECT n.household_id, n.region_code,
               CASE WHEN n.measures = '[]' AND n.status = %(monitoring)s THEN %(draft)s ELSE %(approved)s END, '', %(now)s,
               CASE WHEN n.measures = '[]' AND n.status = %(monitoring)s THEN NULL ELSE %(now)s END, NULL
        FROM national_stage_new n""",
        {
            "monitoring": HouseholdStatus.MONITORING,
            "draft": PlanState.DRAFT,
            "approved": PlanState.APPROVED,
            "now": now,
        },
    )
    sql(
        """INSERT INTO households_planmeasure
            (plan_id, policy_id, kind, title, details, responsible, amount, time_bound,
             start_on, end_on, status, delivered_on, evidence_note, evidence_id,
             green_channel, created_at)
        SELECT p.id, NULL, m.item->>0, m.item->>1, '', '', NULL, false, NULL, NULL,
               'running', NULL, '', NULL, false, %s
        FROM national_stage_new n JOIN households_helpplan p ON p.household_id = n.household_id
        CROSS JOIN LATERAL jsonb_array_elements(n.measures::jsonb) WITH ORDINALITY AS m(item, i)
        ORDER BY n.household_id, m.i""",
        [now],
    )
    plan = dues[Stage.HELP_PLAN]
    _clocks(
        """SELECT p.id, p.region_code FROM national_stage_new n
        JOIN households_helpplan p ON p.household_id = n.household_id
        WHERE p.state = %(draft)s""",
        {"draft": PlanState.DRAFT},
        PLAN_SUBJECT,
        Stage.HELP_PLAN,
        plan,
        now,
    )
    close, usual = dues[Stage.FOLLOW_UP_CLOSE], dues[Stage.FOLLOW_UP]
    sql(
        """INSERT INTO households_followup
            (household_id, region_code, scheduled_at, due_on, done_on, findings, stability,
             new_risk_types, recorded_by_id, cancelled)
        SELECT n.household_id, n.region_code, %(now)s,
               CASE WHEN n.category = %(unstable)s THEN %(close)s::date ELSE %(usual)s::date END,
               NULL, '', '', '[]'::jsonb, NULL, false
        FROM national_stage_new n WHERE n.status = %(monitoring)s""",
        {
            "now": now,
            "unstable": Category.UNSTABLE,
            "close": close.due_on,
            "usual": usual.due_on,
            "monitoring": HouseholdStatus.MONITORING,
        },
    )
    visits = """SELECT f.id, f.region_code FROM national_stage_new n
        JOIN households_followup f ON f.household_id = n.household_id
        WHERE (n.category = %(unstable)s) = %(close)s"""
    for stage, due, is_close in (
        (Stage.FOLLOW_UP_CLOSE, close, True),
        (Stage.FOLLOW_UP, usual, False),
    ):
        _clocks(
            visits,
            {"unstable": Category.UNSTABLE, "close": is_close},
            FOLLOW_UP_SUBJECT,
            stage,
            due,
            now,
        )


# A clock for each (id, region code) a query selects, as `clocks_start` writes it.
CLOCKS_SQL = """INSERT INTO deadlines_clock
    (subject_type, subject_id, stage, region_code, started_at, due_on, due_at, met_at,
     breached_at, provisional, urgent, cancelled, working_days_taken, reminded_at,
     breach_notified_at)
SELECT %(subject_type)s, s.id, %(stage)s, s.region_code, %(now)s, %(due_on)s, %(due_at)s,
       NULL, NULL, %(provisional)s, false, false, NULL, NULL, NULL
FROM ({subjects}) s(id, region_code)
ON CONFLICT DO NOTHING"""


def _clocks(
    subjects: str, params: dict, subject_type: str, stage: str, due: Due, now: dt.datetime
) -> None:
    """Start a clock of `stage` for each (id, region code) the query `subjects` (ours,
    with its `params`) selects."""
    # `subjects` is one of our queries above, never input; the values are parameters.
    statement = CLOCKS_SQL.replace("{subjects}", subjects)
    sql(
        statement,
        {
            **params,
            "subject_type": subject_type,
            "stage": stage,
            "now": now,
            "due_on": due.due_on,
            "due_at": due.due_at,
            "provisional": due.provisional,
        },
    )


# --- the export -----------------------------------------------------------------------------

# Log rows that are steps of the work here, not changes the national system records.
NOT_CHANGES = frozenset(
    {
        "enrolled",
        "eliminated",
        "imported",
        "national_recorded",
        "follow_up",
        "plan_submitted",
        "plan_township_checked",
        "plan_sent_back",
        "plan_revised",
        "measure_added",
        "measure_removed",
        "elimination_proposed",
        "elimination_township_checked",
        "elimination_refused",
        "industry_willing",
    }
)


@dataclass
class ExportedHousehold:
    household: MonitoredHousehold
    change: str  # a key of CHANGE_WORDS


def export_selection(*, county: Region, start: dt.date, end: dt.date) -> list[ExportedHousehold]:
    """The county's households to hand over for the period (both days included):
    enrolled here in it, else eliminated in it, else changed in it (a log row other than
    the steps of the work here), in order of their village and head."""
    if start > end:
        raise InvalidInput(_("The period must end on or after its start."))
    tz = timezone.get_current_timezone()
    since = timezone.make_aware(dt.datetime.combine(start, dt.time.min), tz)
    until = end_of_day(end, tz)
    households = MonitoredHousehold.objects.filter(region_code__startswith=county.prefix)
    enrolled = set(
        households.filter(
            imported=False, enrolled_at__gte=since, enrolled_at__lt=until
        ).values_list("pk", flat=True)
    )
    eliminated = set(
        households.filter(eliminated_at__gte=since, eliminated_at__lt=until).values_list(
            "pk", flat=True
        )
    )
    changed = set(
        HouseholdEvent.objects.filter(
            household__region_code__startswith=county.prefix, at__gte=since, at__lt=until
        )
        .exclude(kind__in=NOT_CHANGES)
        .values_list("household_id", flat=True)
    )
    rows = (
        households.filter(pk__in=enrolled | eliminated | changed)
        .select_related("village")
        .prefetch_related("members", "plans__measures")
        .order_by("region_code", "head_name", "pk")
    )
    return [
        ExportedHousehold(
            h,
            "enrolled" if h.pk in enrolled else "eliminated" if h.pk in eliminated else "changed",
        )
        for h in rows
    ]


def _first_word(words: dict, value) -> str:
    return words[value][0] if value in words else ""


def export_rows(selection: list[ExportedHousehold]):
    """The sheet's rows: one per person, the head first, the household's facts on each."""
    for item in selection:
        h = item.household
        plans = sorted(h.plans.all(), key=lambda p: (p.created_at, p.pk))
        measures = "、".join(m.title for m in plans[-1].measures.all()) if plans else ""
        facts = {
            "village_code": h.region_code,
            "code": h.national_code or "",
            "category": _first_word(CATEGORY_WORDS, h.category),
            "risks": "、".join(_first_word(RISK_WORDS, r) for r in h.risk_types if r in RISK_WORDS),
            "identified_on": timezone.localdate(h.enrolled_at).isoformat(),
            "measures": measures,
            "eliminated": "已消除" if h.status == HouseholdStatus.ELIMINATED else "未消除",
            "eliminated_on": timezone.localdate(h.eliminated_at).isoformat()
            if h.eliminated_at
            else "",
            "income": str(h.per_capita_income) if h.per_capita_income is not None else "",
        }
        members = list(h.members.all())
        head = next(
            (m for m in members if m.id_hash == h.head_id_hash or m.relation in HEAD_WORDS), None
        )
        people = [(h.head_name, h.head_id_number, HEAD, head.labour_capacity if head else "")]
        people += [
            (m.name, m.id_number, m.relation, m.labour_capacity) for m in members if m is not head
        ]
        for name, id_number, relation, labour in people:
            row = dict(
                facts,
                name=name,
                id_number=id_number,
                relation=relation,
                labour=_first_word(LABOUR_WORDS, labour),
            )
            yield [CHANGE_WORDS[item.change], *(row[c.key] for c in COLUMNS)]


def export_header() -> list[str]:
    return [CHANGE_HEADER, *(c.header for c in COLUMNS)]


def national_export(*, actor, county: Region, start: dt.date, end: dt.date):
    """The export of a county's period (xlsx bytes, and its NationalExport row); each
    household in it is marked recorded now, and its clock met."""
    if not may_import_for(actor, county):
        raise PermissionDenied
    selection = export_selection(county=county, start=start, end=end)
    now = timezone.now()
    content = workbook(
        _("Monitored households: changes to record in the national system"),
        period_line(region=county.name, start=start, end=end),
        export_header(),
        export_rows(selection),
        sheet_name=county.name,
    )
    with transaction.atomic():
        ids = [item.household.pk for item in selection]
        MonitoredHousehold.objects.filter(pk__in=ids).update(national_recorded_at=now)
        for pk in ids:
            clocks_meet(
                subject_type=NATIONAL_SUBJECT, subject_id=pk, stages=[Stage.NATIONAL_RECORD], at=now
            )
        HouseholdEvent.objects.bulk_create(
            [
                HouseholdEvent(
                    household_id=pk,
                    kind="national_recorded",
                    summary=CHANGE_WORDS[item.change],
                    actor=actor,
                    at=now,
                )
                for pk, item in zip(ids, selection, strict=True)
            ]
        )
        export = NationalExport.objects.create(
            region=county,
            region_code=county.code,
            period_start=start,
            period_end=end,
            enrolled=sum(item.change == "enrolled" for item in selection),
            changed=sum(item.change == "changed" for item in selection),
            eliminated=sum(item.change == "eliminated" for item in selection),
            created_by=actor,
            created_at=now,
        )
    return content, export


def template_xlsx() -> bytes:
    # An import template: the header on the first row, as the import reads it.
    return workbook(None, None, [c.header for c in COLUMNS], [], sheet_name="监测对象信息")
