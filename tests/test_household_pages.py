"""The staff pages of monitored households: help plans through village, township and
county, delivery, follow-up visits, risk elimination, look-back reviews, and the green
channel on the case page."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.declarations import services as ds
from apps.declarations.models import Declaration, GreenChannel, VisitDocument
from apps.households import services as hs
from apps.households.models import (
    EliminationProposal,
    EliminationState,
    FollowUp,
    HelpPlan,
    HouseholdDocument,
    HouseholdEvent,
    HouseholdStatus,
    LabourCapacity,
    LookBack,
    MeasureStatus,
    MonitoredHousehold,
    PlanMeasure,
    PlanState,
)

from .conftest import TAIPING, WOGOU  # noqa: F401
from .households_steps import approve_plan, enrol, people, year_ago
from .prg_steps import refusal_shown, succeeded
from .test_uploads import PLAIN_PDF_OBJECTS, pdf

pytestmark = pytest.mark.django_db


def today() -> str:
    return timezone.localdate().isoformat()


def u(name, household, *args) -> str:
    namespace = "staff" if name == "reidentify" else "households"  # a declarations page
    return reverse(f"{namespace}:{name}", args=[household.pk, *args])


def plan_of(household) -> HelpPlan:
    return HelpPlan.objects.filter(household=household).order_by("-created_at").first()


def jpeg(name="receipt.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def fake_jpeg() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "photo.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg"
    )


def measure_post(**overrides) -> dict:
    data = {
        "policy": "",
        "kind": "medical",
        "title": "大病医疗救助",
        "responsible": "王书记",
        "start_on": "",
        "end_on": "",
        "amount": "3000",
        "details": "",
    }
    data.update(overrides)
    return data


def elimination_post(**overrides) -> dict:
    data = {
        "period_start": year_ago().isoformat(),
        "period_end": today(),
        "net_income": "20000",
        "household_size": "2",
        "risk_removed": "老伴病愈，恢复务工。",
        "measures_in_place": "医疗救助已落实。",
    }
    data.update(overrides)
    return data


@pytest.fixture
def approved(household, grid_wogou, township_lujiagou, county_anding):
    """The household's plan approved, its one measure not yet delivered."""
    return approve_plan(
        household, grid=grid_wogou, township=township_lujiagou, county=county_anding
    )


def proposed(household, grid) -> EliminationProposal:
    return hs.elimination_propose(
        household=household,
        actor=grid,
        evidence=hs.EliminationEvidence(
            period_start=year_ago(),
            period_end=timezone.localdate(),
            net_income=Decimal(20000),
            household_size=2,
            risk_removed="病愈",
            measures_in_place="已落实",
        ),
    )


def eliminated(household, grid, township, county):
    proposal = proposed(household, grid)
    hs.elimination_township_pass(proposal=proposal, actor=township)
    hs.elimination_approve(proposal=proposal, actor=county, override_reason="特殊情况")
    household.refresh_from_db()
    return household


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_status_category_plan_and_next_visit_with_marks(
    client, household, grid_wogou
):
    client.force_login(grid_wogou)
    response = client.get(reverse("households:list"))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.household == household and row.plan.state == PlanState.DRAFT
    assert row.plan_mark.status == "on_time" and row.follow_up_mark is not None
    page = response.content.decode()
    for text in ("魏家常", "突发严重困难户", "剩余", "监测户"):
        assert text in page, text


def test_households_monitored_over_two_years_are_flagged(client, household, grid_wogou, regions):
    old = enrol(regions, grid_wogou, serial=2)
    MonitoredHousehold.objects.filter(pk=old.pk).update(
        monitoring_since=timezone.now() - dt.timedelta(days=800)
    )
    client.force_login(grid_wogou)
    rows = client.get(reverse("households:list")).context["rows"]
    assert {r.household.pk: r.long_monitored for r in rows} == {old.pk: True, household.pk: False}
    long = client.get(reverse("households:list"), {"status": "long"}).context["rows"]
    assert [r.household.pk for r in long] == [old.pk]
    assert "超过两年" in client.get(u("detail", old)).content.decode()


