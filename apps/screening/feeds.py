"""Department data feeds: an uploaded file or an API batch, checked whole, matched against
the rural population, turned into warnings the village verifies within 5 days.

A batch runs in two phases, like the population roster import:

1. **Check** (outside any transaction, so the page sees the progress): the file (CSV,
   .xlsx, or the JSON body of an API batch, stored as the batch's file) is read as a
   stream and each row checked in Python (`RowChecker`: ID check digit, dates not in
   the future, amounts, grades, lengths, region codes inside the department's region).
   What a row says is staged in a TEMP table in batches, with the keyed hash of the ID
   number in place of the number: **plaintext ID numbers are never staged**.
2. **Apply** (one transaction; nothing is written if any row is bad): the staged rows,
   in row order and in chunks of `CHUNK_ROWS`, are matched by keyed hash against the
   roster (`RosterMember.id_hash`) and the monitored households (head and members),
   within the department's region subtree only — a disaster by its region code, one
   record per affected village. Each chunk costs a handful of queries whatever its
   size: the people are built in bulk, the rule of the feed runs in Python, the
   records of matches are inserted with ON CONFLICT (record_key) DO NOTHING, and only
   the records that are new raise warnings (`warnings_raise`), so importing the same
   data again — the same file, another file, the same API batch — changes nothing.
   For the hits of a chunk, and only those, a second pass over the stored file (in
   the same row order, so it advances with the chunks) picks up the plaintext ID
   number the warning needs; it is checked against the staged hash.

Records that match nobody are counted on the batch, not kept. The file holds ID numbers
in clear: it is deleted once the batch has run.
"""

import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.core import crypto, tabular
from apps.core.identity import fold, validate_id_number
from apps.core.tabular import Column
from apps.households.models import (
    HouseholdMember,
    IncomeRecord,
    RosterMember,
)
from apps.regions.models import PREFIX_LENGTH, Level, Region

from .models import (
    AssistanceKind,
    AssistanceRecord,
    BatchSource,
    BatchStatus,
    Department,
    FeedBatch,
    FeedKind,
    FeedRecord,
    MedicalThreshold,
)
from .services import (
    Hit,
    MedicalLine,
    Person,
    Village,
    civil_affairs_compare,
    college_rule,
    default_medical_line,
    disability_rule,
    disaster_rule,
    medical_rule,
    warnings_raise,
)

logger = logging.getLogger(__name__)

STAGE_ROWS = 10_000  # rows per COPY to the staging table (and per progress update)
CHUNK_ROWS = 5_000  # staged rows matched, ruled and written at a time
RAISE_HITS = 1_000  # hits raised at a time (one SMS per village and call)
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MAX_AMOUNT = Decimal("100000000")  # yuan: anything above is a typing error

ID = Column("id_number", "身份证号", ("身份证号码", "证件号码", "公民身份号码", "身份证"), True)
NAME = Column("name", "姓名", ("患者姓名", "参保人姓名", "学生姓名", "救助对象姓名"), True, 30)

# The file format of each feed: the header row names the columns (any order, other
# columns ignored). The keys are the API's JSON keys.
SCHEMAS: dict[str, tuple[Column, ...]] = {
    FeedKind.MEDICAL: (
        ID,
        NAME,
        Column("date", "就诊日期", ("结算日期", "出院日期", "费用发生日期", "就医日期"), True),
        Column("total_cost", "医疗总费用", ("总费用", "医疗费用总额", "医疗费总额"), True),
        Column(
            "out_of_pocket",
            "个人自付",
            ("个人自付费用", "个人负担", "个人负担费用", "自付金额", "个人自付金额"),
            True,
        ),
    ),
    FeedKind.DISABILITY: (
        ID,
        NAME,
        Column("grade", "残疾等级", ("等级", "残疾级别"), True),
        Column("date", "认定日期", ("发证日期", "评定日期", "办证日期"), True),
    ),
    FeedKind.COLLEGE: (
        ID,
        NAME,
        Column("school", "录取院校", ("录取学校", "院校名称", "录取高校"), True, 100),
        Column("tuition", "学费", ("学费标准", "年学费", "学费（元）"), True),
    ),
    FeedKind.DISASTER: (
        Column("region_code", "行政区划代码", ("区划代码", "受灾地区代码", "村代码"), True),
        Column("event", "灾害事件", ("灾害名称", "灾种", "灾害类型"), True, 60),
        Column("date", "发生日期", ("受灾日期", "灾害发生日期"), True),
        Column("severity", "灾情等级", ("响应等级", "灾害等级"), True),
    ),
    FeedKind.ASSISTANCE: (
        ID,
        NAME,
        Column("assistance_kind", "救助类别", ("救助类型", "保障类别", "救助项目"), True),
        Column("since", "开始日期", ("享受日期", "起始日期", "纳入日期"), False),
    ),
}

