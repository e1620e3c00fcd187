"""Every figure on the worker's and the supervisor's pages says what it is, also on a
phone, where a list's header row is hidden and each cell shows its `data-label`: the
warning's risk score (one tap from its reasons), the case lists' due dates and tracking
numbers, the dashboard's totals and its received-by-channel table."""

import re

import pytest
import time_machine
from django.urls import reverse

from apps.declarations.models import Channel
from apps.regions.models import Role
from apps.screening.models import Warning

from .conftest import make_staff
from .rates_world import ANDING, day
from .screening_steps import person, roster_household
from .test_screening import raise_medical

pytestmark = pytest.mark.django_db
NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}


def rows_of(page: str, marker: str) -> list[str]:
    """The body rows of the first table after `marker`."""
    table = page[page.index(marker) :]
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)


def bare_cells(row: str) -> list[str]:
    """Cells holding a figure with no label of their own (a data-label, or words)."""
    bare = []
    for attrs, content in re.findall(r"<td([^>]*)>(.*?)</td>", row, re.S):
        text = re.sub(r"<[^>]+>", "", content).strip()
        if re.fullmatch(r"[\d\s.%—-]+", text or "x") and "data-label" not in attrs:
            bare.append(text)
    return bare


def test_the_workers_warning_list_labels_the_score_and_links_its_reasons(
    regions, batch, grid_wogou, client
):
    raise_medical(batch, person(roster_household(regions, serials=(1,)), serial=1))
    warning = Warning.objects.get()
    client.force_login(grid_wogou)
    page = client.get(reverse("staff:home")).content.decode()
    [row] = rows_of(page, 'id="warnings"')
    link = reverse("screening:warning", args=[warning.pk]) + "#score"
    assert f'<a href="{link}"><strong>风险评分 {warning.score}</strong></a>' in row
    assert bare_cells(row) == []
    # The reasons are there, at the anchor.
    assert 'id="score"' in client.get(link.split("#")[0]).content.decode()


def test_the_workers_case_list_labels_each_cell(client, grid_wogou, case):
    client.force_login(grid_wogou)
    for name in ("staff:home", "staff:queue"):
        page = client.get(reverse(name), {"stage": case.state}).content.decode()
        [row] = rows_of(page, '<table class="list cases">')
        assert f'data-label="受理编号">{case.tracking_number_display}<' in row
        assert 'data-label="剩余时限"' in row and "到期" in row
        assert bare_cells(row) == []


@time_machine.travel(day(12, 1, 10), tick=False)
def test_the_dashboard_labels_its_totals_and_channels(client, regions, world):
    client.force_login(make_staff("province-sup", regions["620000000000"], Role.PROVINCE))
    page = client.get(reverse("supervision:region", args=[ANDING]), NOVEMBER).content.decode()
    for marker in ('<table class="list figures">', '<table class="list figures channels">'):
        rows = rows_of(page, marker)
        assert rows and all(bare_cells(r) == [] for r in rows), marker
    channels = rows_of(page, '<table class="list figures channels">')[-1]
    for label in Channel.labels:
        assert f'data-label="{label}"' in channels