def test_the_list_of_100_households_takes_a_fixed_number_of_queries(
    client, regions, county_anding, grid_wogou, django_assert_max_num_queries
):
    for i in range(100):
        enrol(regions, county_anding, serial=100 + i)
    client.force_login(grid_wogou)
    for page in (1, 2):
        with django_assert_max_num_queries(11):
            response = client.get(reverse("households:list"), {"page": page})
        assert len(response.context["rows"]) == 50


def test_other_villages_and_outsiders_see_no_household(
    client, household, grid_taiping, outsider, county_tongwei
):
    for user in (grid_taiping, outsider, county_tongwei):
        client.force_login(user)
        assert client.get(reverse("households:list")).context["rows"] == []
        plan = plan_of(household)
        follow_up = FollowUp.objects.get(household=household)
        for url in (
            u("detail", household),
            u("measure_add", household, plan.pk),
            u("plan_action", household, plan.pk, "submit"),
            u("follow_up", household, follow_up.pk),
            u("eliminate", household),
            u("industry", household),
            u("reidentify", household),
        ):
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(u("measure_add", household, plan.pk), measure_post()).status_code == 404
    assert not PlanMeasure.objects.exists()


# --- the household's page --------------------------------------------------------------------


def test_the_page_renders_for_every_level_above_the_village(
    client, household, grid_wogou, township_lujiagou, county_anding, province_user
):
    for user in (grid_wogou, township_lujiagou, county_anding, province_user):
        client.force_login(user)
        response = client.get(u("detail", household))
        assert response.status_code == 200, user
        page = response.content.decode()
        assert "李梅" in page and "因病" in page
    # Only the village drafts.
    client.force_login(township_lujiagou)
    assert (
        u("measure_add", household, plan_of(household).pk)
        not in client.get(u("detail", household)).content.decode()
    )


def test_suggestions_offer_the_county_s_measures_as_one_tap_choices(
    client, household, grid_wogou, policies
):
    client.force_login(grid_wogou)
    response = client.get(u("detail", household))
    page = response.content.decode()
    kinds = [s.kind for s in response.context["suggestions"]]
    assert "medical" in kinds and "employment" in kinds
    add = u("measure_add", household, plan_of(household).pk)
    assert f"{add}?policy={policies['医疗救助'].pk}" in page
    assert "通渭医疗" not in page
    # The one tap opens the form with the measure and the worker filled in.
    form = client.get(add, {"policy": policies["医疗救助"].pk}).context["form"]
    assert form.initial["policy"] == policies["医疗救助"]
    assert form.initial["responsible"] == str(grid_wogou)


