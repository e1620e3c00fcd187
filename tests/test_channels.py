"""Declarations staff enter from other channels (cadre visit, 12317 hotline, paper), and
the dashboards' figures by channel."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action, AuditEntry
from apps.core.errors import NotPermitted
from apps.deadlines.models import Clock, Stage
from apps.declarations.models import STAFF_CHANNELS, Channel, Declaration, State
from apps.declarations.services import (
    SUBJECT,
    authorization_missing,
    declaration_enter,
    declaration_submit,
)
from apps.notifications.models import Message
from apps.supervision.selectors import Period, region_figures, region_figures_live
from apps.supervision.summaries import figures_refresh

from .conftest import (
    ANDING,
    ID_A,
    ID_B,
    LUJIAGOU,
    TAIPING,
    WOGOU,
    XIANGQUAN_VILLAGE,
    declaration_input,
    form_data,
)

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
URL = "/staff/new/"
LABELS = {Channel.VISIT: "干部走访", Channel.HOTLINE: "12317热线", Channel.PAPER: "纸质申请"}


def staff_form(**overrides) -> dict:
    data = form_data(**{"channel": Channel.HOTLINE.value, **overrides})
    data.pop("consent")
    return data


def post(client, user, regions, village=WOGOU, **overrides):
    client.force_login(user)
    return client.post(URL, staff_form(village=regions[village].pk, **overrides))


def test_the_page_is_where_the_staff_url_says(regions):
    assert reverse("staff:enter") == URL


@pytest.mark.parametrize("channel", STAFF_CHANNELS)
def test_township_staff_enter_a_declaration_on_each_channel(
    client, regions, grid_wogou, township_lujiagou, channel
):
    response = post(client, township_lujiagou, regions, channel=channel.value)

    declaration = Declaration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:detail", args=[declaration.tracking_number])
    assert declaration.channel == channel
    assert declaration.created_by == township_lujiagou
    assert (declaration.state, declaration.region_code) == (State.SUBMITTED, WOGOU)
    assert declaration.id_number == ID_A and declaration.phone == "13912345678"
    # The same clocks as a declaration from the form.
    assert set(
        Clock.objects.for_subject(SUBJECT, declaration.pk).values_list("stage", flat=True)
    ) == {Stage.VERIFY, Stage.ENROL}
    # The village hears of it, and the applicant gets the tracking number.
    assert sorted(Message.objects.values_list("template", flat=True)) == [
        "applicant_receipt",
        "grid_new_declaration",
    ]
    # Nobody ticked a box: the case waits for the household's signed letter.
    assert not declaration.consents.exists()
    assert authorization_missing(declaration)
    page = client.get(response["Location"]).content.decode()
    assert LABELS[channel] in page
    assert "township-lujiagou" in page  # entered by


def test_a_grid_worker_enters_one_for_their_own_village_only(client, regions, grid_wogou):
    client.force_login(grid_wogou)
    form = client.get(URL).context["form"]
    assert [v.code for v in form.fields["village"].queryset] == [WOGOU]
    assert post(client, grid_wogou, regions, channel=Channel.VISIT).status_code == 302
    assert Declaration.objects.get().created_by == grid_wogou


def test_a_village_outside_one_s_area_is_refused_and_nothing_is_saved(
    client, regions, grid_taiping
):
    response = post(client, grid_taiping, regions, village=WOGOU)
    assert response.status_code == 400
    assert CJK.search(response.context["form"].errors["village"][0])
    assert not Declaration.objects.exists() and not Message.objects.exists()
    # The service refuses too, whatever page calls it.
    with pytest.raises(NotPermitted):
        declaration_enter(
            village=regions[WOGOU],
            data=declaration_input(),
            channel=Channel.PAPER,
            actor=grid_taiping,
        )
    assert not Declaration.objects.exists()


def test_supervisors_and_outsiders_have_no_such_page(client, province_user, outsider):
    for user in (province_user, outsider):
        client.force_login(user)
        assert client.get(URL).status_code == 404


def test_the_form_channel_cannot_be_claimed_by_staff(regions, grid_wogou):
    with pytest.raises(ValueError):
        declaration_enter(
            village=regions[WOGOU], data=declaration_input(), channel=Channel.QR, actor=grid_wogou
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id_number": "621102198001011071"}, "id_number"),
        ({"phone": "1391234"}, "phone"),
        ({"name": "x"}, "name"),
        ({"difficulties": None}, "difficulties"),
        ({"channel": Channel.QR.value}, "channel"),
        ({"on_behalf": "on"}, "declarant_name"),
    ],
)
def test_bad_input_is_a_chinese_message_at_the_field(client, regions, grid_wogou, overrides, field):
    response = post(client, grid_wogou, regions, **overrides)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert CJK.search(errors[field][0]), errors[field]
    assert not Declaration.objects.exists() and not Message.objects.exists()


def test_a_person_with_a_case_in_progress_gets_no_second_one(client, regions, grid_wogou):
    existing = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    Message.objects.all().delete()

    response = post(client, grid_wogou, regions, channel=Channel.PAPER)

    assert response.status_code == 409
    assert Declaration.objects.get() == existing
    assert not Message.objects.exists()
    page = response.content.decode()
    # The worker may see the case: the page links to it, and the look is logged.
    assert reverse("staff:detail", args=[existing.tracking_number]) in page
    assert AuditEntry.objects.filter(
        action=Action.VIEW, actor=grid_wogou, target=f"declarations.declaration:{existing.pk}"
    ).exists()


def test_the_duplicate_answer_shows_nothing_of_a_case_outside_one_s_area(
    client, regions, grid_taiping
):
    existing = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration

    response = post(client, grid_taiping, regions, village=TAIPING, channel=Channel.VISIT)

    assert response.status_code == 409
    assert Declaration.objects.get() == existing
    page = response.content.decode()
    assert existing.tracking_number not in page
    assert existing.tracking_number_display not in page
    assert "范围" in page  # "outside your area"


def test_a_double_tap_enters_once(client, regions, grid_wogou):
    first = post(client, grid_wogou, regions, id_number=ID_B)
    second = post(client, grid_wogou, regions, id_number=ID_B)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Declaration.objects.count() == 1


# --- dashboards by channel ----------------------------------------------------------------


def test_the_dashboards_count_received_declarations_by_channel(
    client, regions, grid_wogou, township_lujiagou, county_anding
):
    ids = iter(["110101199003070012", "110101199003070032", "110101199003070052"])
    declaration_submit(village=regions[WOGOU], data=declaration_input())  # QR
    declaration_submit(
        village=regions[TAIPING],
        data=declaration_input(
            id_number=ID_B,
            on_behalf=True,
            declarant_name="魏明",
            declarant_phone="13911112222",
            declarant_relation="儿子",
        ),
    )  # proxy
    for village, channel in (
        (WOGOU, Channel.HOTLINE),
        (TAIPING, Channel.HOTLINE),
        (XIANGQUAN_VILLAGE, Channel.PAPER),
    ):
        declaration_enter(
            village=regions[village],
            data=declaration_input(id_number=next(ids)),
            channel=channel,
            actor=county_anding,
        )
    figures_refresh(since=None)
    period = Period.this_year(timezone.localdate())

    total, rows = region_figures(region=regions[ANDING], period=period)
    expected = {"qr": 1, "proxy": 1, "visit": 0, "hotline": 2, "paper": 1, "warning": 0}
    assert total.by_channel == expected and total.received == 5
    by_township = {r.region.code: r.figures.by_channel for r in rows}
    assert by_township[LUJIAGOU] == {**expected, "paper": 0}
    # The summaries give what the cases give.
    live_total, live_rows = region_figures_live(region=regions[ANDING], period=period)
    assert live_total.by_channel == total.by_channel
    assert [r.figures.by_channel for r in live_rows] == [r.figures.by_channel for r in rows]

    client.force_login(county_anding)
    page = client.get(reverse("supervision:region", args=[ANDING])).content.decode()
    assert "按申报渠道统计受理数" in page and "12317热线" in page and "纸质申请" in page
