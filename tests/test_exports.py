"""Every Excel file the system hands out is made by `apps.core.xlsx.workbook`: a title
(first row, merged across the columns), the period and region, then the header, and
columns wide enough to read — opened here with openpyxl, export by export."""

import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.xlsx import MAX_WIDTH, MIN_WIDTH, text_width, workbook
from apps.households.national import COLUMNS, export_header, national_export, template_xlsx
from apps.regions.models import Role
from apps.screening import services as ss
from apps.supervision.views import figure_header

from .conftest import ANDING, TONGWEI, make_staff
from .rates_world import day
from .test_admin_duties import administrator

pytestmark = pytest.mark.django_db


def opened(content: bytes):
    return load_workbook(io.BytesIO(content)).active


def width(sheet, letter: str) -> float:
    return sheet.column_dimensions[letter].width


def assert_layout(sheet, *, title: str, period: list[str], header: list[str]):
    """Title merged over the header's columns on row 1, the period on row 2, the header
    (bold, frozen under) on row 3, every column at least as wide as its header."""
    last = sheet.cell(row=3, column=len(header)).column_letter
    assert sheet["A1"].value == title and sheet["A1"].font.bold
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert f"A1:{last}1" in merged and f"A2:{last}2" in merged
    for part in period:
        assert part in sheet["A2"].value, part
    assert [c.value for c in sheet[3]] == header
    assert all(c.font.bold for c in sheet[3])
    assert sheet.freeze_panes == "A4"
    for cell in sheet[3]:
        assert width(sheet, cell.column_letter) >= min(text_width(cell.value) + 2, MAX_WIDTH)


def test_the_helper_sizes_columns_to_their_text_chinese_counting_double():
    rows = [["甘肃省定西市安定区鲁家沟镇窝沟村", "12", 3.5], ["x", "1" * 200, None]]
    sheet = opened(workbook("标题", "统计期间", ["村", "编号", "数"], rows))
    assert_layout(sheet, title="标题", period=["统计期间"], header=["村", "编号", "数"])
    assert width(sheet, "A") == 16 * 2 + 2  # 16 Chinese characters
    assert width(sheet, "B") == MAX_WIDTH  # capped
    assert width(sheet, "C") == MIN_WIDTH  # at least
    assert [c.value for c in sheet[4]] == rows[0]


def test_an_import_template_keeps_its_header_on_the_first_row():
    sheet = opened(template_xlsx())
    assert [c.value for c in sheet[1]] == [c.header for c in COLUMNS]
    assert not sheet.merged_cells.ranges
    assert width(sheet, "A") >= text_width(COLUMNS[0].header) + 2


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_supervision_exports(client, regions, world):
    province = make_staff("province-x", regions["620000000000"], Role.PROVINCE)
    client.force_login(province)
    response = client.get(
        reverse("supervision:export", args=[ANDING]), {"start": "2026-11-01", "end": "2026-11-30"}
    )
    sheet = opened(response.content)
    assert_layout(
        sheet,
        title="安定区一键申报办理情况统计",
        period=["2026-11-01 至 2026-11-30", "区域：定西市安定区"],
        header=figure_header(),
    )
    late = opened(client.get(reverse("supervision:export_late", args=[ANDING, "accept"])).content)
    assert_layout(
        late,
        title="安定区 · 超过5日未受理",
        period=["数据截至 2026-12-01 10:00", "区域：定西市安定区"],
        header=["受理编号", "姓名", "村", "办理环节", "申报时间", "应办结日期"],
    )
    assert [r[1] for r in late.iter_rows(min_row=4, values_only=True)] == ["户3", "户5"]
    # Outside the user's subtree: no file.
    outsider = make_staff("tongwei-x", regions[TONGWEI], Role.COUNTY)
    client.force_login(outsider)
    assert client.get(reverse("supervision:export", args=[ANDING])).status_code == 404


def test_the_audit_export(client, regions, case, grid_wogou):
    auditor = administrator(regions, Role.AUDIT_ADMIN)
    record(Action.REVEAL, actor=grid_wogou, target=case, field="phone")
    client.force_login(auditor)
    today = timezone.localdate().isoformat()
    response = client.get(
        reverse("admin:audit_auditentry_export"), {"q": "grid-wogou", "at__gte": today}
    )
    sheet = opened(response.content)
    assert_layout(
        sheet,
        title="审计日志",
        period=[f"统计期间：{today} 起"],
        header=["时间", "用户名", "IP地址", "操作", "对象", "结果", "详情"],
    )
    assert sheet["B4"].value == "grid-wogou"


def test_the_national_and_civil_affairs_exports(regions, case):
    clerk = make_staff("anding-national", regions[ANDING], Role.COUNTY)
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    content, _export = national_export(actor=clerk, county=regions[ANDING], start=start, end=end)
    assert_layout(
        opened(content),
        title="监测对象信息变更（录入全国系统）",
        period=["2026-01-01 至 2026-12-31", "区域：安定区"],
        header=export_header(),
    )
    export = ss.civil_affairs_export(county=regions[ANDING])
    with export.file.open("rb") as stored:
        sheet = load_workbook(stored).active
    assert sheet["A1"].value == "供民政比对的申报名单"
    assert "区域：安定区" in sheet["A2"].value
    assert [c.value for c in sheet[3]][:3] == ["受理编号", "姓名", "身份证号"]
    assert sheet["A4"].value == case.tracking_number
    assert width(sheet, "C") >= 18 + 2  # the 18-digit ID number reads whole