def test_the_whole_plan_chain_through_the_pages(
    client, media, household, grid_wogou, township_lujiagou, county_anding, policies
):
    plan = plan_of(household)
    client.force_login(grid_wogou)
    response = client.post(
        u("measure_add", household, plan.pk),
        measure_post(policy=policies["医疗救助"].pk, kind="", title=""),
    )
    assert response.status_code == 302
    measure = PlanMeasure.objects.get()
    assert measure.title == "医疗救助" and measure.amount == Decimal(3000)
    assert client.get(u("plan_action", household, plan.pk, "submit")).status_code == 200
    assert succeeded(client, client.post(u("plan_action", household, plan.pk, "submit")))

    client.force_login(township_lujiagou)
    page = client.get(u("detail", household)).content.decode()
    assert u("plan_action", household, plan.pk, "township_pass") in page
    assert succeeded(client, client.post(u("plan_action", household, plan.pk, "township_pass")))

    client.force_login(county_anding)
    assert succeeded(client, client.post(u("plan_action", household, plan.pk, "approve")))
    plan.refresh_from_db()
    assert plan.state == PlanState.APPROVED and plan.approved_by == county_anding

    client.force_login(grid_wogou)
    detail = client.get(u("detail", household))
    assert detail.context["o"].plan_mark.status == "met"
    response = client.post(
        u("measure_deliver", household, measure.pk),
        {"delivered_on": today(), "evidence_note": "报销单号 2026-001", "evidence": jpeg()},
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert measure.status == MeasureStatus.DELIVERED and measure.evidence is not None
    document = HouseholdDocument.objects.get()
    response = client.get(reverse("households:document", args=[document.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    kinds = list(HouseholdEvent.objects.filter(household=household).values_list("kind", flat=True))
    assert kinds[-4:] == [
        "plan_submitted",
        "plan_township_checked",
        "plan_approved",
        "measure_delivered",
    ]
    log = client.get(u("detail", household)).content.decode()
    assert "帮扶计划" in log and "报销单号" in log


def test_the_township_and_the_county_send_a_plan_back_with_a_reason(
    client, household, grid_wogou, township_lujiagou, county_anding
):
    plan = plan_of(household)
    hs.plan_add_measure(
        plan=plan,
        actor=grid_wogou,
        measure=hs.MeasureInput(policy=None, kind="medical", title="医疗救助", responsible="王"),
    )
    hs.plan_submit(plan=plan, actor=grid_wogou)
    client.force_login(township_lujiagou)
    url = u("plan_action", household, plan.pk, "send_back")
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and response.context["form"].errors["reason"]
    assert client.post(url, {"reason": "缺少就业帮扶措施"}).status_code == 302
    plan.refresh_from_db()
    assert plan.state == PlanState.DRAFT and plan.returned_reason == "缺少就业帮扶措施"
    client.force_login(grid_wogou)
    assert "缺少就业帮扶措施" in client.get(u("detail", household)).content.decode()
    hs.plan_submit(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township_lujiagou)
    client.force_login(county_anding)
    assert client.post(url, {"reason": "金额不清"}).status_code == 302
    assert HelpPlan.objects.get(pk=plan.pk).state == PlanState.DRAFT


def test_an_approved_plan_is_revised_with_a_reason(client, approved, grid_wogou, household):
    plan, _measure = approved
    client.force_login(grid_wogou)
    url = u("plan_action", household, plan.pk, "revise")
    assert client.post(url, {"reason": "x" * 501}).status_code == 400
    assert client.post(url, {"reason": "新增务工需求"}).status_code == 302
    assert HelpPlan.objects.get(pk=plan.pk).state == PlanState.DRAFT


def test_a_draft_measure_is_removed_but_not_one_delivered(client, household, grid_wogou):
    plan = plan_of(household)
    measure = hs.plan_add_measure(
        plan=plan,
        actor=grid_wogou,
        measure=hs.MeasureInput(policy=None, kind="medical", title="医疗救助", responsible="王"),
    )
    client.force_login(grid_wogou)
    assert client.post(u("measure_remove", household, measure.pk)).status_code == 302
    assert not PlanMeasure.objects.exists()


# --- refusals --------------------------------------------------------------------------------


def test_the_wrong_role_is_refused_with_403_and_nothing_changes(
    client, household, township_lujiagou, grid_wogou, approved
):
    plan, measure = approved
    client.force_login(township_lujiagou)
    response = client.post(
        u("measure_deliver", household, measure.pk),
        {"delivered_on": today(), "evidence_note": "已发放"},
    )
    assert "无权" in refusal_shown(client, response, to=u("measure_deliver", household, measure.pk))
    assert PlanMeasure.objects.get(pk=measure.pk).status == MeasureStatus.PLANNED
    response = client.post(u("plan_action", household, plan.pk, "revise"), {"reason": "想改"})
    assert "无权" in refusal_shown(client, response)
    assert HelpPlan.objects.get(pk=plan.pk).state == PlanState.APPROVED


def test_a_grid_worker_cannot_approve_the_plan(client, household, grid_wogou, township_lujiagou):
    plan = plan_of(household)
    hs.plan_add_measure(
        plan=plan,
        actor=grid_wogou,
        measure=hs.MeasureInput(policy=None, kind="medical", title="医疗救助", responsible="王"),
    )
    hs.plan_submit(plan=plan, actor=grid_wogou)
    hs.plan_township_pass(plan=plan, actor=township_lujiagou)
    client.force_login(grid_wogou)
    response = client.post(u("plan_action", household, plan.pk, "approve"))
    assert "无权" in refusal_shown(client, response)
    assert HelpPlan.objects.get(pk=plan.pk).state == PlanState.COUNTY_APPROVAL


def test_a_step_in_the_wrong_state_is_409(client, approved, household, grid_wogou):
    plan, measure = approved
    client.force_login(grid_wogou)
    assert refusal_shown(client, client.post(u("plan_action", household, plan.pk, "submit")))
    post = {"delivered_on": today(), "evidence_note": "已发放"}
    response = client.post(u("measure_deliver", household, measure.pk), post)
    assert response.status_code == 302 and response["Location"] == u("detail", household)
    response = client.post(u("measure_deliver", household, measure.pk), post)
    assert refusal_shown(client, response, to=u("measure_deliver", household, measure.pk))


def test_an_empty_plan_is_not_submitted(client, household, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(u("plan_action", household, plan_of(household).pk, "submit"))
    assert "至少" in refusal_shown(client, response)
    assert plan_of(household).state == PlanState.DRAFT


def test_a_measure_is_delivered_only_once_the_plan_is_approved(client, household, grid_wogou):
    plan = plan_of(household)
    measure = hs.plan_add_measure(
        plan=plan,
        actor=grid_wogou,
        measure=hs.MeasureInput(policy=None, kind="medical", title="医疗救助", responsible="王"),
    )
    client.force_login(grid_wogou)
    response = client.post(
        u("measure_deliver", household, measure.pk),
        {"delivered_on": today(), "evidence_note": "已发放"},
    )
    assert "县级" in refusal_shown(client, response)


def test_unknown_actions_are_404(client, household, grid_wogou):
    client.force_login(grid_wogou)
    assert (
        client.get(u("plan_action", household, plan_of(household).pk, "delete")).status_code == 404
    )


# --- hostile and bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "长" * 101),
        ("responsible", "王" * 31),
        ("details", "x" * 1001),
        ("responsible", ""),
        ("amount", "abc"),
        ("amount", "-5"),
        ("amount", "1e20"),
        ("amount", "NaN"),
        ("start_on", "2026-02-30"),
        ("start_on", "1899-01-01"),
        ("end_on", "not a date"),
        ("kind", "rocket"),
        ("policy", "999999"),
    ],
)
def test_bad_measure_input_is_a_field_error_and_nothing_is_saved(
    client, household, grid_wogou, field, value
):
    client.force_login(grid_wogou)
    response = client.post(
        u("measure_add", household, plan_of(household).pk), measure_post(**{field: value})
    )
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert "请修改" in response.content.decode() or "红色" in response.content.decode()
    assert not PlanMeasure.objects.exists()


def test_a_measure_of_another_county_or_ending_before_it_starts_is_refused(
    client, household, grid_wogou, policies
):
    client.force_login(grid_wogou)
    add = u("measure_add", household, plan_of(household).pk)
    other = client.post(add, measure_post(policy=policies["通渭医疗"].pk, kind=""))
    assert other.status_code == 400 and other.context["form"].errors["policy"]
    late = client.post(add, measure_post(start_on="2026-05-01", end_on="2026-04-01"))
    assert late.status_code == 400 and late.context["form"].errors["end_on"]
    bound = client.post(add, measure_post(policy=policies["公益性岗位安置"].pk, kind=""))
    assert bound.status_code == 400 and bound.context["form"].errors["start_on"]
    assert not PlanMeasure.objects.exists()


def test_control_characters_are_stripped_from_text(client, household, grid_wogou):
    client.force_login(grid_wogou)
    client.post(
        u("measure_add", household, plan_of(household).pk),
        measure_post(title="医疗\u202e救助\x00", responsible=" 王书记 "),
    )
    measure = PlanMeasure.objects.get()
    assert (measure.title, measure.responsible) == ("医疗救助", "王书记")


@pytest.mark.parametrize(
    "upload",
    [
        fake_jpeg,
        lambda: SimpleUploadedFile("x.pdf", pdf(*PLAIN_PDF_OBJECTS, b"<< /JavaScript (x) >>")),
        lambda: SimpleUploadedFile("empty.jpg", b""),
        lambda: SimpleUploadedFile("a.gif", b"GIF89a" + b"\x00" * 20),
    ],
)
def test_hostile_evidence_is_refused_at_the_field_and_nothing_is_saved(
    client, media, approved, household, grid_wogou, upload
):
    _plan, measure = approved
    client.force_login(grid_wogou)
    response = client.post(
        u("measure_deliver", household, measure.pk),
        {"delivered_on": today(), "evidence_note": "已发放", "evidence": upload()},
    )
    assert response.status_code == 400 and response.context["form"].errors["evidence"]
    assert PlanMeasure.objects.get(pk=measure.pk).status == MeasureStatus.PLANNED
    assert not HouseholdDocument.objects.exists()


def test_a_delivery_in_the_future_is_refused(client, approved, household, grid_wogou):
    _plan, measure = approved
    client.force_login(grid_wogou)
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(
        u("measure_deliver", household, measure.pk),
        {"delivered_on": tomorrow, "evidence_note": "已发放"},
    )
    assert response.status_code == 400 and response.context["form"].errors["delivered_on"]


def test_evidence_is_not_kept_when_the_service_refuses(
    client, media, approved, household, grid_wogou
):
    """The upload is stored, then the service refuses (the measure is already
    delivered): neither the document row nor its file stays behind."""
    _plan, measure = approved
    hs.measure_record_delivery(
        measure=measure, actor=grid_wogou, delivered_on=timezone.localdate(), evidence_note="已发放"
    )
    client.force_login(grid_wogou)
    response = client.post(
        u("measure_deliver", household, measure.pk),
        {"delivered_on": today(), "evidence_note": "再次发放", "evidence": jpeg()},
    )
    assert refusal_shown(client, response, to=u("measure_deliver", household, measure.pk))
    assert not HouseholdDocument.objects.exists()
    assert [p for p in media.rglob("*") if p.is_file()] == []


# --- follow-up visits ------------------------------------------------------------------------


def test_a_follow_up_visit_is_recorded_and_the_next_scheduled(client, household, grid_wogou):
    visit = FollowUp.objects.get(household=household)
    client.force_login(grid_wogou)
    url = u("follow_up", household, visit.pk)
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"done_on": today(), "stability": "new_risk", "findings": "儿子外出务工受伤。"}
    )
    assert response.status_code == 400 and response.context["form"].errors["new_risk_types"]
    response = client.post(
        url,
        {
            "done_on": today(),
            "stability": "new_risk",
            "new_risk_types": ["accident"],
            "findings": "儿子外出务工受伤。",
        },
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert "accident" in household.risk_types
    assert FollowUp.objects.filter(household=household, done_on__isnull=True).count() == 1
    response = client.post(url, {"done_on": today(), "stability": "stable", "findings": "好"})
    assert refusal_shown(client, response, to=url)


@pytest.mark.parametrize(
    "overrides",
    [{"done_on": "2099-01-01"}, {"stability": "great"}, {"findings": ""}, {"findings": "x" * 2001}],
)
def test_bad_follow_up_input_is_400(client, household, grid_wogou, overrides):
    visit = FollowUp.objects.get(household=household)
    client.force_login(grid_wogou)
    data = {"done_on": today(), "stability": "stable", "findings": "稳定。", **overrides}
    assert client.post(u("follow_up", household, visit.pk), data).status_code == 400
    assert FollowUp.objects.get(pk=visit.pk).done_on is None


# --- risk elimination --------------------------------------------------------------------------


def test_elimination_through_village_township_and_county_with_an_override(
    client, media, line, approved, household, grid_wogou, township_lujiagou, county_anding
):
    client.force_login(grid_wogou)
    page = client.get(u("eliminate", household))
    assert page.status_code == 200
    assert "尚未落实" in page.content.decode()  # the county will have to override
    response = client.post(u("eliminate", household), {**elimination_post(), "evidence": jpeg()})
    assert response.status_code == 302
    proposal = EliminationProposal.objects.get()
    assert proposal.per_capita_income == Decimal(10000) and proposal.evidence is not None

    client.force_login(township_lujiagou)
    url = u("elimination_action", household, proposal.pk, "township_pass")
    assert url in client.get(u("detail", household)).content.decode()
    assert client.post(url).status_code == 302

    client.force_login(county_anding)
    approve = u("elimination_action", household, proposal.pk, "approve")
    form = client.get(approve).context["form"]
    assert "override_reason" in form.fields
    response = client.post(approve, {"override_reason": ""})
    assert "书面理由" in refusal_shown(client, response, to=approve)
    assert MonitoredHousehold.objects.get(pk=household.pk).status == HouseholdStatus.MONITORING
    assert client.post(approve, {"override_reason": "医疗救助正在办理"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.state == EliminationState.APPROVED
    assert proposal.override_reason == "医疗救助正在办理"
    assert MonitoredHousehold.objects.get(pk=household.pk).status == HouseholdStatus.ELIMINATED


def test_the_county_is_not_asked_to_override_when_everything_is_delivered(
    client, line, approved, household, grid_wogou, township_lujiagou, county_anding
):
    _plan, measure = approved
    hs.measure_record_delivery(
        measure=measure, actor=grid_wogou, delivered_on=timezone.localdate(), evidence_note="已发"
    )
    proposal = proposed(household, grid_wogou)
    hs.elimination_township_pass(proposal=proposal, actor=township_lujiagou)
    client.force_login(county_anding)
    approve = u("elimination_action", household, proposal.pk, "approve")
    page = client.get(approve)
    assert "override_reason" not in page.context["form"].fields
    assert "均已落实" in page.content.decode()
    assert client.post(approve).status_code == 302


def test_a_household_without_labour_is_never_proposed(
    client, regions, county_anding, grid_wogou, line
):
    household = enrol(
        regions, county_anding, serial=7, members=people(LabourCapacity.NONE, LabourCapacity.NONE)
    )
    client.force_login(grid_wogou)
    page = client.get(u("detail", household)).content.decode()
    assert "整户无劳动能力" in page
    response = client.post(u("eliminate", household), elimination_post())
    assert "整户无劳动能力" in refusal_shown(client, response, to=u("eliminate", household))
    assert not EliminationProposal.objects.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"net_income": "6000"}, None),  # 3000 a head, under the line
        ({"household_size": "0"}, "household_size"),
        ({"household_size": "31"}, "household_size"),
        ({"net_income": "1e12"}, "net_income"),
        ({"period_end": "2099-01-01"}, "period_end"),
        ({"period_start": "2020-01-01"}, "period_end"),
        ({"risk_removed": "x" * 1001}, "risk_removed"),
        ({"measures_in_place": ""}, "measures_in_place"),
    ],
)
def test_bad_elimination_input_is_400_and_nothing_is_saved(
    client, line, household, grid_wogou, overrides, field
):
    client.force_login(grid_wogou)
    response = client.post(u("eliminate", household), elimination_post(**overrides))
    if field:  # the form's: 400 at the field
        assert response.status_code == 400 and response.context["form"].errors[field]
    else:  # the service's refusal: back to the page, which says why
        assert "低于" in refusal_shown(client, response, to=u("eliminate", household))
    assert not EliminationProposal.objects.exists()
    assert not household.incomes.filter(source="elimination").exists()


