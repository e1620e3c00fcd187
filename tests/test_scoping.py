"""A user sees and acts on their own region's subtree only."""

import pytest
from django.urls import reverse

from apps.declarations.models import Declaration
from apps.declarations.services import declaration_submit
from apps.notifications.models import Message
from apps.regions.models import Region, Role

from .conftest import (
    DONGGUAN,
    ID_B,
    TAIPING,
    WOGOU,
    XIANGQUAN_VILLAGE,
    declaration_input,
    make_staff,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(regions):
    ids = {WOGOU: "62110219800101107X", TAIPING: ID_B, XIANGQUAN_VILLAGE: "621121197503150023"}
    from apps.core.identity import id_check_digit

    body = "62112119660606002"
    ids[DONGGUAN] = body + id_check_digit(body)
    return {
        code: declaration_submit(
            village=regions[code], data=declaration_input(id_number=id_number)
        ).declaration
        for code, id_number in ids.items()
    }


def visible_codes(user):
    return set(Declaration.objects.visible_to(user).values_list("region_code", flat=True))


def test_a_grid_worker_sees_only_their_village(grid_wogou, cases):
    assert visible_codes(grid_wogou) == {WOGOU}


def test_a_grid_worker_gets_404_for_another_village_s_case(client, grid_wogou, cases):
    client.force_login(grid_wogou)
    assert (
        client.get(reverse("staff:detail", args=[cases[WOGOU].tracking_number])).status_code == 200
    )
    other = cases[TAIPING].tracking_number
    assert client.get(reverse("staff:detail", args=[other])).status_code == 404
    assert client.post(reverse("staff:reveal", args=[other, "phone"])).status_code == 404
    assert other not in client.get(reverse("staff:home")).content.decode()


def test_a_township_sees_its_own_villages_only(client, township_lujiagou, cases):
    assert visible_codes(township_lujiagou) == {WOGOU, TAIPING}
    client.force_login(township_lujiagou)
    page = client.get(reverse("staff:home")).content.decode()
    assert (
        cases[WOGOU].tracking_number_display in page
        and cases[TAIPING].tracking_number_display in page
    )
    assert cases[XIANGQUAN_VILLAGE].tracking_number_display not in page
    assert (
        client.get(reverse("staff:detail", args=[cases[DONGGUAN].tracking_number])).status_code
        == 404
    )


def test_a_county_sees_its_county_and_a_province_sees_everything(
    county_tongwei, province_user, cases
):
    assert visible_codes(county_tongwei) == {DONGGUAN}
    assert visible_codes(province_user) == set(cases)


def test_an_outsider_and_an_anonymous_visitor_get_nothing(client, outsider, cases):
    assert visible_codes(outsider) == set()
    client.force_login(outsider)
    assert (
        client.get(reverse("staff:detail", args=[cases[WOGOU].tracking_number])).status_code == 404
    )
    assert (
        "declarations" not in client.get(reverse("staff:home")).context
        or not client.get(reverse("staff:home")).context["rows"]
    )
    client.logout()
    response = client.get(reverse("staff:detail", args=[cases[WOGOU].tracking_number]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_deactivated_membership_or_user_sees_nothing(grid_wogou, cases):
    grid_wogou.memberships.update(is_active=False)
    grid_wogou._memberships = None
    assert visible_codes(grid_wogou) == set()


def test_department_staff_do_not_see_cases(regions, cases):
    user = make_staff("medical-insurance", regions["621102000000"], Role.DEPARTMENT)
    assert visible_codes(user) == set()


def test_a_user_with_two_villages_sees_both(regions, cases):
    user = make_staff("two-villages", regions[WOGOU], Role.GRID)
    from apps.regions.models import StaffMembership

    StaffMembership.objects.create(user=user, region=regions[XIANGQUAN_VILLAGE], role=Role.GRID)
    assert visible_codes(user) == {WOGOU, XIANGQUAN_VILLAGE}


def test_admin_lists_are_scoped(client, regions, cases):
    from django.contrib.auth.models import Permission

    clerk = make_staff("anding-clerk", regions["621102000000"], Role.COUNTY)
    clerk.is_staff = True
    clerk.save()
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_declaration", "view_message", "view_region"])
    )
    client.force_login(clerk)
    page = client.get(
        reverse("admin:declarations_declaration_changelist") + "?queue=all"
    ).content.decode()
    # Tracking numbers as shown everywhere: in groups of four.
    shown = {code: case.tracking_number_display for code, case in cases.items()}
    assert shown[WOGOU] in page and shown[XIANGQUAN_VILLAGE] in page
    assert shown[DONGGUAN] not in page and cases[DONGGUAN].tracking_number not in page
    other = cases[DONGGUAN]
    assert (
        client.get(reverse("admin:declarations_declaration_change", args=[other.pk])).status_code
        == 302
    )
    messages = client.get(reverse("admin:notifications_message_changelist")).context["cl"].queryset
    assert set(messages.values_list("region_code", flat=True)) == {
        WOGOU,
        TAIPING,
        XIANGQUAN_VILLAGE,
    }
    assert Message.objects.filter(region_code=DONGGUAN).exists()
    regions_seen = client.get(reverse("admin:regions_region_changelist")).context["cl"].queryset
    assert all(r.code.startswith("621102") for r in regions_seen)
    # Accounts are provincial administrators' business.
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


def test_qr_codes_and_posters_are_scoped(client, township_lujiagou, regions):
    client.force_login(township_lujiagou)
    listing = client.get(reverse("regions:qr_list")).content.decode()
    assert "窝沟村" in listing and "香泉村" not in listing
    assert client.get(reverse("regions:qr_svg", args=[WOGOU])).status_code == 200
    assert client.get(reverse("regions:qr_svg", args=[XIANGQUAN_VILLAGE])).status_code == 404
    assert client.get(reverse("regions:posters", args=["621102101000"])).status_code == 404
    posters = client.get(reverse("regions:posters", args=["621102100000"]))
    assert (
        len(posters.context["pages"])
        == Region.objects.filter(parent__code="621102100000").count()
        == 5
    )
