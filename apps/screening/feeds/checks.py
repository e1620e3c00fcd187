"""One row of a feed checked: ID check digit, dates not in the future, amounts, grades,
lengths, region codes inside the department's region. What the row says is staged
with the keyed hash of the ID number in place of the number: **plaintext ID numbers are
never staged**."""

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import crypto, tabular
from apps.core.identity import fold, is_ascii_digits, validate_id_number
from apps.regions.models import PREFIX_LENGTH, Level, Region

from ..models import FeedBatch, FeedKind
from .schemas import ASSISTANCE, ASSISTANCE_WORDS, GRADES, SCHEMAS, SEVERITIES

MAX_AMOUNT = Decimal("100000000")  # yuan: anything above is a typing error
DATE_RE = re.compile(r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T].*)?$")


class RowChecker(tabular.RowChecker):
    """Checks the rows of one batch; the key material and the regions are read once."""

    keep_dates = True  # an Excel date cell

    def __init__(self, batch: FeedBatch, found: dict[str, int], errors: tabular.Errors):
        super().__init__(SCHEMAS[batch.kind], found, errors)
        self.batch = batch
        self.kind = batch.kind
        self.hash = crypto.keyed_hasher("id")
        self.today = timezone.localdate()
        self.key_prefix = f"{batch.department_id}:{self.kind}:"
        self.regions: dict[str, int] = {}
        if self.kind == FeedKind.DISASTER:
            prefix = batch.department.region_prefix
            self.regions = dict(
                Region.objects.filter(code__startswith=prefix).values_list("code", "level")
            )

    def check(self, rownum: int, values: list | None) -> tuple | None:
        """Check one row; the tuple to stage, or None when the row is bad (reported) or
        an earlier one was: once the file is bad nothing will be written."""
        if values is None:
            self.errors.add(rownum, "", _("A record must be a JSON object."))
            return None
        before = self.errors.count
        cells = self.cells(rownum, values)
        if self.errors.count > before:
            return None
        data, id_hash, prefix = getattr(self, "_" + self.kind)(rownum, cells)
        if self.errors.count:
            return None
        content = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        key = hashlib.sha256(f"{self.key_prefix}{id_hash or ''}:{content}".encode()).hexdigest()
        if "name" in cells:
            data["name"] = cells["name"]  # shown to the village; not part of the key
        return (rownum, id_hash, prefix, key, json.dumps(data, ensure_ascii=False))

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
        if not (len(code) == 12 and is_ascii_digits(code)):
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
