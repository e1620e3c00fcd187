"""The supervision pages: drill-down, scoping, named lists, Excel and the bulletin."""

import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from apps.regions.models import Role

from .conftest import make_staff
from .rates_world import ANDING, LUJIAGOU, WOGOU, XIANGQUAN, day

pytestmark = pytest.mark.django_db

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def province(regions):
    return make_staff("province-sup", regions["620000000000"], Role.PROVINCE)


@time_machine.travel(day(12, 1, 10), tick=False)
def test_a_province_user_drills_down_to_a_village(client, province, world):
    client.force_login(province)
    start = client.get(reverse("supervision:start"))
    assert start.status_code == 302 and start["Location"].endswith("/supervision/620000000000/")
    for code in ("620000000000", "621100000000", ANDING, LUJIAGOU, WOGOU):
        response = client.get(reverse("supervision:region", args=[code]), NOVEMBER)
        assert response.status_code == 200, code
    county = client.get(reverse("supervision:region", args=[ANDING]), NOVEMBER)
    page = county.content.decode()
    assert "鲁家沟镇" in page and "60.0%" in page and "57.1%" in page
    assert reverse("supervision:region", args=[LUJIAGOU]) in page
    assert "<svg" in page and "户3" in page and "户6" in page


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_excel_export_has_the_table(client, province, world):
    client.force_login(province)
    response = client.get(reverse("supervision:export", args=[ANDING]), NOVEMBER)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))  # under title and period
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["鲁家沟镇"][1] == 3 and by_name["香泉镇"][1] == 2
    total = rows[-1]
    assert total[1:4] == (5, 3, 60.0) and total[8] == 57.1
    late = client.get(reverse("supervision:export_late", args=[ANDING, "accept"]))
    names = [
        r[1]
        for r in load_workbook(io.BytesIO(late.content)).active.iter_rows(
            min_row=4, values_only=True
        )
    ]
    assert names == ["户3", "户5"]


@time_machine.travel(day(12, 1, 10), tick=False)
def test_a_township_sees_its_own_subtree_only(client, regions, world):
    township = make_staff("xiangquan-sup", regions[XIANGQUAN], Role.TOWNSHIP)
    client.force_login(township)
    assert client.get(reverse("supervision:region", args=[XIANGQUAN]), NOVEMBER).status_code == 200
    for code in (ANDING, LUJIAGOU, WOGOU):
        assert client.get(reverse("supervision:region", args=[code])).status_code == 404
        assert client.get(reverse("supervision:export", args=[code])).status_code == 404
    page = client.get(reverse("supervision:region", args=[XIANGQUAN]), NOVEMBER).content.decode()
    assert "户5" in page and "户3" not in page


def test_an_outsider_gets_nothing(client, outsider, world):
    client.force_login(outsider)
    assert client.get(reverse("supervision:start")).status_code == 404
    assert client.get(reverse("supervision:region", args=[ANDING])).status_code == 404


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_bulletin_prints_and_a_bad_period_is_a_field_error(client, province, world):
    client.force_login(province)
    bulletin = client.get(reverse("supervision:bulletin", args=[ANDING]), NOVEMBER)
    assert bulletin.status_code == 200 and "bulletin.css" in bulletin.content.decode()
    bad = client.get(
        reverse("supervision:region", args=[ANDING]), {"start": "2026-12-01", "end": "2026-11-01"}
    )
    assert bad.status_code == 200 and bad.context["form"].errors["end"]
    assert client.get(reverse("supervision:late", args=[ANDING, "nonsense"])).status_code == 404
