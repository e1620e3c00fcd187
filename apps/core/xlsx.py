"""The Excel files the system hands out, all made here: a title (first row, merged
across the columns), the period and region (second row), then the header (bold,
frozen) and the rows, with each column as wide as its widest cell (a Chinese character
counts two), so that a file opens readable in Excel or WPS without resizing anything.

An import template is the one exception, without title rows: the imports read the
header from the first row (`apps.core.tabular`)."""

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence

import openpyxl
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

MIN_WIDTH = 8
MAX_WIDTH = 60
TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)


def text_width(value) -> int:
    """How many Latin characters wide the cell's text is: East Asian wide and
    full-width characters count two."""
    if value is None:
        return 0
    if isinstance(value, float):
        value = f"{value:g}"
    longest = 0
    for line in str(value).splitlines() or [""]:
        width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
        longest = max(longest, width)
    return longest


def _sheet_title(text: str) -> str:
    # Excel refuses these in a sheet's name, and more than 31 characters.
    return re.sub(r"[\[\]:*?/\\]", "", text)[:31] or "Sheet1"


def period_line(
    *,
    region: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
    at: dt.datetime | None = None,
) -> str:
    """The second row: the period (or the moment the figures are as of) and region."""
    parts = []
    if start and end:
        parts.append(
            _("Period: %(start)s to %(end)s") % {"start": start.isoformat(), "end": end.isoformat()}
        )
    elif start:
        parts.append(_("Period: from %(start)s") % {"start": start.isoformat()})
    elif end:
        parts.append(_("Period: up to %(end)s") % {"end": end.isoformat()})
    if at is not None or not parts:
        at = timezone.localtime(at or timezone.now())
        parts.append(_("As of %(at)s") % {"at": f"{at:%Y-%m-%d %H:%M}"})
    if region:
        parts.append(_("Region: %(region)s") % {"region": region})
    return "　".join(parts)


def workbook(
    title: str | None,
    period: str | None,
    header: Sequence[str],
    rows: Iterable[Sequence],
    *,
    sheet_name: str = "",
    more: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]] = (),
) -> bytes:
    """An .xlsx: title, period, header, rows (see the module's docstring). Without a
    title (an import template) the header is the first row. `more`: further sheets, each
    (sheet name, header, rows), under the same title and period."""
    book = openpyxl.Workbook()
    sheets = [(sheet_name or title or "Sheet1", header, rows), *more]
    for i, (name, head, body) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        sheet.title = _sheet_title(name)
        _fill(sheet, title, period, head, body)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fill(sheet, title: str | None, period: str | None, header, rows) -> None:
    span = max(len(header), 1)
    top = 0
    for text, font in ((title, TITLE_FONT), (period, None)):
        if not title or text is None:
            continue
        top += 1
        sheet.append([text])
        sheet.merge_cells(start_row=top, start_column=1, end_row=top, end_column=span)
        cell = sheet.cell(row=top, column=1)
        cell.alignment = Alignment(horizontal="center" if font else "left", vertical="center")
        if font:
            cell.font = font
            sheet.row_dimensions[top].height = 24
    sheet.append(list(header))
    for cell in sheet[top + 1]:
        cell.font = BOLD
    widths = [text_width(h) for h in header]
    for row in rows:
        row = list(row)
        sheet.append(row)
        for i, value in enumerate(row):
            width = text_width(value)
            if i >= len(widths):
                widths.append(width)
            elif width > widths[i]:
                widths[i] = width
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(
            max(MIN_WIDTH, width + 2), MAX_WIDTH
        )
    sheet.freeze_panes = f"A{top + 2}"
