"""The worker pages: what grid workers and township staff see and press."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.core.identity import id_check_digit
from apps.declarations import services as s
from apps.declarations.models import Declaration, State, VisitDocument
from apps.households.models import MonitoredHousehold, MonitoringThreshold
from apps.regions.models import Role

from .conftest import ANDING, ID_A, ID_B, PROVINCE, WOGOU, declaration_input, make_staff
from .prg_steps import error_messages, refusal_shown, succeeded
from .review_steps import member_post, to_county, to_notice, to_township, visit_by_steps

pytestmark = pytest.mark.django_db


def url(name, case, *args):
    return reverse(f"staff:{name}", args=[case.tracking_number, *args])


def jpeg(name="photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_the_whole_village_and_township_path_through_the_pages(
    client, regions, case, grid_wogou, township_lujiagou
):
    MonitoringThreshold.objects.create(
        county=regions[ANDING], year=timezone.localdate().year, amount=Decimal(7000)
    )
    client.force_login(grid_wogou)
    page = client.get(url("detail", case)).content.decode()
    assert url("act", case, "accept") in page and url("act", case, "township_approve") not in page
    assert succeeded(client, client.post(url("act", case, "accept")))

    assert client.get(url("visit", case))["Location"] == url("visit_step", case, "date")
    assert client.get(url("visit_step", case, "date")).status_code == 200
    assert visit_by_steps(client, case).status_code == 302
    assert Declaration.objects.get(pk=case.pk).state == State.VERIFIED

    # The household's signed letter, then the information compared three days later.
    assert succeeded(client, client.post(url("upload", case), {"kind": "consent", "file": jpeg()}))
    compared_on = (timezone.localdate() - dt.timedelta(days=17)).isoformat()
    response = client.post(url("income", case), {"household_size": "2", "compared_on": compared_on})
    assert response.status_code == 302
    today = timezone.localdate()
    response = client.post(
        url("evaluation", case),
        {
            "evaluation_date": (today - dt.timedelta(days=15)).isoformat(),
            "outcome": "agreed",
            "notice_start": (today - dt.timedelta(days=14)).isoformat(),
            "notice_end": (today - dt.timedelta(days=8)).isoformat(),
            "minutes": jpeg("minutes.jpg"),
        },
    )
    assert response.status_code == 302
    assert VisitDocument.objects.get(kind="minutes")
    # Without the ID card's photo the case is not passed up.
    assert succeeded(client, client.post(url("upload", case), {"kind": "hukou", "file": jpeg()}))
    response = client.post(url("act", case, "pass_to_township"))
    assert refusal_shown(client, response, to=url("detail", case)) == "请先上传：身份证。"
    assert succeeded(client, client.post(url("upload", case), {"kind": "id_card", "file": jpeg()}))
    assert succeeded(client, client.post(url("act", case, "pass_to_township")))

    client.force_login(township_lujiagou)
    queue = client.get(reverse("staff:queue")).content.decode()
    assert case.name in queue
    response = client.post(
        url("property", case),
        {
            "vehicles_checked": "on",
            "vehicles": "无",
            "housing_checked": "on",
            "housing": "土坯房",
            "business_checked": "on",
            "business": "无",
        },
    )
    assert response.status_code == 302
    assert succeeded(client, client.post(url("act", case, "township_approve")))
    assert Declaration.objects.get(pk=case.pk).state == State.COUNTY_REVIEW
    timeline = client.get(url("detail", case)).content.decode()
    for label in ("已受理", "乡镇复核中", "待县级审批"):
        assert label in timeline
    assert not MonitoredHousehold.objects.exists()


def test_a_button_the_user_may_not_press_is_refused_with_403_and_nothing_changes(
    client, case, township_lujiagou
):
    client.force_login(township_lujiagou)  # sees the case, is not its village
    response = client.post(url("act", case, "accept"))
    assert "您无权" in refusal_shown(client, response, to=url("detail", case))
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED


def test_another_village_gets_404(client, case, grid_taiping):
    client.force_login(grid_taiping)
    for name in ("detail", "visit", "income"):
        assert client.get(url(name, case)).status_code == 404
    assert client.post(url("act", case, "accept")).status_code == 404
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED


def test_a_wrong_state_is_409(client, case, grid_wogou):
    client.force_login(grid_wogou)
    client.post(url("act", case, "accept"))
    response = client.post(url("act", case, "accept"))
    assert refusal_shown(client, response, to=url("detail", case)) == (
        "这件申报当前所处环节不能执行此操作。"
    )


def test_a_reject_without_a_reason_is_a_field_error(client, case, grid_wogou):
    client.force_login(grid_wogou)
    client.post(url("act", case, "accept"))
    response = client.post(url("act", case, "village_reject"), {"reason": ""})
    assert response.status_code == 400
    assert response.context["reason_form"].errors["reason"]
    assert Declaration.objects.get(pk=case.pk).state == State.ACCEPTED


def test_a_visit_form_with_bad_members_keeps_everything_and_saves_nothing(client, case, grid_wogou):
    client.force_login(grid_wogou)
    client.post(url("act", case, "accept"))
    members = [
        {"name": "魏家常", "relation": "户主", "labour_capacity": "partial"},
        {"name": "李梅", "relation": "配偶", "labour_capacity": "none"},
    ]
    members[0]["id_number"] = "621102199005050031"  # a wrong check digit
    response = client.post(url("visit_step", case, "members"), member_post(members))
    assert response.status_code == 400
    assert response.context["members"].forms[0].errors["id_number"]
    # What was typed comes back, and nothing is saved.
    assert response.context["members"].forms[1]["name"].value() == "李梅"
    assert not case.visits.exists() and not case.visit_drafts.exists()
    response = client.post(url("visit_step", case, "date"), {"visit_date": "2099-01-01"})
    assert response.status_code == 400 and "visit_date" in response.context["form"].errors
    # The visit itself refuses missing members: recorded only once they are given.
    assert visit_by_steps(client, case, members=[]).status_code == 400
    assert not case.visits.exists()


def test_hostile_uploads_are_refused_at_the_field(client, case, grid_wogou):
    client.force_login(grid_wogou)
    fake = SimpleUploadedFile(
        "photo.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg"
    )
    response = client.post(url("upload", case), {"kind": "hukou", "file": fake})
    assert response.status_code == 400
    assert response.context["document_form"].errors["file"]
    assert not VisitDocument.objects.exists()


def test_documents_are_served_only_within_scope(client, case, grid_wogou, grid_taiping):
    client.force_login(grid_wogou)
    client.post(url("upload", case), {"kind": "consent", "file": jpeg()})
    document = VisitDocument.objects.get()
    response = client.get(reverse("staff:document", args=[document.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"Exif" not in b"".join(response.streaming_content)
    client.force_login(grid_taiping)
    assert client.get(reverse("staff:document", args=[document.pk])).status_code == 404


def test_search_by_tracking_number_name_and_id_number_within_scope(
    client, case, grid_wogou, grid_taiping
):
    client.force_login(grid_wogou)
    for q in (case.tracking_number_display, "魏家", ID_A.lower()):
        results = client.get(reverse("staff:search"), {"q": q}).context["results"]
        assert [d.pk for d in results] == [case.pk], q
    client.force_login(grid_taiping)
    assert list(client.get(reverse("staff:search"), {"q": ID_A}).context["results"]) == []


def test_the_home_page_lists_the_most_urgent_first_with_days_left(
    client, regions, grid_wogou, case
):
    newer = s.declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(id_number="621102199005050038", name="李秀兰", phone="13700001111"),
    ).declaration
    client.force_login(grid_wogou)
    response = client.get(reverse("staff:home"))
    rows = response.context["page"].object_list
    assert [r.declaration.pk for r in rows] == [case.pk, newer.pk]
    assert rows[0].mark.status == "overdue" and rows[1].mark.status == "on_time"
    assert rows[1].mark.working_days >= 4
    assert "逾期" in response.content.decode()


def test_a_grid_worker_s_home_with_200_open_cases_takes_a_fixed_number_of_queries(
    client, regions, grid_wogou, django_assert_max_num_queries
):
    for i in range(200):
        body = f"6211021970{i % 12 + 1:02d}{i % 28 + 1:02d}{i:03d}"
        s.declaration_submit(
            village=regions[WOGOU],
            data=declaration_input(id_number=body + id_check_digit(body), phone=f"1390000{i:04d}"),
        )
    client.force_login(grid_wogou)
    client.get(reverse("staff:home"))  # warm caches that are not per request
    with django_assert_max_num_queries(15):
        response = client.get(reverse("staff:home") + "?page=4")
    assert len(response.context["page"].object_list) == 50


# (state, role): the buttons and pages a user of that role is offered on a case of 窝沟村.
OFFERED = {
    (State.SUBMITTED, Role.GRID): {"accept", "withdraw", "merge"},
    (State.SUBMITTED, Role.TOWNSHIP): {"withdraw", "merge"},
    (State.SUBMITTED, Role.CITY): set(),
    (State.IN_NOTICE, Role.GRID): {"pass_to_township", "village_reject", "withdraw", "merge"},
    (State.IN_NOTICE, Role.COUNTY): {"withdraw", "merge"},
    (State.TOWNSHIP_REVIEW, Role.GRID): {"withdraw", "merge"},
    (State.TOWNSHIP_REVIEW, Role.TOWNSHIP): {
        "property",
        "township_approve",
        "township_return",
        "township_reject",
        "withdraw",
        "merge",
    },
    (State.COUNTY_REVIEW, Role.TOWNSHIP): {"withdraw", "merge"},
    (State.COUNTY_REVIEW, Role.COUNTY): {
        "county_approve",
        "county_return",
        "county_reject",
        "withdraw",
        "merge",
    },
    (State.COUNTY_REVIEW, Role.PROVINCE): set(),
}
PAGES = {"visit", "income", "evaluation", "property"}
BUTTONS = set().union(*OFFERED.values()) - PAGES


@pytest.mark.parametrize("state", sorted({state for state, _role in OFFERED}))
def test_the_page_offers_exactly_the_buttons_the_user_may_press(
    client, regions, case, grid_wogou, township_lujiagou, line, state
):
    """Each button offered is done when pressed; every other is refused."""
    prepare = {
        State.IN_NOTICE: lambda: to_notice(case, grid_wogou),
        State.TOWNSHIP_REVIEW: lambda: (
            to_township(case, grid_wogou),
            s.declaration_record_property_check(
                declaration=case,
                actor=township_lujiagou,
                vehicles="无",
                housing="无",
                business="无",
            ),
        ),
        State.COUNTY_REVIEW: lambda: to_county(case, grid_wogou, township_lujiagou),
    }
    prepare.get(state, lambda: None)()
    twin = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=ID_B, phone="13700001111")
    ).declaration
    users = {
        Role.GRID: grid_wogou,
        Role.TOWNSHIP: township_lujiagou,
        Role.COUNTY: make_staff("county", regions[ANDING], Role.COUNTY),
        Role.CITY: make_staff("city", regions["621100000000"], Role.CITY),
        Role.PROVINCE: make_staff("province", regions[PROVINCE], Role.PROVINCE),
    }
    for (at, role), expected in OFFERED.items():
        if at != state:
            continue
        client.force_login(users[role])
        page = client.get(url("detail", case)).content.decode()
        offered = {a for a in BUTTONS if url("act", case, a) in page}
        offered |= {a for a in PAGES if url(a, case) in page}
        assert offered == expected, role
        for action in BUTTONS:
            with transaction.atomic():  # each press undone, to try the next
                response = client.post(
                    url("act", case, action), {"reason": "理由", "into": twin.tracking_number}
                )
                # Done: a redirect to a page without an error; refused: one with it.
                done = response.status_code == 302 and not error_messages(
                    client.get(response["Location"])
                )
                transaction.set_rollback(True)
            assert done == (action in expected), (role, action)
