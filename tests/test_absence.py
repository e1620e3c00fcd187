"""A grid worker's absence: the substitute gets the village's SMS and reminders and may
act on its cases while it lasts, and only then; notices routed by village group."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import Action, AuditEntry
from apps.core.errors import NotPermitted
from apps.declarations import services as s
from apps.declarations.models import Declaration, State
from apps.declarations.services.reminders import deadlines_sweep
from apps.notifications.models import Message
from apps.regions.models import Absence, Role, StaffMembership
from apps.regions.services import absence_end, absence_record, notice_recipients

from .conftest import (
    ID_A,
    ID_B,
    WOGOU,
    XIANGQUAN_VILLAGE,
    declaration_input,
    make_staff,
)

pytestmark = pytest.mark.django_db

CST = dt.timezone(dt.timedelta(hours=8))
WORKER, SUBSTITUTE, TOWNSHIP = "13800138000", "13900139000", "13700137000"
ID_C = "621102197002021033"


def at(*args):
    return dt.datetime(*args, tzinfo=CST)


def d(month, day):
    return dt.date(2026, month, day)


def absent(regions, grid_wogou, substitute, start, end):
    """grid_wogou away from `start` to `end`, `substitute` standing in."""
    return Absence.objects.create(
        user=grid_wogou,
        substitute=substitute,
        region=regions[WOGOU],
        start=start,
        end=end,
        created_by=grid_wogou,
    )


def submit(regions, when, **kw):
    with time_machine.travel(when, tick=False):
        return s.declaration_submit(
            village=regions[WOGOU], data=declaration_input(**kw)
        ).declaration


def recipients(template, declaration=None):
    messages = Message.objects.filter(template=template)
    if declaration is not None:
        messages = messages.filter(subject__startswith=f"declaration:{declaration.pk}")
    return sorted(m.recipient for m in messages)


# --- notices and reminders ------------------------------------------------------------------


def test_the_new_case_sms_goes_to_the_substitute_during_the_absence_only(
    regions, grid_wogou, grid_taiping
):
    absent(regions, grid_wogou, grid_taiping, d(11, 3), d(11, 5))
    before = submit(regions, at(2026, 11, 2, 9), id_number=ID_A)
    during = submit(regions, at(2026, 11, 5, 18), id_number=ID_B)
    after = submit(regions, at(2026, 11, 6, 9), id_number=ID_C)
    assert recipients("grid_new_declaration", before) == [WORKER]
    assert recipients("grid_new_declaration", during) == [SUBSTITUTE]
    assert recipients("grid_new_declaration", after) == [WORKER]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (d(11, 9), d(11, 12), WORKER),  # the absence has not begun on the reminder's day
        (d(11, 5), d(11, 7), SUBSTITUTE),  # it runs that day
        (d(11, 2), d(11, 5), WORKER),  # it is over
    ],
)
def test_the_reminder_goes_to_whoever_holds_the_village_that_day(
    regions, grid_wogou, grid_taiping, start, end, expected
):
    submit(regions, at(2026, 11, 2, 9))  # verify due Mon 9 Nov: reminded Fri 6 Nov
    absent(regions, grid_wogou, grid_taiping, start, end)
    with time_machine.travel(at(2026, 11, 6, 10), tick=False):
        deadlines_sweep()
    assert recipients("deadline_tomorrow") == [expected]


def test_a_breach_during_the_absence_tells_the_substitute_and_the_township(
    regions, grid_wogou, grid_taiping, township_lujiagou
):
    submit(regions, at(2026, 11, 2, 9))
    absent(regions, grid_wogou, grid_taiping, d(11, 9), d(11, 12))
    with time_machine.travel(at(2026, 11, 10, 10), tick=False):
        deadlines_sweep()
    assert recipients("deadline_breached") == [SUBSTITUTE]
    assert recipients("deadline_breached_above") == [TOWNSHIP]


def test_an_absence_whose_worker_left_the_village_or_whose_substitute_left_does_not_route(
    regions, grid_wogou, grid_taiping
):
    absent(regions, grid_wogou, grid_taiping, d(11, 1), d(11, 30))
    with time_machine.travel(at(2026, 11, 10, 10), tick=False):
        assert notice_recipients(regions[WOGOU]) == [SUBSTITUTE]
        User.objects.filter(pk=grid_taiping.pk).update(is_active=False)
        assert notice_recipients(regions[WOGOU]) == [WORKER]


# --- acting on the village's cases -------------------------------------------------------------


def test_the_substitute_acts_on_the_village_s_cases_during_the_absence_and_not_after(
    client, regions, grid_wogou, grid_taiping
):
    case = submit(regions, at(2026, 11, 2, 9))
    absent(regions, grid_wogou, grid_taiping, d(11, 3), d(11, 5))
    url = reverse("staff:detail", args=[case.tracking_number])
    client.force_login(grid_taiping)

    with time_machine.travel(at(2026, 11, 2, 15), tick=False):  # before
        assert client.get(url).status_code == 404
        with pytest.raises(NotPermitted):
            s.declaration_accept(declaration=case, actor=User.objects.get(pk=grid_taiping.pk))

    with time_machine.travel(at(2026, 11, 4, 10), tick=False):  # during
        assert client.get(url).status_code == 200
        home = client.get(reverse("staff:home")).content.decode()
        assert case.tracking_number_display in home
        assert "代班：窝沟村 grid-wogou" in home
        response = client.post(reverse("staff:act", args=[case.tracking_number, "accept"]))
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == State.ACCEPTED

    with time_machine.travel(at(2026, 11, 6, 10), tick=False):  # after
        assert client.get(url).status_code == 404
        substitute = User.objects.get(pk=grid_taiping.pk)
        assert not Declaration.objects.visible_to(substitute).filter(pk=case.pk).exists()
        with pytest.raises(NotPermitted):
            s.declaration_village_reject(declaration=case, actor=substitute, reason="不符合")
    case.refresh_from_db()
    assert case.state == State.ACCEPTED


# --- routing by village group -----------------------------------------------------------------


def test_notices_go_to_the_grid_worker_covering_the_case_s_group(regions, grid_wogou):
    StaffMembership.objects.filter(user=grid_wogou).update(groups="1组、2组")
    other = make_staff("grid-wogou-2", regions[WOGOU], Role.GRID, mobile="13500135000")
    StaffMembership.objects.filter(user=other).update(groups="3组, 4组")

    third = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=ID_A, address_group="３组")
    ).declaration
    first = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=ID_B, address_group="1组")
    ).declaration
    nobody = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=ID_C, address_group="王家社")
    ).declaration

    assert recipients("grid_new_declaration", third) == ["13500135000"]
    assert recipients("grid_new_declaration", first) == [WORKER]
    assert recipients("grid_new_declaration", nobody) == sorted([WORKER, "13500135000"])


def test_a_group_s_absent_worker_is_replaced_by_their_substitute(regions, grid_wogou, grid_taiping):
    StaffMembership.objects.filter(user=grid_wogou).update(groups="1组")
    other = make_staff("grid-wogou-2", regions[WOGOU], Role.GRID, mobile="13500135000")
    StaffMembership.objects.filter(user=other).update(groups="3组")
    absent(regions, grid_wogou, grid_taiping, d(11, 1), d(11, 30))
    case = submit(regions, at(2026, 11, 10, 9), address_group="1组")
    assert recipients("grid_new_declaration", case) == [SUBSTITUTE]


def test_reminders_follow_the_case_s_group(regions, grid_wogou):
    StaffMembership.objects.filter(user=grid_wogou).update(groups="1组")
    other = make_staff("grid-wogou-2", regions[WOGOU], Role.GRID, mobile="13500135000")
    StaffMembership.objects.filter(user=other).update(groups="3组")
    submit(regions, at(2026, 11, 2, 9), address_group="3组")
    with time_machine.travel(at(2026, 11, 6, 10), tick=False):
        deadlines_sweep()
    assert recipients("deadline_tomorrow") == ["13500135000"]


# --- recording an absence ---------------------------------------------------------------------

URL = "/staff/regions/absences/"


def form(regions, worker, substitute, start, end):
    membership = StaffMembership.objects.get(user=worker, region=regions[WOGOU], role=Role.GRID)
    return {
        "membership": membership.pk,
        "substitute": substitute.pk,
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


@time_machine.travel(at(2026, 11, 2, 9), tick=False)
def test_the_township_records_an_absence_and_it_is_logged(
    client, regions, grid_wogou, grid_taiping, township_lujiagou
):
    assert reverse("regions:absences") == URL
    client.force_login(township_lujiagou)
    response = client.post(URL, form(regions, grid_wogou, grid_taiping, d(11, 3), d(11, 5)))
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.user, absence.substitute, absence.region.code) == (
        grid_wogou,
        grid_taiping,
        WOGOU,
    )
    assert (absence.start, absence.end, absence.created_by) == (
        d(11, 3),
        d(11, 5),
        township_lujiagou,
    )
    entry = AuditEntry.objects.get(action=Action.ROLE_CHANGE, actor=township_lujiagou)
    assert entry.detail["substitute"] == "grid-taiping"
    page = client.get(URL).content.decode()
    assert "grid-taiping" in page and "grid-wogou" in page


@time_machine.travel(at(2026, 11, 2, 9), tick=False)
def test_a_grid_worker_records_their_own_absence_but_not_a_colleague_s(
    client, regions, grid_wogou, grid_taiping
):
    client.force_login(grid_wogou)
    assert (
        client.post(URL, form(regions, grid_wogou, grid_taiping, d(11, 3), d(11, 4))).status_code
        == 302
    )
    colleague = make_staff("grid-wogou-2", regions[WOGOU], Role.GRID, mobile="13500135000")
    response = client.post(URL, form(regions, colleague, grid_taiping, d(11, 10), d(11, 12)))
    assert response.status_code == 400
    assert "membership" in response.context["form"].errors
    assert Absence.objects.count() == 1
    with pytest.raises(NotPermitted):
        absence_record(
            actor=grid_wogou,
            membership=StaffMembership.objects.get(user=colleague),
            substitute=grid_taiping,
            start=d(11, 10),
            end=d(11, 12),
        )


@time_machine.travel(at(2026, 11, 2, 9), tick=False)
@pytest.mark.parametrize(
    ("start", "end", "who", "field", "message"),
    [
        (d(11, 1), d(11, 4), "taiping", "start", "不能从过去"),
        (d(11, 5), d(11, 4), "taiping", "end", "不能早于"),
        (d(11, 3), d(11, 4), "xiangquan", "substitute", "同一乡镇"),
        (d(11, 3), d(11, 4), "self", "substitute", "其他人"),
        (d(11, 8), d(11, 12), "taiping", "start", "已有"),  # overlaps the one below
    ],
)
def test_bad_absences_are_refused_at_the_field_in_chinese(
    client, regions, grid_wogou, grid_taiping, township_lujiagou, start, end, who, field, message
):
    absent(regions, grid_wogou, grid_taiping, d(11, 10), d(11, 20))
    xiangquan = make_staff("grid-xiangquan", regions[XIANGQUAN_VILLAGE], Role.GRID)
    substitute = {"taiping": grid_taiping, "xiangquan": xiangquan, "self": grid_wogou}[who]
    client.force_login(township_lujiagou)
    data = form(regions, grid_wogou, grid_taiping, start, end)
    data["substitute"] = substitute.pk
    if who == "xiangquan":
        # Not offered by the form; the service refuses it all the same.
        with pytest.raises(s.InvalidInput) as refused:
            absence_record(
                actor=township_lujiagou,
                membership=StaffMembership.objects.get(user=grid_wogou),
                substitute=xiangquan,
                start=start,
                end=end,
            )
        assert message in str(refused.value.message)
        return
    response = client.post(URL, data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in errors[field][0], errors
    assert Absence.objects.count() == 1


def test_an_absence_ended_early_stops_the_substitution(regions, grid_wogou, grid_taiping):
    with time_machine.travel(at(2026, 11, 2, 9), tick=False):
        absence = absence_record(
            actor=grid_wogou,
            membership=StaffMembership.objects.get(user=grid_wogou),
            substitute=grid_taiping,
            start=d(11, 2),
            end=d(11, 20),
        )
    with time_machine.travel(at(2026, 11, 5, 9), tick=False):
        assert notice_recipients(regions[WOGOU]) == [SUBSTITUTE]
        with pytest.raises(NotPermitted):
            absence_end(actor=User.objects.get(pk=grid_taiping.pk), absence=absence)
        absence_end(actor=grid_wogou, absence=absence)
        absence.refresh_from_db()
        assert absence.end == d(11, 4)
        assert notice_recipients(regions[WOGOU]) == [WORKER]


def test_absences_are_scoped(client, regions, grid_wogou, grid_taiping):
    absent(regions, grid_wogou, grid_taiping, d(11, 3), d(11, 5))
    xiangquan = make_staff("grid-xiangquan", regions[XIANGQUAN_VILLAGE], Role.GRID)
    with time_machine.travel(at(2026, 11, 2, 9), tick=False):
        client.force_login(xiangquan)
        page = client.get(URL).content.decode()
        assert "grid-wogou" not in page
        absence = Absence.objects.get()
        assert client.post(reverse("regions:absence_end", args=[absence.pk])).status_code == 404
        client.force_login(grid_taiping)  # the substitute sees it
        assert "grid-wogou" in client.get(URL).content.decode()
