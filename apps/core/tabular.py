"""Tabular uploads: CSV or Excel .xlsx with Chinese column names, as an office saves
them from Excel or WPS, for the imports (`apps.core.imports`). The .xlsx files the
system hands out are made by `apps.core.xlsx`.

A file is checked before it is stored (`upload_inspect`: size, type, encoding, zip
bombs, the header row), read back as a stream of rows (`read_rows`), its cells read by
column (`RowChecker`), and the bad rows collected (`Errors`).
"""

import codecs
import csv
import datetime as dt
import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from apps.core import crypto
from apps.core.identity import validate_id_number
from apps.core.uploads import sanitise_filename

MAX_ERRORS = 300
# An .xlsx is a zip: refuse archives that unpack to more than this (zip bombs), and
# shared-string tables bigger than this, which openpyxl holds in memory.
XLSX_MAX_UNPACKED = 1024 * 1024 * 1024
XLSX_MAX_SHARED_STRINGS = 100 * 1024 * 1024
XLSX_MAX_RATIO = 200
SNIFF_BYTES = 64 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the name in the template; data, hence a Chinese literal
    aliases: tuple[str, ...] = ()
    required: bool = False
    max_length: int = 0


def template_csv(columns: Sequence[Column]) -> bytes:
    """The header row, UTF-8 with a BOM so that Excel opens it in Chinese."""
    out = io.StringIO()
    csv.writer(out).writerow([c.header for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- the upload -----------------------------------------------------------------------


@dataclass(frozen=True)
class InspectedUpload:
    kind: str  # "csv" or "xlsx"
    sha256: str
    original_name: str


def upload_inspect(upload, *, columns: Sequence[Column], max_bytes: int) -> InspectedUpload:
    """Check an uploaded table before it is stored: size, type, encoding, header.

    Reads the file in chunks (never whole). Raises ValidationError (codes ``empty``,
    ``too_large``, ``unsupported_type``, ``xls``, ``xlsx_bomb``, ``xlsx_corrupt``,
    ``encoding``, ``headers``) with a message for the upload field.
    """
    if upload.size is not None and upload.size > max_bytes:
        raise _too_large(max_bytes)
    digest = hashlib.sha256()
    size = 0
    upload.seek(0)
    head = b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    for chunk in upload.chunks():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        digest.update(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        if utf8_ok:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                utf8_ok = False
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    name = sanitise_filename(upload.name or "")
    upload.seek(0)
    if head.startswith(b"PK\x03\x04"):
        check_xlsx(upload)
        upload.seek(0)
        headers = xlsx_header(upload)
        kind = "xlsx"
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            _(
                "This is an old Excel file (.xls). Open it in Excel or WPS and save it as .xlsx or CSV."
            ),
            code="xls",
        )
    else:
        if b"\x00" in head:
            raise unsupported()
        if utf8_ok:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
        encoding = "utf-8-sig" if utf8_ok else "gb18030"
        if not utf8_ok:
            try:
                # Cut at the last newline: a chunk may end inside a character.
                head[: head.rfind(b"\n") + 1 or len(head)].decode("gb18030")
            except UnicodeDecodeError:
                raise ValidationError(
                    _("The file is not text in UTF-8 or GB18030. Save it from Excel as CSV."),
                    code="encoding",
                ) from None
        kind = "csv"
        headers = csv_header(head, encoding)
    upload.seek(0)
    missing = missing_columns(columns, map_headers(headers, columns))
    if missing:
        raise ValidationError(
            _(
                "The first row must name the columns; missing: %(columns)s. Download the "
                "template to see them."
            ),
            code="headers",
            params={"columns": "、".join(missing)},
        )
    return InspectedUpload(kind=kind, sha256=digest.hexdigest(), original_name=name)


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        _(
            "The file is larger than %(limit)s MB. Split it by township or village and import the parts."
        ),
        code="too_large",
        params={"limit": f"{limit / (1024 * 1024):.0f}"},
    )


def unsupported() -> ValidationError:
    return ValidationError(
        _("Only CSV files and Excel workbooks (.xlsx) can be imported."), code="unsupported_type"
    )


def xlsx_corrupt() -> ValidationError:
    return ValidationError(
        _("This Excel file is damaged or is not a workbook."), code="xlsx_corrupt"
    )


def check_xlsx(fileobj) -> None:
    """Refuse zip bombs from the archive's directory, before anything is unpacked.

    zipfile never inflates an entry beyond its declared size (it stops there and the
    CRC check fails), so bounding the declared sizes bounds the work.
    """
    try:
        with zipfile.ZipFile(fileobj) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise xlsx_corrupt() from None
    names = {e.filename for e in entries}
    if "xl/workbook.xml" not in names:
        raise unsupported()
    total = sum(e.file_size for e in entries)
    too_packed = any(
        e.file_size > 10 * 1024 * 1024 and e.file_size > XLSX_MAX_RATIO * max(e.compress_size, 1)
        for e in entries
    )
    shared = sum(e.file_size for e in entries if e.filename == "xl/sharedStrings.xml")
    if total > XLSX_MAX_UNPACKED or too_packed or shared > XLSX_MAX_SHARED_STRINGS:
        raise ValidationError(
            _(
                "This Excel file unpacks to far more data than it holds and cannot be "
                "imported. Save it as CSV and import that."
            ),
            code="xlsx_bomb",
        )


def normalise_header(value) -> str:
    text = unicodedata.normalize("NFKC", str(value or ""))
    return "".join(text.split()).strip("*＊")


def map_headers(headers: list, columns: Sequence[Column]) -> dict[str, int]:
    """Column key -> index, from the names in the header row (first occurrence wins)."""
    names = {}
    for column in columns:
        for name in (column.header, *column.aliases):
            names.setdefault(normalise_header(name), column.key)
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = names.get(normalise_header(header))
        if key and key not in found:
            found[key] = index
    return found


def missing_columns(columns: Sequence[Column], found: dict[str, int]) -> list[str]:
    return [c.header for c in columns if c.required and c.key not in found]


def csv_dialect(first_line: str) -> str:
    # Excel saves "CSV" with commas; some exports are tab-separated.
    return "\t" if "\t" in first_line and "," not in first_line else ","


def csv_header(head: bytes, encoding: str) -> list[str]:
    text = head.decode(encoding, errors="ignore")
    first_line = text.splitlines()[0] if text else ""
    try:
        return next(csv.reader([first_line], delimiter=csv_dialect(first_line)), [])
    except csv.Error:
        return []


def open_workbook(fileobj):
    import openpyxl

    try:
        return openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
    except Exception:
        # openpyxl fails on broken archives and XML with many kinds of error.
        raise xlsx_corrupt() from None


def xlsx_header(fileobj) -> list:
    workbook = open_workbook(fileobj)
    try:
        sheet = workbook.worksheets[0]
        return list(next(sheet.iter_rows(max_row=1, values_only=True), ()))
    except Exception:
        raise xlsx_corrupt() from None
    finally:
        workbook.close()


# --- reading rows -----------------------------------------------------------------------


def cell(value) -> str:
    """A cell as text: Excel's numbers without ".0", dates as ISO text."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class FileUnreadable(Exception):
    def __init__(self, row: int, message: str):
        super().__init__(message)
        self.row = row
        self.message = message


def csv_rows(fileobj, encoding: str) -> Iterator[tuple[int, list]]:
    text = io.TextIOWrapper(fileobj, encoding=encoding, errors="strict", newline="")
    rownum = 1
    try:
        first = text.readline()
        delimiter = csv_dialect(first)
        reader = csv.reader(text, delimiter=delimiter)
        yield rownum, next(csv.reader([first], delimiter=delimiter), [])
        for row in reader:
            rownum = reader.line_num + 1
            yield rownum, row
    except UnicodeDecodeError:
        raise FileUnreadable(
            rownum + 1, _("From this row on the file is not text in UTF-8 or GB18030.")
        ) from None
    except csv.Error:
        raise FileUnreadable(
            rownum + 1,
            _("This row cannot be read: a quote is not closed or a cell is far too long."),
        ) from None
    finally:
        text.detach()


def xlsx_rows(fileobj) -> Iterator[tuple[int, list]]:
    workbook = open_workbook(fileobj)
    try:
        for rownum, row in enumerate(workbook.worksheets[0].iter_rows(values_only=True), 1):
            yield rownum, list(row)
    except FileUnreadable:
        raise
    except Exception:
        raise FileUnreadable(0, str(xlsx_corrupt().messages[0])) from None
    finally:
        workbook.close()


def read_rows(fileobj, kind: str, encoding: str) -> Iterator[tuple[int, list]]:
    """(row number, cells) of every row, the header row first."""
    return xlsx_rows(fileobj) if kind == "xlsx" else csv_rows(fileobj, encoding)


def is_blank(values: list) -> bool:
    return not any(cell(v) for v in values)  # blank lines, as Excel leaves at the end


def scan(fileobj, kind: str) -> tuple[str, int]:
    """The encoding of a CSV, and the rows below the header for the progress bar
    (newlines in a CSV, the dimension of an Excel sheet; exact once the file is read)."""
    if kind == "xlsx":
        workbook = open_workbook(fileobj)
        try:
            return "", max((workbook.worksheets[0].max_row or 1) - 1, 0)
        except Exception:
            return "", 0
        finally:
            workbook.close()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, lines, last = True, 0, b"\n"
    for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
        lines += chunk.count(b"\n")
        last = chunk[-1:]
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    # Excel in China saves "CSV" in GB18030 (GBK); everything else is UTF-8.
    return ("utf-8-sig" if utf8 else "gb18030"), max(lines - (last == b"\n"), 0)


# --- bad rows ---------------------------------------------------------------------------


@dataclass
class Errors:
    """Every error counted, the first MAX_ERRORS kept (rows come in order). `headers`
    turns a column key into the column's name in the file."""

    headers: dict[str, str] = field(default_factory=dict)
    count: int = 0
    kept: list = field(default_factory=list)

    def add(self, row: int, key_or_header: str, message: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS:
            header = self.headers.get(key_or_header, key_or_header)
            self.kept.append({"row": row, "field": header, "message": str(message)})

    def report(self) -> list[dict]:
        return sorted(self.kept, key=lambda e: e["row"])[:MAX_ERRORS]


class RowChecker:
    """Reads the cells of a row by column key, with the columns' own checks (required,
    length). A subclass checks what the cells say."""

    keep_dates = False  # an Excel date cell as a date, else as text

    def __init__(self, columns: Sequence[Column], found: dict[str, int], errors: Errors):
        self.errors = errors
        self.found = found
        self.indexes = [(c, found.get(c.key)) for c in columns]

    def cells(self, rownum: int, values: list) -> dict:
        n = len(values)
        cells = {}
        for column, index in self.indexes:
            value = values[index] if index is not None and index < n else ""
            if self.keep_dates and isinstance(value, dt.date):
                cells[column.key] = value
                continue
            if type(value) is not str:
                value = cell(value)
            if not value.isascii():
                # Full-width digits and letters, as Chinese input methods type them.
                value = unicodedata.normalize("NFKC", value)
            value = value.strip()
            if column.required and not value:
                self.errors.add(rownum, column.key, _("This cell is empty; it is required."))
            elif column.max_length and len(value) > column.max_length:
                self.errors.add(
                    rownum,
                    column.key,
                    _("At most %(limit)d characters (here %(length)d).")
                    % {"limit": column.max_length, "length": len(value)},
                )
                value = value[: column.max_length]
            cells[column.key] = value
        return cells


class PersonRowChecker(RowChecker):
    """A RowChecker for files that list people by ID number (the population roster,
    the national system's file): the keyed hash and the encryption are set up once per
    file, and an ID number Excel stored as a number is explained, not just refused."""

    def __init__(self, *args):
        super().__init__(*args)
        self.id_index = self.found.get("id_number")
        self.hash = crypto.keyed_hasher("id")  # = apps.core.identity.id_hash
        self.encrypt = crypto.encrypter()

    def id_number(self, rownum: int, values: list, text: str) -> tuple[str | None, str | None]:
        """(keyed hash, encrypted number) of the row's ID number, or (None, None)."""
        if not text:
            return None, None
        try:
            number = validate_id_number(text)
        except ValidationError as exc:
            raw = values[self.id_index] if self.id_index < len(values) else None
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                message = _(
                    "Excel stored this ID number as a number and lost its last digits. "
                    "Format the column as text and type the numbers again."
                )
            else:
                message = exc.messages[0]
            self.errors.add(rownum, "id_number", message)
            return None, None
        # Encrypted only while the file is still clean: a failed file writes nothing.
        return self.hash(number), (None if self.errors.count else self.encrypt(number))