ASSISTANCE_WORDS = {
    AssistanceKind.DIBAO: ("低保", "农村低保", "最低生活保障", "农村最低生活保障"),
    AssistanceKind.TEKUN: ("特困", "特困供养", "特困人员", "特困人员供养", "五保"),
    AssistanceKind.TEMPORARY: ("临时救助",),
    AssistanceKind.CHILDREN: ("孤儿", "事实无人抚养儿童"),
    AssistanceKind.DISABILITY: (
        "残疾人两项补贴",
        "两项补贴",
        "困难残疾人生活补贴",
        "重度残疾人护理补贴",
    ),
}
ASSISTANCE = {w: kind for kind, words in ASSISTANCE_WORDS.items() for w in words}
GRADES = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
SEVERITIES = {"Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "I": 1, "II": 2, "III": 3, "IV": 4}
SEVERITIES.update({"1": 1, "2": 2, "3": 3, "4": 4, "一": 1, "二": 2, "三": 3, "四": 4})
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")


def headers(kind: str) -> dict[str, str]:
    return {c.key: c.header for c in SCHEMAS[kind]}


def upload_max_bytes() -> int:
    return getattr(settings, "FEED_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)


def feed_upload_inspect(upload, kind: str) -> tabular.InspectedUpload:
    return tabular.upload_inspect(upload, columns=SCHEMAS[kind], max_bytes=upload_max_bytes())


def template_csv(kind: str) -> bytes:
    return tabular.template_csv(SCHEMAS[kind])


# --- checking one row -------------------------------------------------------------------


@dataclass(frozen=True)
class Staged:
    """A checked row as staged: no ID number, its keyed hash."""

    rownum: int
    id_hash: str | None
    region_prefix: str | None  # disaster: the code's prefix (a village, township …)
    record_key: str
    data: dict


class RowChecker:
    """Checks the rows of one batch; the key material and the regions are read once."""

    def __init__(self, batch: FeedBatch, columns: dict[str, int], errors: tabular.Errors):
        self.batch = batch
        self.kind = batch.kind
        self.errors = errors
        self.schema = SCHEMAS[self.kind]
        self.indexes = [(c, columns.get(c.key)) for c in self.schema]
        self.hash = crypto.keyed_hasher("id")
        self.today = timezone.localdate()
        self.prefix = batch.department.region_prefix
        self.key_prefix = f"{batch.department_id}:{self.kind}:"
        self.regions: dict[str, int] | None = None
        if self.kind == FeedKind.DISASTER:
            self.regions = dict(
                Region.objects.filter(code__startswith=self.prefix).values_list("code", "level")
            )

    def cells(self, values: list) -> dict:
        n = len(values)
        cells = {}
        for column, index in self.indexes:
            value = values[index] if index is not None and index < n else None
            if isinstance(value, dt.date):
                cells[column.key] = value  # an Excel date: kept as a date
                continue
            if type(value) is not str:
                value = tabular.cell(value)
            if not value.isascii():
                # Full-width digits and letters, as Chinese input methods type them.
                value = unicodedata.normalize("NFKC", value)
            cells[column.key] = value.strip()
        return cells

    def check(self, rownum: int, values: list) -> Staged | None:
        """Check one row; the staged row, or None when the row is bad (reported)."""
        before = self.errors.count
        cells = self.cells(values)
        for column, _index in self.indexes:
            value = cells[column.key]
            if column.required and value in ("", None):
                self.errors.add(rownum, column.key, _("This cell is empty; it is required."))
            elif column.max_length and isinstance(value, str) and len(value) > column.max_length:
                self.errors.add(
                    rownum,
                    column.key,
                    _("At most %(limit)d characters (here %(length)d).")
                    % {"limit": column.max_length, "length": len(value)},
                )
        if self.errors.count > before:
            return None
        data, id_hash, prefix = getattr(self, "_" + self.kind)(rownum, cells)
        if self.errors.count > before:
            return None
        content = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        key = hashlib.sha256(f"{self.key_prefix}{id_hash or ''}:{content}".encode()).hexdigest()
        if "name" in cells:
            data["name"] = cells["name"]  # shown to the village; not part of the key
        return Staged(rownum, id_hash, prefix, key, data)

    # The checks of each feed: (data, id hash, region prefix).

    def _medical(self, rownum, cells):
        total = self._amount(rownum, "total_cost", cells["total_cost"])
        paid = self._amount(rownum, "out_of_pocket", cells["out_of_pocket"])
        if total is not None and paid is not None and paid > total:
            self.errors.add(
                rownum, "out_of_pocket", _("The out-of-pocket part exceeds the total cost.")
            )
        data = {
            "date": self._date(rownum, "date", cells["date"]),
            "total_cost": str(total),
            "out_of_pocket": str(paid),
        }
        return data, self._id(rownum, cells["id_number"]), None

    def _disability(self, rownum, cells):
        data = {
            "grade": self._grade(rownum, cells["grade"]),
            "date": self._date(rownum, "date", cells["date"]),
        }
        return data, self._id(rownum, cells["id_number"]), None

    def _college(self, rownum, cells):
        data = {
            "school": cells["school"],
            "tuition": str(self._amount(rownum, "tuition", cells["tuition"])),
        }
        return data, self._id(rownum, cells["id_number"]), None

    def _disaster(self, rownum, cells):
        code = fold(str(cells["region_code"]))
        prefix = None
        if not (len(code) == 12 and code.isdigit()):
            self.errors.add(rownum, "region_code", _("A region code has 12 digits."))
        elif code not in self.regions:
            self.errors.add(
                rownum,
                "region_code",
                _("No region with the code %(code)s lies within %(region)s.")
                % {"code": code, "region": self.batch.department.region.name},
            )
        else:
            prefix = code[: PREFIX_LENGTH[Level(self.regions[code])]]
        severity = SEVERITIES.get(str(cells["severity"]).upper().removesuffix("级"))
        if severity is None:
            self.errors.add(rownum, "severity", _("A severity is Ⅰ, Ⅱ, Ⅲ or Ⅳ (or 1–4)."))
        data = {
            "region_code": code,
            "event": cells["event"],
            "date": self._date(rownum, "date", cells["date"]),
            "severity": severity,
        }
        return data, None, prefix

    def _assistance(self, rownum, cells):
        kind = ASSISTANCE.get(cells["assistance_kind"])
        if kind is None:
            self.errors.add(
                rownum,
                "assistance_kind",
                _("Unknown assistance “%(value)s”; write one of: %(choices)s.")
                % {
                    "value": cells["assistance_kind"],
                    "choices": "、".join(words[0] for words in ASSISTANCE_WORDS.values()),
                },
            )
        since = cells["since"]
        data = {
            "assistance_kind": str(kind or ""),
            "since": self._date(rownum, "since", since) if since not in ("", None) else None,
        }
        return data, self._id(rownum, cells["id_number"]), None

    # Cells.

    def _id(self, rownum: int, text: str) -> str | None:
        try:
            return self.hash(validate_id_number(text))
        except ValidationError as exc:
            self.errors.add(rownum, "id_number", exc.messages[0])
            return None

    def _date(self, rownum: int, key: str, value) -> str | None:
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            match = DATE_RE.match(value)
            compact = value if len(value) == 8 and value.isdigit() else ""
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
        return value.isoformat()

    def _amount(self, rownum: int, key: str, text: str) -> Decimal | None:
        try:
            amount = Decimal(str(text).replace(",", "").removesuffix("元"))
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite():
            self.errors.add(rownum, key, _("Write an amount in yuan, e.g. 1234.50."))
            return None
        if amount < 0:
            self.errors.add(rownum, key, _("An amount cannot be negative."))
            return None
        if amount >= MAX_AMOUNT:
            self.errors.add(rownum, key, _("This amount is implausibly large."))
            return None
        return amount.quantize(Decimal("0.01"))

    def _grade(self, rownum: int, text: str) -> int | None:
        text = str(text)
        grade = GRADES.get(text.removeprefix("残疾"))
        digits = text.removeprefix("残疾").removesuffix("级")
        if grade is None and digits in ("1", "2", "3", "4"):
            grade = int(digits)
        if grade is None:
            self.errors.add(rownum, "grade", _("A disability grade is 1, 2, 3 or 4."))
        return grade


# --- reading a batch's file -----------------------------------------------------------------


def _source_kind(batch: FeedBatch) -> str:
    name = batch.file.name
    return "json" if name.endswith(".json") else "xlsx" if name.endswith(".xlsx") else "csv"


def _json_rows(fileobj, kind: str) -> Iterator[tuple[int, list]]:
    """An API batch as rows: the keys as header (row 0), record n as row n."""
    keys = [c.key for c in SCHEMAS[kind]]
    yield 0, keys
    for n, record in enumerate(json.load(fileobj)["records"], 1):
        yield n, [record.get(k) for k in keys] if isinstance(record, dict) else None


def _rows(batch: FeedBatch, fileobj, encoding: str) -> Iterator[tuple[int, list]]:
    source = _source_kind(batch)
    if source == "json":
        return _json_rows(fileobj, batch.kind)
    return tabular.read_rows(fileobj, source, encoding)


def _columns(batch: FeedBatch, header: list) -> dict[str, int]:
    if _source_kind(batch) == "json":
        return {key: i for i, key in enumerate(header)}  # the JSON keys, in schema order
    return tabular.map_headers(header, SCHEMAS[batch.kind])


def _errors(batch: FeedBatch) -> tabular.Errors:
    # An API client reads the JSON keys it sent; an office the columns of its file.
    names = {} if batch.source == "api" else headers(batch.kind)
    return tabular.Errors(headers=names)


STAGE_COLUMNS = ("rownum", "id_hash", "region_prefix", "record_key", "data")


def _create_stage() -> None:
    tabular.drop_stages(["feed_stage"])
    tabular.prepare_temp_buffers()
    tabular.sql(
        """CREATE TEMP TABLE feed_stage (rownum integer NOT NULL, id_hash varchar(64),
        region_prefix varchar(12), record_key varchar(64) NOT NULL, data text NOT NULL)"""
    )


def _stage_file(batch: FeedBatch, encoding: str, errors: tabular.Errors) -> int:
    """Read, check and stage every row; returns the number of rows."""
    _create_stage()
    with batch.file.open("rb") as fileobj:
        rows = _rows(batch, fileobj, encoding)
        header = next(rows, (1, []))[1]
        columns = _columns(batch, header)
        missing = tabular.missing_columns(SCHEMAS[batch.kind], columns)
        if missing:
            errors.add(1, "", _("Columns missing: %(columns)s.") % {"columns": "、".join(missing)})
            return 0
        checker = RowChecker(batch, columns, errors)
        staged: list[tuple] = []
        count = 0
        try:
            for rownum, values in rows:
                if values is None:
                    errors.add(rownum, "", _("A record must be a JSON object."))
                    count += 1
                    continue
                if tabular.is_blank(values):
                    continue
                count += 1
                row = checker.check(rownum, values)
                if row is not None and not errors.count:
                    # Once the file is bad nothing will be written: stop staging.
                    staged.append(
                        (
                            row.rownum,
                            row.id_hash,
                            row.region_prefix,
                            row.record_key,
                            json.dumps(row.data, ensure_ascii=False),
                        )
                    )
                if count % STAGE_ROWS == 0:
                    tabular.copy_rows("feed_stage", STAGE_COLUMNS, staged)
                    staged = []
                    _progress(batch, count)
        except tabular.FileUnreadable as exc:
            errors.add(exc.row, "", exc.message)
        except (ValueError, KeyError, TypeError):
            # An API body that is not {"records": [...]} (checked at the door, but the
            # file is read again here).
            errors.add(0, "", _("The batch is not a JSON object with a list of records."))
        if staged:
            tabular.copy_rows("feed_stage", STAGE_COLUMNS, staged)
        if not errors.count:
            tabular.index_stage(
                "feed_stage", {"feed_stage_row_idx": "rownum", "feed_stage_hash_idx": "id_hash"}
            )
        _progress(batch, count)
        if count == 0 and not errors.count:
            errors.add(2, "", _("The file has no rows below the column names."))
        return count


def _progress(batch: FeedBatch, processed: int) -> None:
    # Autocommit: the page polling the progress sees it at once.
    total = max(batch.total_rows, processed)
    FeedBatch.objects.filter(pk=batch.pk).update(processed_rows=processed, total_rows=total)
    batch.processed_rows, batch.total_rows = processed, total


def _staged_chunks() -> Iterator[list[Staged]]:
    """The staged rows in row order, CHUNK_ROWS at a time (keyset pagination)."""
    last = -1
    while True:
        chunk = tabular.rows(
            "SELECT rownum, id_hash, region_prefix, record_key, data FROM feed_stage "
            "WHERE rownum > %s ORDER BY rownum LIMIT %s",
            [last, CHUNK_ROWS],
        )
        if not chunk:
            return
        last = chunk[-1][0]
        yield [Staged(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in chunk]


class PlaintextReader:
    """The second pass: the plaintext ID number of given rows, in ascending row order."""

    def __init__(self, batch: FeedBatch, encoding: str):
        self.fileobj = batch.file.open("rb")
        self.rows = _rows(batch, self.fileobj, encoding)
        header = next(self.rows, (1, []))[1]
        self.index = _columns(batch, header).get("id_number")
        self.hash = crypto.keyed_hasher("id")

    def id_number(self, rownum: int, id_hash: str) -> str:
        for n, values in self.rows:
            if n == rownum:
                number = validate_id_number(tabular.cell(values[self.index]))
                if self.hash(number) != id_hash:
                    raise RuntimeError("the batch's file changed during the import")
                return number
        raise RuntimeError(f"row {rownum} not found again in the batch's file")

    def close(self) -> None:
        self.rows.close()  # the reader first: it detaches from the file
        self.fileobj.close()


# --- matching ---------------------------------------------------------------------------


@dataclass
class Counts:
    records_new: int = 0
    records_matched: int = 0
    warnings_raised: int = 0
    warnings_merged: int = 0
    counties: set = field(default_factory=set)


ROSTER_SQL = """SELECT s.id_hash, m.id, m.name, m.disability_grade, h.id, h.village_id,
        h.region_code, h.formerly_poor
    FROM feed_stage s
    JOIN households_rostermember m ON m.id_hash = s.id_hash
    JOIN households_rosterhousehold h ON h.id = m.household_id
    WHERE s.rownum > %s AND s.rownum <= %s AND h.region_code LIKE %s"""
# The monitored households of the chunk's people: by their head, by a member, or as
# the monitored household of their roster household. (pk, village, region code,
# roster household, head hash, person's hash, grade, name)
MONITORED_SQL = """SELECT mh.id, mh.village_id, mh.region_code, mh.roster_household_id,
        mh.head_id_hash, s.id_hash, NULL, ''
    FROM feed_stage s JOIN households_monitoredhousehold mh ON mh.head_id_hash = s.id_hash
    WHERE s.rownum > %s AND s.rownum <= %s AND mh.region_code LIKE %s
    UNION ALL
    SELECT mh.id, mh.village_id, mh.region_code, mh.roster_household_id, mh.head_id_hash,
        s.id_hash, hm.disability_grade, hm.name
    FROM feed_stage s JOIN households_householdmember hm ON hm.id_hash = s.id_hash
    JOIN households_monitoredhousehold mh ON mh.id = hm.household_id
    WHERE s.rownum > %s AND s.rownum <= %s AND mh.region_code LIKE %s
    UNION ALL
    SELECT mh.id, mh.village_id, mh.region_code, mh.roster_household_id, mh.head_id_hash,
        NULL, NULL, ''
    FROM households_monitoredhousehold mh
    WHERE mh.region_code LIKE %s AND mh.roster_household_id IN (
        SELECT m.household_id FROM feed_stage s
        JOIN households_rostermember m ON m.id_hash = s.id_hash
        WHERE s.rownum > %s AND s.rownum <= %s)"""


def _people(lo: int, hi: int, prefix: str) -> tuple[dict[str, Person], dict[str, int]]:
    """What is known of each person of the staged rows lo < row <= hi who is of the
    rural population of the region: from the roster, else from the monitored
    households; and the roster member of each. Joined against the staging table: a
    few queries for the whole chunk, no lists of parameters."""
    like = prefix + "%"
    found: dict[str, Person] = {}
    members: dict[str, int] = {}
    for h, member_id, name, grade, household_id, village_id, code, poor in tabular.rows(
        ROSTER_SQL, [lo, hi, like]
    ):
        members[h] = member_id
        found[h] = Person(
            id_hash=h,
            id_number="",
            name=name,
            village_id=village_id,
            region_code=code,
            roster_household_id=household_id,
            formerly_poor=poor,
            disability_grade=grade,
        )
    by_roster: dict[int, int] = {}
    by_person: dict[str, tuple] = {}
    for pk, village_id, code, roster_id, _head, h, grade, name in tabular.rows(
        MONITORED_SQL, [lo, hi, like, lo, hi, like, like, lo, hi]
    ):
        if roster_id:
            by_roster[roster_id] = pk
        if h:
            by_person.setdefault(h, (pk, village_id, code, grade, name))
    for h, person in list(found.items()):
        monitored = by_person.get(h, (by_roster.get(person.roster_household_id),))[0]
        if monitored:
            found[h] = replace(person, monitored_household_id=monitored)
    for h, (pk, village_id, code, grade, name) in by_person.items():
        if h not in found:
            found[h] = Person(
                id_hash=h,
                id_number="",
                name=name or "",
                village_id=village_id,
                region_code=code,
                monitored_household_id=pk,
                disability_grade=grade,
            )
    _incomes(found)
    return found, members


def _incomes(found: dict[str, Person]) -> None:
    """The monitored households' latest net income, for the medical income share."""
    ids = {p.monitored_household_id for p in found.values() if p.monitored_household_id}
    if not ids:
        return
    latest: dict[int, Decimal] = {}
    for household_id, net in (
        IncomeRecord.objects.filter(household_id__in=ids)
        .order_by("household_id", "-period_end", "-pk")
        .values_list("household_id", "net_income")
    ):
        latest.setdefault(household_id, net)
    for h, p in list(found.items()):
        if p.monitored_household_id in latest:
            found[h] = replace(p, annual_income=latest[p.monitored_household_id])


def _capacities(people: list[Person]) -> dict[str, tuple[str, ...]]:
    """The labour capacities of the members of each hit's household (the score's labour
    factor): the monitored household's, else the roster's."""
    monitored = {p.monitored_household_id for p in people if p.monitored_household_id}
    roster = {
        p.roster_household_id
        for p in people
        if p.roster_household_id and not p.monitored_household_id
    }
    of: dict[str, list[str]] = defaultdict(list)
    for household_id, capacity in HouseholdMember.objects.filter(
        household_id__in=monitored
    ).values_list("household_id", "labour_capacity"):
        of[f"m{household_id}"].append(capacity)
    for household_id, capacity in RosterMember.objects.filter(household_id__in=roster).values_list(
        "household_id", "labour_capacity"
    ):
        of[f"r{household_id}"].append(capacity)
    return {
        p.id_hash: tuple(
            of[f"m{p.monitored_household_id}"]
            if p.monitored_household_id
            else of[f"r{p.roster_household_id}"]
        )
        for p in people
    }


class Applier:
    """Matches, rules and writes the staged rows of one batch, chunk by chunk."""

    def __init__(self, batch: FeedBatch, encoding: str, now):
        self.batch = batch
        self.kind = batch.kind
        self.department = batch.department
        self.prefix = self.department.region_prefix
        self.now = now
        self.counts = Counts()
        self.pending: list[Hit] = []
        self.plaintext = (
            PlaintextReader(batch, encoding) if self.kind != FeedKind.DISASTER else None
        )
        self.lines = {
            (code, year): MedicalLine(out, share)
            for code, year, out, share in MedicalThreshold.objects.filter(
                county__code__startswith=self.prefix[:6]
            ).values_list("county__code", "year", "out_of_pocket", "income_share")
        }
        self.default_line = default_medical_line()

    def run(self) -> Counts:
        self.last = -1  # the row before the chunk
        try:
            for chunk in _staged_chunks():
                if self.kind == FeedKind.DISASTER:
                    self._disasters(chunk)
                elif self.kind == FeedKind.ASSISTANCE:
                    self._assistance(chunk)
                else:
                    self._people(chunk)
                self.last = chunk[-1].rownum
            self._raise([], flush=True)
        finally:
            if self.plaintext:
                self.plaintext.close()
        return self.counts

    def _rule(self, row: Staged, person: Person) -> Hit | None:
        if self.kind == FeedKind.MEDICAL:
            county = person.region_code[:6] + "000000"
            line = self.lines.get((county, int(row.data["date"][:4])), self.default_line)
            return medical_rule(row.data, person, line)
        if self.kind == FeedKind.DISABILITY:
            return disability_rule(row.data, person)
        return college_rule(row.data, person)

    def _people(self, chunk: list[Staged]) -> None:
        people, members = _people(self.last, chunk[-1].rownum, self.prefix)
        if self.kind == FeedKind.DISABILITY:
            people = self._known_grades(people)
        records, hits = [], []
        for row in chunk:
            person = people.get(row.id_hash)
            if person is None:
                continue  # not of the rural population in the region: counted, not kept
            records.append(
                Row(
                    row.record_key,
                    row.rownum,
                    row.id_hash,
                    person.region_code,
                    row.data,
                    members.get(row.id_hash),
                )
            )
            hit = self._rule(row, person)
            if hit is not None:
                hits.append((row, person))
        self.counts.records_matched += len(records)
        new = self._insert(records)
        hits = [(row, person) for row, person in hits if row.record_key in new]
        capacities = _capacities([p for _row, p in hits])
        final = []
        for row, person in hits:
            number = self.plaintext.id_number(row.rownum, row.id_hash)
            person = replace(
                person,
                id_number=number,
                name=person.name or row.data.get("name", ""),
                capacities=capacities.get(person.id_hash, ()),
            )
            final.append(replace(self._rule(row, person), record_id=new[row.record_key]))
        self._raise(final)

    def _known_grades(self, people: dict[str, Person]) -> dict[str, Person]:
        """A grade 1–2 disability delivered before counts as on record."""
        earlier = FeedRecord.objects.filter(
            kind=FeedKind.DISABILITY, id_hash__in=list(people)
        ).exclude(batch=self.batch)
        for h, data in earlier.values_list("id_hash", "data"):
            grade = data.get("grade")
            person = people[h]
            if grade in (1, 2) and person.disability_grade not in (1, 2):
                people[h] = replace(person, disability_grade=grade)
        return people

    def _disasters(self, chunk: list[Staged]) -> None:
        prefixes = {r.region_prefix for r in chunk}
        villages: dict[str, list[Village]] = defaultdict(list)
        condition = Q()
        for prefix in prefixes:
            condition |= Q(code__startswith=prefix)
        for pk, code, name in (
            Region.objects.filter(condition, level=Level.VILLAGE)
            .order_by("code")
            .values_list("pk", "code", "name")
        ):
            for prefix in prefixes:
                if code.startswith(prefix):
                    villages[prefix].append(Village(pk, code, name))
        records, hits = [], []
        for row in chunk:
            for village in villages[row.region_prefix]:
                key = hashlib.sha256(f"{row.record_key}:{village.code}".encode()).hexdigest()
                records.append(Row(key, row.rownum, "", village.code, row.data, None))
                hits.append((key, disaster_rule(row.data, village)))
        self.counts.records_matched += len(records)
        new = self._insert(records)
        self._raise([replace(hit, record_id=new[key]) for key, hit in hits if key in new])

    def _assistance(self, chunk: list[Staged]) -> None:
        """Civil affairs' rolls are kept whole (declarants need not be in the roster),
        each under the county of the person, else the department's, else the ID's."""
        people, _members = _people(self.last, chunk[-1].rownum, self.prefix)
        own_county = (
            self.department.region.code[:6] + "000000"
            if self.department.region.level >= Level.COUNTY
            else ""
        )
        records = []
        for row in chunk:
            person = people.get(row.id_hash)
            if person is not None:
                county = person.region_code[:6] + "000000"
            else:
                county = own_county or self.plaintext.id_number(row.rownum, row.id_hash)[:6].ljust(
                    12, "0"
                )
            records.append(
                AssistanceRecord(
                    batch=self.batch,
                    record_key=row.record_key,
                    id_hash=row.id_hash,
                    kind=row.data["assistance_kind"],
                    county_code=county,
                    since=row.data["since"],
                )
            )
            self.counts.records_matched += person is not None
        before = AssistanceRecord.objects.filter(batch=self.batch).count()
        AssistanceRecord.objects.bulk_create(records, ignore_conflicts=True)
        self.counts.records_new += (
            AssistanceRecord.objects.filter(batch=self.batch).count() - before
        )
        self.counts.counties |= {r.county_code for r in records}

    def _insert(self, records: list["Row"]) -> dict[str, int]:
        """Insert the records not already known; record key -> id of the new ones."""
        if not records:
            return {}
        if tabular.is_postgres():
            new = _insert_copied(self.batch.pk, self.kind, self.now, records)
            self.counts.records_new += len(new)
            return new
        FeedRecord.objects.bulk_create(
            [
                FeedRecord(
                    batch=self.batch,
                    kind=self.kind,
                    record_key=r.record_key,
                    row_number=r.rownum,
                    id_hash=r.id_hash,
                    region_code=r.region_code,
                    data=r.data,
                    roster_member_id=r.roster_member_id,
                    created_at=self.now,
                )
                for r in records
            ],
            ignore_conflicts=True,
            batch_size=CHUNK_ROWS,
        )
        new = dict(
            FeedRecord.objects.filter(
                batch=self.batch, record_key__in=[r.record_key for r in records]
            ).values_list("record_key", "pk")
        )
        self.counts.records_new += len(new)
        return new

    def _raise(self, hits: list[Hit], flush: bool = False) -> None:
        """Raise the hits a few thousand at a time: each call merges, opens, starts
        the clocks and tells each village once, whatever the number of its hits."""
        self.pending += hits
        if not self.pending or (len(self.pending) < RAISE_HITS and not flush):
            return
        hits, self.pending = self.pending, []
        raised = warnings_raise(hits=hits, department=self.department.name, now=self.now)
        self.counts.warnings_raised += raised.raised
        self.counts.warnings_merged += raised.added + raised.merged


RECORD_COLUMNS = (
    "batch_id",
    "kind",
    "record_key",
    "row_number",
    "id_hash",
    "region_code",
    "data",
    "roster_member_id",
    "created_at",
)


class Row(NamedTuple):
    """A record to keep (model instances cost more to build than to write)."""

    record_key: str
    rownum: int
    id_hash: str
    region_code: str
    data: dict
    roster_member_id: int | None


def _insert_copied(batch_id: int, kind: str, now, records: list[Row]) -> dict[str, int]:
    """PostgreSQL: COPY the chunk's records to a staging table, then one INSERT ... ON
    CONFLICT (record_key) DO NOTHING RETURNING the new ones (the ORM's bulk_create
    costs several times as much per row, and cannot say which rows were new)."""
    tabular.sql(
        """CREATE TEMP TABLE IF NOT EXISTS feed_records_new (batch_id bigint, kind text,
        record_key text, row_number integer, id_hash text, region_code text, data text,
        roster_member_id bigint, created_at timestamptz)"""
    )
    tabular.sql("DELETE FROM pg_temp.feed_records_new")
    tabular.copy_rows(
        "feed_records_new",
        RECORD_COLUMNS,
        [
            (
                batch_id,
                kind,
                r.record_key,
                r.rownum,
                r.id_hash,
                r.region_code,
                json.dumps(r.data, ensure_ascii=False),
                r.roster_member_id,
                now,
            )
            for r in records
        ],
    )
    names = ", ".join(RECORD_COLUMNS)
    selected = names.replace("data", "data::jsonb")
    return dict(
        tabular.rows(
            f"INSERT INTO screening_feedrecord ({names}) SELECT {selected} "  # noqa: S608 — ours
            "FROM pg_temp.feed_records_new ON CONFLICT (record_key) DO NOTHING "
            "RETURNING record_key, id"
        )
    )


# --- the run ------------------------------------------------------------------------------


def feed_batch_run(*, batch_id: int) -> FeedBatch | None:
    """Check and apply one batch (the Celery task calls this).

    Safe to call twice (a redelivered task): a finished batch is left alone. An
    unexpected error propagates with the batch still running and its file kept, so that
    the task can retry; `feed_batch_abort` ends it for good.
    """
    claimed = FeedBatch.objects.filter(
        pk=batch_id, status__in=[BatchStatus.PENDING, BatchStatus.RUNNING]
    ).update(status=BatchStatus.RUNNING, processed_rows=0)
    if not claimed:
        return None
    batch = FeedBatch.objects.select_related("department__region").get(pk=batch_id)
    with translation.override(settings.LANGUAGE_CODE):
        try:
            finished = _run(batch)
        finally:
            tabular.drop_stages(["feed_stage", "feed_records_new"])
    _delete_file(finished)
    return finished


def _run(batch: FeedBatch) -> FeedBatch:
    errors = _errors(batch)
    encoding = ""
    if _source_kind(batch) != "json":
        with batch.file.open("rb") as fileobj:
            encoding, estimate = tabular.scan(fileobj, _source_kind(batch))
        FeedBatch.objects.filter(pk=batch.pk).update(total_rows=estimate)
        batch.total_rows = estimate
    rows = _stage_file(batch, encoding, errors)
    counts = Counts()
    now = timezone.now()
    with transaction.atomic():
        locked = FeedBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status != BatchStatus.RUNNING:
            return locked
        if not errors.count:
            counts = Applier(batch, encoding, now).run()
        _finish(locked, rows, errors, counts)
    if counts.counties:
        # The rolls changed: compare the counties' declarants with them again.
        for county in sorted(counts.counties):
            civil_affairs_compare(county_code=county)
    return locked


def _finish(batch: FeedBatch, rows: int, errors: tabular.Errors, counts: Counts) -> None:
    batch.total_rows = rows
    batch.processed_rows = rows
    batch.finished_at = timezone.now()
    batch.error_count = errors.count
    batch.errors = errors.report()
    batch.status = BatchStatus.FAILED if errors.count else BatchStatus.DONE
    batch.records_new = counts.records_new
    batch.records_matched = counts.records_matched
    batch.warnings_raised = counts.warnings_raised
    batch.warnings_merged = counts.warnings_merged
    batch.save()


def feed_batch_abort(*, batch_id: int) -> None:
    """Mark a batch failed after an unexpected error (the task's last resort)."""
    with translation.override(settings.LANGUAGE_CODE):
        message = _(
            "The import stopped because of an internal error. Nothing was imported; "
            "upload the file again."
        )
    FeedBatch.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).update(
        status=BatchStatus.FAILED,
        finished_at=timezone.now(),
        error_count=1,
        errors=[{"row": 0, "field": "", "message": message}],
    )
    batch = FeedBatch.objects.filter(pk=batch_id).first()
    if batch:
        _delete_file(batch)


def _delete_file(batch: FeedBatch) -> None:
    tabular.delete_stored_file(batch, logger)


# --- receiving a batch ----------------------------------------------------------------------


def may_deliver(user, department: Department, kind: str) -> bool:
    if not (user.is_authenticated and user.is_active and department.active):
        return False
    if kind not in department.kinds:
        return False
    return user.is_superuser or department.members.filter(user=user).exists()


def feed_upload_create(
    *, actor, department: Department, kind: str, upload, inspected=None
) -> tuple[FeedBatch, bool]:
    """Store an uploaded file of a department's feed and queue its import (after
    commit). The batch id of an upload is the file's SHA-256: the same file again is
    the same batch (returned, with False), unless that one was refused — then it runs
    again, for the refusal may have been the region's (a village not yet known).
    Raises PermissionDenied or ValidationError."""
    from .tasks import import_feed

    if not may_deliver(actor, department, kind):
        raise PermissionDenied
    inspected = inspected or feed_upload_inspect(upload, kind)
    with transaction.atomic():
        batch = (
            FeedBatch.objects.select_for_update()
            .filter(department=department, batch_id=inspected.sha256)
            .first()
        )
        if batch is not None and batch.status != BatchStatus.FAILED:
            return batch, False
        batch = batch or FeedBatch(department=department, batch_id=inspected.sha256)
        batch.kind = kind
        batch.source = BatchSource.UPLOAD
        batch.status = BatchStatus.PENDING
        batch.original_name = inspected.original_name
        batch.content_digest = inspected.sha256
        batch.created_by = actor
        batch.created_at = timezone.now()
        batch.total_rows = batch.processed_rows = batch.error_count = 0
        batch.errors = []
        batch.finished_at = None
        # A name we choose: the client's name is for display only.
        batch.file.save(f"{uuid.uuid4().hex}.{inspected.kind}", File(upload), save=False)
        batch.save()
        import_feed.delay_on_commit(batch.pk)
    return batch, True


@dataclass(frozen=True)
class ApiBatch:
    batch: FeedBatch
    created: bool


class BatchConflict(Exception):
    """The batch id was used before, for other content (or another feed)."""


def feed_api_submit(*, department: Department, kind: str, batch_id: str, records: list) -> ApiBatch:
    """Store an API batch and queue it (after commit); idempotent by batch id: the
    same id with the same records is the batch already received."""
    from .tasks import import_feed

    body = json.dumps(
        {"records": records}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()
    digest = hashlib.sha256(kind.encode() + b":" + body).hexdigest()
    existing = FeedBatch.objects.filter(department=department, batch_id=batch_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                batch = FeedBatch(
                    department=department,
                    kind=kind,
                    batch_id=batch_id,
                    source=BatchSource.API,
                    content_digest=digest,
                    total_rows=len(records),
                )
                batch.file.save(f"{uuid.uuid4().hex}.json", ContentFile(body), save=False)
                batch.save()
                import_feed.delay_on_commit(batch.pk)
            return ApiBatch(batch, True)
        except IntegrityError:
            # The same batch sent twice at once: the other request stored it.
            existing = FeedBatch.objects.get(department=department, batch_id=batch_id)
    if existing.content_digest != digest or existing.kind != kind:
        raise BatchConflict
    return ApiBatch(existing, False)
