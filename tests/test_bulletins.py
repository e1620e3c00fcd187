"""Issued bulletins: numbered per office and year without gaps (also when two issue at
once), dated and signed by the region's office, archived as they were at issue, and
listed for the staff they are issued to — scoped like everything else."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from apps.audit.models import Action, AuditEntry
from apps.regions.models import Region, Role
from apps.supervision.bulletins import bulletin_issue
from apps.supervision.models import Bulletin, BulletinSequence
from apps.supervision.summaries import figures_refresh

from .conftest import TONGWEI, make_staff
from .rates_world import ANDING, LUJIAGOU, WOGOU, XIANGQUAN, case, day

pytestmark = pytest.mark.django_db

NOVEMBER = "?start=2026-11-01&end=2026-11-30"
NOW = day(12, 1, 10)


def issue_url(code, query=NOVEMBER):
    return reverse("supervision:bulletin_issue", args=[code]) + query


@pytest.fixture
def county(regions):
    return make_staff("anding-county", regions[ANDING], Role.COUNTY)


@pytest.fixture
def township(regions):
    return make_staff("lujiagou-township", regions[LUJIAGOU], Role.TOWNSHIP)


def issue(client, user, code=ANDING, query=NOVEMBER):
    client.force_login(user)
    return client.post(issue_url(code, query))


@time_machine.travel(NOW, tick=False)
def test_the_county_issues_numbered_dated_bulletins(client, county, world):
    response = issue(client, county)
    assert response.status_code == 302
    first = Bulletin.objects.get()
    assert response["Location"] == reverse("supervision:bulletin_issued", args=[first.pk])
    assert (first.number, first.office, first.issued_on) == (
        "〔2026〕1号",
        "安定区乡村振兴局",
        dt.date(2026, 12, 1),
    )
    assert first.issued_by == county
    assert (first.period_start, first.period_end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert first.figures["received"] == 5 and first.figures["closed"] == 3
    page = client.get(response["Location"]).content.decode()
    assert "安定区乡村振兴局" in page and "〔2026〕1号" in page and "2026年12月1日" in page
    assert "关于安定区“一键申报”办理情况的通报" in page
    issue(client, county)
    assert [b.number for b in Bulletin.objects.order_by("serial")] == ["〔2026〕1号", "〔2026〕2号"]
    # Each issue, with the names its lists carry, is in the audit log: who, which.
    entries = AuditEntry.objects.filter(action=Action.EXPORT, detail__kind="bulletin")
    assert sorted((e.actor, e.target, e.detail["number"]) for e in entries) == [
        (county, f"supervision.bulletin:{b.pk}", str(b)) for b in Bulletin.objects.order_by("pk")
    ]


@time_machine.travel(NOW, tick=False)
def test_each_office_numbers_its_own_and_the_year_starts_again(client, county, township, world):
    issue(client, county)
    issue(client, township, code=LUJIAGOU)
    mine = Bulletin.objects.get(region__code=LUJIAGOU)
    assert (mine.number, mine.office) == ("〔2026〕1号", "鲁家沟镇乡村振兴办公室")
    with time_machine.travel(day(12, 31, 23), tick=False):
        issue(client, county)
    with time_machine.travel(dt.datetime(2027, 1, 4, 9, tzinfo=NOW.tzinfo), tick=False):
        issue(client, county)
    assert [b.number for b in Bulletin.objects.filter(region__code=ANDING).order_by("pk")] == [
        "〔2026〕1号",
        "〔2026〕2号",
        "〔2027〕1号",
    ]


@time_machine.travel(NOW, tick=False)
def test_an_issued_bulletin_keeps_its_content_when_the_data_changes(client, regions, county, world):
    issue(client, county)
    bulletin = Bulletin.objects.get()
    # A late entry for November: the live bulletin changes, the issued one does not.
    d = dt.date
    case(
        regions,
        99,
        WOGOU,
        day(11, 25, 9),
        "submitted",
        (d(2026, 12, 2), None, False, None),
        (d(2026, 12, 16), None, False, None),
    )
    figures_refresh(since=None)
    live = client.get(reverse("supervision:bulletin", args=[ANDING]) + NOVEMBER)
    assert live.context["total"].received == 6
    issued = client.get(reverse("supervision:bulletin_issued", args=[bulletin.pk]))
    assert issued.content.decode().count("户99") == 0
    bulletin.refresh_from_db()
    assert bulletin.figures["received"] == 5
    # Nor can anyone change or delete it, even in SQL.
    for change in (
        lambda: Bulletin.objects.filter(pk=bulletin.pk).update(content="改写"),
        lambda: Bulletin.objects.filter(pk=bulletin.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()


@time_machine.travel(NOW, tick=False)
def test_a_failed_issue_gives_its_number_back(regions, county, world):
    with pytest.raises(TypeError):
        bulletin_issue(
            region=regions[ANDING],
            actor=county,
            title="通报",
            period_start=dt.date(2026, 11, 1),
            period_end=dt.date(2026, 11, 30),
            figures={"received": object()},  # not JSON: the INSERT fails
            content="",
        )
    assert not Bulletin.objects.exists()
    assert not AuditEntry.objects.filter(detail__kind="bulletin").exists()
    assert not BulletinSequence.objects.filter(last__gt=0).exists()
    made = bulletin_issue(
        region=regions[ANDING],
        actor=county,
        title="通报",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 30),
        figures={},
        content="",
    )
    assert made.number == "〔2026〕1号"


@pytest.mark.django_db(transaction=True)
def test_two_issued_at_once_get_consecutive_numbers(regions):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    users = [make_staff(f"anding-{i}", regions[ANDING], Role.COUNTY) for i in range(4)]
    county = Region.objects.get(code=ANDING)
    start = threading.Barrier(len(users))
    numbers, errors = [], []

    def issue_one(user):
        try:
            start.wait()
            made = bulletin_issue(
                region=county,
                actor=user,
                title="通报",
                period_start=dt.date(2026, 11, 1),
                period_end=dt.date(2026, 11, 30),
                figures={},
                content="",
            )
            numbers.append(made.serial)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue_one, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]
    assert BulletinSequence.objects.get().last == 4


@time_machine.travel(NOW, tick=False)
def test_only_the_regions_own_township_or_higher_staff_issue(
    client, regions, county, township, world
):
    grid = make_staff("grid-wogou-b", regions[WOGOU], Role.GRID)
    province = make_staff("province-b", regions["620000000000"], Role.PROVINCE)
    assert issue(client, grid).status_code == 404  # the county is not the grid's to see
    assert issue(client, township).status_code == 404  # nor the township's
    assert issue(client, county, code=LUJIAGOU).status_code == 403  # below: not its office
    assert issue(client, province).status_code == 403  # above: not its office either
    assert issue(client, grid, code=WOGOU).status_code == 403  # a village issues none
    assert not Bulletin.objects.exists()
    # The button is there for those who may issue only.
    client.force_login(county)
    assert issue_url(ANDING) in client.get(
        reverse("supervision:bulletin", args=[ANDING]) + NOVEMBER
    ).content.decode().replace("&amp;", "&")
    client.force_login(province)
    page = client.get(reverse("supervision:bulletin", args=[ANDING]) + NOVEMBER)
    assert reverse("supervision:bulletin_issue", args=[ANDING]) not in page.content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_bad_period_is_refused_with_a_message_and_nothing_issued(client, county, world):
    response = issue(client, county, query="?start=2026-12-01&end=2026-11-01")
    assert response.status_code == 400
    assert "结束日期早于开始日期" in response.content.decode()
    assert not Bulletin.objects.exists() and not BulletinSequence.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_the_subtrees_staff_see_the_bulletins_issued_to_them(
    client, regions, county, township, world
):
    issue(client, county)
    issue(client, township, code=LUJIAGOU)
    by_county = Bulletin.objects.get(region__code=ANDING)
    by_township = Bulletin.objects.get(region__code=LUJIAGOU)
    grid = make_staff("grid-wogou-c", regions[WOGOU], Role.GRID)
    xiangquan = make_staff("xiangquan-t", regions[XIANGQUAN], Role.TOWNSHIP)
    province = make_staff("province-c", regions["620000000000"], Role.PROVINCE)
    outsider = make_staff("tongwei-c", regions[TONGWEI], Role.COUNTY)

    def listed(user):
        client.force_login(user)
        response = client.get(reverse("supervision:bulletins"))
        assert response.status_code == 200
        return set(response.context["page"].object_list)

    assert listed(grid) == {by_county, by_township}  # to their county and township
    assert listed(xiangquan) == {by_county}  # the county's; not another township's
    assert listed(county) == {by_county, by_township}  # its own, and its subtree's
    assert listed(province) == {by_county, by_township}  # supervises the subtree
    assert listed(outsider) == set()
    client.force_login(outsider)
    detail = reverse("supervision:bulletin_issued", args=[by_county.pk])
    assert client.get(detail).status_code == 404
    client.force_login(xiangquan)
    assert client.get(detail).status_code == 200
    page = client.get(reverse("supervision:bulletins")).content.decode()
    assert "〔2026〕1号" in page and "安定区乡村振兴局" in page