def test_the_township_refuses_a_proposal_with_a_reason(
    client, line, household, grid_wogou, township_lujiagou, county_anding
):
    proposal = proposed(household, grid_wogou)
    client.force_login(grid_wogou)
    refuse = u("elimination_action", household, proposal.pk, "refuse")
    assert "无权" in refusal_shown(client, client.post(refuse, {"reason": "收入不实"}))
    client.force_login(township_lujiagou)
    assert client.post(refuse, {"reason": ""}).status_code == 400
    assert client.post(refuse, {"reason": "收入不实"}).status_code == 302
    assert EliminationProposal.objects.get().state == EliminationState.REFUSED
    client.force_login(county_anding)
    assert refusal_shown(client, client.post(refuse, {"reason": "再拒"}), to=refuse)


# --- after elimination: look-back reviews and re-identification ----------------------------------


def test_an_unstable_look_back_puts_the_household_back_under_monitoring(
    client, line, approved, household, grid_wogou, township_lujiagou, county_anding
):
    eliminated(household, grid_wogou, township_lujiagou, county_anding)
    assert hs.lookbacks_sample(rate=1.0) == 1
    review = LookBack.objects.get()
    client.force_login(grid_wogou)
    page = client.get(u("detail", household)).content.decode()
    assert u("look_back", household, review.pk) in page and "回头看" in page
    url = u("look_back", household, review.pk)
    assert (
        client.post(url, {"reviewed_on": today(), "outcome": "bad", "findings": "x"}).status_code
        == 400
    )
    response = client.post(
        url, {"reviewed_on": today(), "outcome": "unstable", "findings": "又失业了。"}
    )
    assert response.status_code == 302
    assert MonitoredHousehold.objects.get(pk=household.pk).status == HouseholdStatus.MONITORING


