"""The county's approval list in the admin reads as the rest of the system: each column
named for what it holds (the time of submission is not named after a state),
difficulties and risk types in Chinese, tracking numbers spaced in groups of four."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from apps.households.models import MonitoredHousehold

from .test_county_admin import act_url, clerk, ready  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:declarations_declaration_changelist")


def headers(page: str) -> list[str]:
    head = re.search(r"<thead>(.*?)</thead>", page, re.S).group(1)
    cells = re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)
    return [re.sub(r"<[^>]+>|\s+", "", c) for c in cells][1:]  # after the tick box


def spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def test_the_approval_list_names_each_column(client, clerk, ready):  # noqa: F811
    client.force_login(clerk)
    page = client.get(CHANGELIST).content.decode()
    columns = headers(page)
    assert columns[0] == "受理编号" and columns[-1] == "申报时间"
    assert "已提交（待受理）" not in columns  # a state, not the time of submission
    for column in ("姓名", "村", "乡镇", "办理状态", "困难类型", "截止日期", "剩余时限"):
        assert column in columns, columns
    # The row: the tracking number spaced as on every page, the difficulty in Chinese,
    # the time of submission as a time.
    row = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    assert spaced(ready.tracking_number) in row and " " in spaced(ready.tracking_number)
    assert ready.tracking_number not in row.replace(spaced(ready.tracking_number), "")
    assert "因病" in row
    assert "illness" not in row and "[&quot;" not in row
    local = timezone.localtime(ready.submitted_at)
    assert f"{local:%Y}年{local.month}月{local.day}日" in row


def test_the_case_page_shows_risk_types_in_chinese(client, clerk, ready):  # noqa: F811
    client.force_login(clerk)
    page = client.get(
        reverse("admin:declarations_declaration_change", args=[ready.pk])
    ).content.decode()
    assert "核实的风险类型" in page  # the visit's column
    assert "illness" not in page and "[&quot;illness&quot;]" not in page
    assert spaced(ready.tracking_number) in page
    assert "申报时间" in page and "已提交（待受理）</label>" not in page


def test_the_monitored_household_shows_risk_types_in_chinese(client, clerk, ready):  # noqa: F811
    client.force_login(clerk)
    client.post(act_url(ready, "county_approve"))
    household = MonitoredHousehold.objects.get()
    clerk.user_permissions.add(Permission.objects.get(codename="view_monitoredhousehold"))
    assert household.risk_types == ["illness"]
    page = client.get(
        reverse("admin:households_monitoredhousehold_change", args=[household.pk])
    ).content.decode()
    assert "风险类型" in page and "illness" not in page
