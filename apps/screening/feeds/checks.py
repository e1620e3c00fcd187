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

from ..models import FeedBatch, FieldType
from .schemas import Spec

MAX_AMOUNT = Decimal("100000000")  # yuan: anything above is a typing error
MAX_INTEGER = 10**9
DATE_RE = re.compile(r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?(?:[ T].*)?$")


class RowChecker(tabular.RowChecker):
    """Checks the rows of one batch by its definition's fields; the key material and
    the regions are read once."""

    keep_dates = True  # an Excel date cell

    def __init__(self, batch: FeedBatch, spec: Spec, found: dict[str, int], errors: tabular.Errors):
        super().__init__(spec.columns(), found, errors)
        self.batch = batch
        self.spec = spec
        self.hash = crypto.keyed_hasher("id")
        self.today = timezone.localdate()
        self.key_prefix = f"{batch.department_id}:{spec.code}:"
        self.regions: dict[str, int] = {}
        if spec.key_of(FieldType.REGION):
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
        data, id_hash, prefix, name = {}, None, None, None
        for f in self.spec.fields:
            value = cells[f.key]
            if value in ("", None):
                if f.type == FieldType.NAME:
                    name = ""
                elif f.type != FieldType.ID_NUMBER:
                    data[f.key] = None
                continue
            if f.type == FieldType.ID_NUMBER:
                id_hash = self._id(rownum, f.key, value)
            elif f.type == FieldType.NAME:
                name = value
            elif f.type == FieldType.REGION:
                data[f.key], prefix = self._region(rownum, f.key, value)
            else:
                data[f.key] = getattr(self, "_" + f.type)(rownum, f.key, value)
        for f in self.spec.fields:
            if f.not_above and data.get(f.key) and data.get(f.not_above):
                if Decimal(data[f.key]) > Decimal(data[f.not_above]):
                    other = next(g.label for g in self.spec.fields if g.key == f.not_above)
                    self.errors.add(
                        rownum,
                        f.key,
                        _("This amount exceeds %(other)s.") % {"other": other},
                    )
        if self.errors.count:
            return None
        content = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        key = hashlib.sha256(f"{self.key_prefix}{id_hash or ''}:{content}".encode()).hexdigest()
        if name:
            data["name"] = name  # shown to the village; not part of the key
        return (rownum, id_hash, prefix, key, json.dumps(data, ensure_ascii=False))

    # Cells.

    def _id(self, rownum: int, key: str, text: str) -> str | None:
        try:
            return self.hash(validate_id_number(text))
        except ValidationError as exc:
            self.errors.add(rownum, key, exc.messages[0])
            return None

    def _region(self, rownum: int, key: str, text) -> tuple[str, str | None]:
        code = fold(str(text))
        if not (len(code) == 12 and is_ascii_digits(code)):
            self.errors.add(rownum, key, _("A region code has 12 digits."))
        elif code not in self.regions:
            self.errors.add(
                rownum,
                key,
                _("No region with the code %(code)s lies within %(region)s.")
                % {"code": code, "region": self.batch.department.region.name},
            )
        else:
            return code, code[: PREFIX_LENGTH[Level(self.regions[code])]]
        return code, None

    def _text(self, rownum: int, key: str, text) -> str:
        return str(text)

    def _choice(self, rownum: int, key: str, text):
        choice = self.spec.choice(key, text)
        if choice is None:
            self.errors.add(
                rownum,
                key,
                _("Unknown value “%(value)s”; write one of: %(choices)s.")
                % {
                    "value": text,
                    "choices": "、".join(c.label for c in self.spec.choices[key]),
                },
            )
            return None
        return choice.stored

    def _integer(self, rownum: int, key: str, text) -> int | None:
        text = str(text).replace(",", "")
        if text.endswith(".0"):
            text = text[:-2]  # a number cell of a spreadsheet
        if not (is_ascii_digits(text.removeprefix("-")) and text.removeprefix("-")):
            self.errors.add(rownum, key, _("Write a whole number, e.g. 3."))
            return None
        if abs(int(text)) >= MAX_INTEGER:
            self.errors.add(rownum, key, _("This number is implausibly large."))
            return None
        return int(text)

    def _money(self, rownum: int, key: str, text) -> str | None:
        amount = self._amount(rownum, key, text)
        return None if amount is None else str(amount)

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