def test_an_eliminated_household_is_reidentified_by_a_new_declaration(
    client, line, approved, household, grid_wogou, township_lujiagou, county_anding
):
    eliminated(household, grid_wogou, township_lujiagou, county_anding)
    client.force_login(grid_wogou)
    assert u("reidentify", household) in client.get(u("detail", household)).content.decode()
    url = u("reidentify", household)
    bad = client.post(url, {"phone": "12345", "difficulties": ["disaster"], "description": "冰雹"})
    assert bad.status_code == 400 and bad.context["form"].errors["phone"]
    response = client.post(
        url, {"phone": "13912345678", "difficulties": ["disaster"], "description": "冰雹毁了庄稼。"}
    )
    declaration = Declaration.objects.get(household=household)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:detail", args=[declaration.tracking_number])
    # And back: the case links to the household, the household to the case.
    assert u("detail", household) in client.get(response["Location"]).content.decode()
    assert (
        declaration.tracking_number_display in client.get(u("detail", household)).content.decode()
    )


def test_a_monitored_household_is_not_reidentified(client, household, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(
        u("reidentify", household),
        {"phone": "13912345678", "difficulties": ["disaster"], "description": "冰雹"},
    )
    assert refusal_shown(client, response, to=u("reidentify", household))
    assert not Declaration.objects.exists()


# --- willing to develop industry ----------------------------------------------------------------


def test_willingness_to_develop_industry_brings_the_industry_suggestion(
    client, household, grid_wogou, township_lujiagou
):
    client.force_login(township_lujiagou)
    response = client.post(u("industry", household), {"industry_willing": "yes"})
    assert "无权" in refusal_shown(client, response, to=u("industry", household))
    client.force_login(grid_wogou)
    assert client.post(u("industry", household), {"industry_willing": "maybe"}).status_code == 400
    assert client.post(u("industry", household), {"industry_willing": "yes"}).status_code == 302
    household.refresh_from_db()
    assert household.industry_willing
    assert household.events.filter(kind="industry_willing").exists()
    kinds = [s.kind for s in client.get(u("detail", household)).context["suggestions"]]
    assert "industry" in kinds


# --- documents ------------------------------------------------------------------------------------


def test_evidence_is_served_only_within_scope(
    client, media, approved, household, grid_wogou, grid_taiping, outsider
):
    _plan, measure = approved
    client.force_login(grid_wogou)
    client.post(
        u("measure_deliver", household, measure.pk),
        {"delivered_on": today(), "evidence_note": "已发放", "evidence": jpeg()},
    )
    document = HouseholdDocument.objects.get()
    url = reverse("households:document", args=[document.pk])
    assert b"Exif" not in b"".join(client.get(url).streaming_content)
    for user in (grid_taiping, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


# --- the green channel on the case page ----------------------------------------------------------


def green_url(name, declaration):
    return reverse(f"staff:{name}", args=[declaration.tracking_number])


def test_the_green_channel_is_opened_and_help_recorded_on_the_case_page(
    client, media, case, grid_wogou, policies
):
    client.force_login(grid_wogou)
    detail = client.get(green_url("detail", case)).content.decode()
    assert green_url("green_open", case) in detail and "绿色通道" in detail
    response = client.post(
        green_url("green_open", case),
        {"cause": "illness", "reason": "突发脑溢血，急需救治。", "evidence": jpeg("hospital.jpg")},
    )
    assert response.status_code == 302
    green = GreenChannel.objects.get()
    assert green.evidence.kind == "green" and VisitDocument.objects.get().kind == "green"
    detail = client.get(green_url("detail", case))
    assert detail.context["green_clock"] is not None
    response = client.post(
        green_url("green_help", case),
        {
            "policy": policies["临时救助"].pk,
            "kind": "",
            "title": "",
            "responsible": "王书记",
            "delivered_on": today(),
            "amount": "2000",
            "details": "",
        },
    )
    assert response.status_code == 302
    page = client.get(green_url("detail", case)).content.decode()
    assert "临时救助" in page and "2000" in page
    # Opening it again is refused with the service's message.
    again = client.post(green_url("green_open", case), {"cause": "illness", "reason": "再开"})
    assert "已" in refusal_shown(client, again, to=green_url("green_open", case))


@pytest.mark.parametrize(
    "data, field",
    [
        ({"cause": "boredom", "reason": "无聊"}, "cause"),
        ({"cause": "illness", "reason": ""}, "reason"),
        ({"cause": "illness", "reason": "x" * 1001}, "reason"),
    ],
)
def test_bad_green_channel_input_is_400(client, case, grid_wogou, data, field):
    client.force_login(grid_wogou)
    response = client.post(green_url("green_open", case), data)
    assert response.status_code == 400 and response.context["form"].errors[field]
    assert not GreenChannel.objects.exists()


def test_hostile_green_evidence_is_refused(client, media, case, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(
        green_url("green_open", case),
        {"cause": "illness", "reason": "急需救治", "evidence": fake_jpeg()},
    )
    assert response.status_code == 400 and response.context["form"].errors["evidence"]
    assert not GreenChannel.objects.exists() and not VisitDocument.objects.exists()


def test_green_help_before_the_channel_is_open_is_409_and_bad_help_400(
    client, case, grid_wogou, grid_taiping
):
    client.force_login(grid_wogou)
    help_post = {
        "kind": "temporary",
        "title": "临时救助金",
        "responsible": "王书记",
        "delivered_on": today(),
        "amount": "2000",
    }
    response = client.post(green_url("green_help", case), help_post)
    assert refusal_shown(client, response, to=green_url("green_help", case))
    ds.declaration_open_green_channel(
        declaration=case, actor=grid_wogou, cause="accident", reason="车祸"
    )
    for bad in ({"amount": "-1"}, {"delivered_on": "2099-01-01"}, {"title": "x" * 101}):
        response = client.post(green_url("green_help", case), {**help_post, **bad})
        assert response.status_code == 400, bad
    long_ago = (timezone.localdate() - dt.timedelta(days=90)).isoformat()
    response = client.post(green_url("green_help", case), {**help_post, "delivered_on": long_ago})
    assert refusal_shown(client, response, to=green_url("green_help", case))
    assert not case.green_channel.help.exists()
    client.force_login(grid_taiping)
    assert client.get(green_url("green_open", case)).status_code == 404
    assert client.post(green_url("green_help", case), help_post).status_code == 404


def test_time_moves_the_plan_deadline_mark(client, household, grid_wogou):
    with time_machine.travel(timezone.now() + dt.timedelta(days=30)):
        client.force_login(grid_wogou)
        (row,) = client.get(reverse("households:list")).context["rows"]
        assert row.plan_mark.status == "overdue"
        assert "逾期" in client.get(u("detail", household)).content.decode()


def test_green_evidence_is_not_kept_when_the_channel_is_refused(client, media, case, grid_wogou):
    """The service refuses after the upload was stored (the channel is already open):
    neither the document row nor its file stays behind."""
    ds.declaration_open_green_channel(
        declaration=case, actor=grid_wogou, cause="accident", reason="车祸"
    )
    client.force_login(grid_wogou)
    response = client.post(
        green_url("green_open", case),
        {"cause": "illness", "reason": "急需救治", "evidence": jpeg()},
    )
    assert refusal_shown(client, response, to=green_url("green_open", case))
    assert not VisitDocument.objects.exists()
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_the_county_decides_the_category_with_a_reason(
    client, household, county_anding, grid_wogou
):
    url = u("category", household)
    client.force_login(grid_wogou)
    assert url not in client.get(u("detail", household)).content.decode()
    response = client.post(url, {"category": "unstable", "reason": "系统核实为脱贫户"})
    assert "无权" in refusal_shown(client, response, to=url)
    client.force_login(county_anding)
    assert url in client.get(u("detail", household)).content.decode()
    missing = client.post(url, {"category": "unstable", "reason": ""})
    assert missing.status_code == 400 and missing.context["form"].errors["reason"]
    bad = client.post(url, {"category": "rich", "reason": "x"})
    assert bad.status_code == 400 and bad.context["form"].errors["category"]
    household.refresh_from_db()
    assert household.category == "sudden"
    done = client.post(url, {"category": "unstable", "reason": "系统核实为脱贫户"})
    assert done.status_code == 302
    household.refresh_from_db()
    assert household.category == "unstable"
    event = household.events.get(kind="category")
    assert (event.actor, event.reason) == (county_anding, "系统核实为脱贫户")
