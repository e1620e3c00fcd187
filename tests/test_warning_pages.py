"""The pages of department screening warnings (部门筛查预警) and the civil-affairs linkage:
the village's worklist and verification, the score that says why, the panel on the
case page, routing, and what civil-affairs staff see and download."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.audit.models import Action, AuditEntry
from apps.core.identity import id_hash
from apps.deadlines.models import Clock
from apps.declarations import services as ds
from apps.declarations.models import Channel, Declaration, State
from apps.households.scoring import WEIGHTS
from apps.regions.models import Role
from apps.screening import services
from apps.screening.models import (
    AssistanceRecord,
    CaseRouting,
    CivilAffairsExport,
    Department,
    DepartmentMember,
    FeedBatch,
    Warning,
    WarningState,
)
from apps.screening.services import Person, Village
from apps.screening.tasks import export_for_civil_affairs

from .conftest import ANDING, DONGGUAN, ID_A, TAIPING, TONGWEI, WOGOU, make_staff
from .households_steps import new_id
from .prg_steps import refusal_shown
from .review_steps import sign_letter, to_county, to_verified
from .screening_steps import rule_hit

pytestmark = pytest.mark.django_db

MEDICAL = "安定区医疗保障局"


def person(regions, *, number=None, serial=1, village=WOGOU, name="魏家常", **facts) -> Person:
    number = number or new_id(serial)
    return Person(
        id_hash=id_hash(number),
        id_number=number,
        name=name,
        village_id=regions[village].pk,
        region_code=village,
        **facts,
    )


def medical(regions, *, paid=20000, income=Decimal("40000"), **kwargs) -> Warning:
    """A warning from medical costs: a share of the weight that follows the costs."""
    who = person(regions, annual_income=income, **kwargs)
    data = {"out_of_pocket": paid, "total_cost": paid * 3, "date": "2026-03-01"}
    services.warnings_raise(hits=[rule_hit("medical", data, who)], department=MEDICAL)
    return Warning.objects.get(id_hash=who.id_hash)


def disaster(regions, *, village=WOGOU) -> Warning:
    v = regions[village]
    hit = rule_hit(
        "disaster",
        {"region_code": village, "severity": 2, "event": "冰雹", "date": "2026-06-01"},
        Village(v.pk, v.code, v.name),
    )
    services.warnings_raise(hits=[hit], department="安定区应急管理局")
    return Warning.objects.get(region_code=village, id_hash="")


def civil_affairs_user(regions, username: str, county: str, kinds=("assistance",)) -> User:
    """A member of a county department: civil affairs (民政) when it delivers the rolls."""
    user = User.objects.create_user(username=username, password="pw-for-tests-only")
    department = Department.objects.create(
        code=username, name=f"{username} 局", region=regions[county], kinds=list(kinds)
    )
    DepartmentMember.objects.create(user=user, department=department)
    return user


@pytest.fixture
def civil_anding(regions):
    return civil_affairs_user(regions, "mz-anding", ANDING)


@pytest.fixture
def civil_tongwei(regions):
    return civil_affairs_user(regions, "mz-tongwei", TONGWEI)


@pytest.fixture
def medical_staff(regions):
    """A member of the medical-insurance department: delivers data, sees no cases."""
    return civil_affairs_user(regions, "yb-anding", ANDING, kinds=("medical",))


def on_roll(regions, number: str, kind="dibao", county=ANDING) -> AssistanceRecord:
    department = Department.objects.get_or_create(
        code="roll", defaults={"name": "民政局", "region": regions[county], "kinds": ["assistance"]}
    )[0]
    batch = FeedBatch.objects.get_or_create(
        department=department,
        batch_id="roll-1",
        defaults={"kind": "assistance", "source": "upload"},
    )[0]
    return AssistanceRecord.objects.create(
        batch=batch,
        record_key=f"{number}-{kind}",
        id_hash=id_hash(number),
        kind=kind,
        county_code=county,
    )


def warning_url(warning) -> str:
    return reverse("screening:warning", args=[warning.pk])


def verify(**overrides) -> dict:
    data = {
        "method": "visited",
        "outcome": "no_risk",
        "reason": "子女在外务工，收入稳定，医疗费已报销大部分。",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


RISK = {
    "outcome": "risk",
    "reason": "住院花费大，家中无其他收入。",
    "phone": "139 1234 5678",
    "difficulties": ["illness"],
    "address_group": "3组",
}


def body(response) -> str:
    return response.content.decode()


# --- verification ----------------------------------------------------------------------


def test_no_risk_with_a_reason_closes_the_warning_and_meets_its_clock(client, regions, grid_wogou):
    warning = medical(regions)
    client.force_login(grid_wogou)
    response = client.post(warning_url(warning), verify(method="asked"))
    assert response.status_code == 302 and response["Location"] == warning_url(warning)
    warning.refresh_from_db()
    assert warning.state == WarningState.NO_RISK
    assert warning.method == "asked" and warning.verified_by == grid_wogou
    assert Clock.objects.for_subject("warning", warning.pk).get().met_at is not None
    page = body(client.get(warning_url(warning)))
    assert "无风险" in page and "子女在外务工" in page
    assert "记录研判结果" not in page  # no form on a closed warning


def test_no_risk_without_a_finding_is_refused_at_the_field(client, regions, grid_wogou):
    warning = medical(regions)
    client.force_login(grid_wogou)
    response = client.post(warning_url(warning), verify(reason="   "))
    assert response.status_code == 400
    assert 'id="reason-error"' in body(response)
    warning.refresh_from_db()
    assert warning.state == WarningState.OPEN and not warning.verified_at


def test_risk_becomes_a_declaration_of_the_warning_channel_that_goes_through_the_review(
    client, regions, grid_wogou, township_lujiagou, county_anding, line, media
):
    # Raised and verified three weeks ago, so that the review's dates lie in the past.
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        warning = medical(regions, number=ID_A)
        client.force_login(grid_wogou)
        response = client.post(warning_url(warning), verify(**RISK))
    declaration = Declaration.objects.get(id_hash=id_hash(ID_A))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:detail", args=[declaration.tracking_number])
    assert declaration.channel == Channel.WARNING
    assert declaration.name == "魏家常" and declaration.address_group == "3组"
    warning.refresh_from_db()
    assert warning.state == WarningState.CONVERTED and warning.declaration == declaration

    sign_letter(declaration, grid_wogou)  # a cadre entered it: the household's own consent
    to_county(declaration, grid_wogou, township_lujiagou)
    ds.declaration_county_approve(declaration=declaration, actor=county_anding)
    declaration.refresh_from_db()
    assert declaration.state == State.ENROLLED

    client.force_login(grid_wogou)  # three weeks later
    page = body(client.get(warning_url(warning)))
    assert declaration.tracking_number_display in page and "转为申报" in page
    case_page = body(client.get(reverse("staff:detail", args=[declaration.tracking_number])))
    assert "部门筛查预警" in case_page and "自付" in case_page


def test_risk_without_the_applicant_s_phone_is_refused_at_the_field(client, regions, grid_wogou):
    warning = medical(regions)
    client.force_login(grid_wogou)
    response = client.post(warning_url(warning), verify(**{**RISK, "phone": ""}))
    assert response.status_code == 400
    assert re.search(r'id="phone-error">[^<]+<', body(response))
    response = client.post(warning_url(warning), verify(**{**RISK, "phone": "12345"}))
    assert response.status_code == 400 and 'id="phone-error"' in body(response)
    assert not Declaration.objects.exists()
    assert Warning.objects.get(pk=warning.pk).state == WarningState.OPEN


def test_a_village_wide_disaster_warning_asks_whose_household_it_is(client, regions, grid_wogou):
    warning = disaster(regions)
    client.force_login(grid_wogou)
    page = body(client.get(warning_url(warning)))
    assert "整村" in page or "全村" in page
    response = client.post(warning_url(warning), verify(**RISK))
    assert response.status_code == 400
    assert 'id="name-error"' in body(response) and 'id="id_number-error"' in body(response)
    response = client.post(warning_url(warning), verify(**RISK, name="王大山", id_number=new_id(7)))
    assert response.status_code == 302
    declaration = Declaration.objects.get()
    assert declaration.name == "王大山" and declaration.channel == Channel.WARNING


def test_a_referral_is_seen_by_civil_affairs_of_the_county_and_no_other(
    client, regions, grid_wogou, civil_anding, civil_tongwei
):
    warning = medical(regions, name="李秀英")
    client.force_login(grid_wogou)
    response = client.post(warning_url(warning), verify(outcome="refer", reason="符合低保条件"))
    assert response.status_code == 302
    assert Warning.objects.get(pk=warning.pk).state == WarningState.REFERRED

    client.force_login(civil_anding)
    page = client.get(reverse("screening:civil_affairs"))
    assert page.status_code == 200
    assert [w.pk for w in page.context["referred"]] == [warning.pk]
    assert "李秀英" in body(page) and "符合低保条件" in body(page)
    client.force_login(civil_tongwei)
    page = client.get(reverse("screening:civil_affairs"))
    assert list(page.context["referred"]) == [] and "李秀英" not in body(page)


# --- the score that says why -------------------------------------------------------------


def test_the_warning_page_explains_each_factor_of_the_score(client, regions, grid_wogou):
    warning = medical(regions, paid=30000, income=Decimal("40000"), capacities=("none", "none"))
    assert len(warning.score_factors) == 2
    client.force_login(grid_wogou)
    response = client.get(warning_url(warning))
    page = body(response)
    assert MEDICAL in page and "2026-03-01" in page
    assert warning.id_number_masked in page and warning.id_number not in page
    rows = re.findall(
        r"<tr><td>([^<]+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td><td[^>]*>([^<]+)</td>", page
    )
    assert len(rows) == 2
    for factor, (label, weight, points, why) in zip(warning.score_factors, rows, strict=True):
        assert int(weight) == factor["weight"] and int(points) == factor["points"]
        assert why == factor["why"] and label != factor["factor"]  # said in words
    assert f"{warning.score}" in page
    # How the score is made, with every weight.
    assert "100" in page and "最强" in page
    for weight in WEIGHTS.values():
        assert f" {weight}" in page
    assert "风险评分" in page


# --- the worklist --------------------------------------------------------------------------


def test_the_worklist_puts_the_highest_score_first_then_the_oldest(client, regions, grid_wogou):
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=3)):
        old_low = medical(regions, serial=1, paid=10000)
    with time_machine.travel(now - dt.timedelta(days=2)):
        old_high = medical(regions, serial=2, paid=40000)
    new_high = medical(regions, serial=3, paid=40000)
    elsewhere = medical(regions, serial=4, paid=40000, village=TAIPING)
    assert old_high.score == new_high.score > old_low.score
    client.force_login(grid_wogou)
    response = client.get(reverse("screening:worklist"))
    order = [w.pk for w, _mark in response.context["rows"]]
    assert order == [old_high.pk, new_high.pk, old_low.pk]
    assert elsewhere.pk not in order
    assert all(mark is not None for _w, mark in response.context["rows"])


def test_the_worklist_of_100_warnings_takes_a_fixed_number_of_queries(
    client, regions, grid_wogou, django_assert_max_num_queries
):
    hits = [
        rule_hit(
            "medical",
            {"out_of_pocket": 10000 + i * 100, "total_cost": 50000, "date": "2026-03-01"},
            person(regions, serial=100 + i, annual_income=Decimal("40000")),
        )
        for i in range(100)
    ]
    services.warnings_raise(hits=hits, department=MEDICAL)
    client.force_login(grid_wogou)
    for page in (1, 2):
        with django_assert_max_num_queries(8):
            response = client.get(reverse("screening:worklist"), {"page": page})
        assert len(response.context["rows"]) == 50
    scores = [w.score for w, _m in response.context["rows"]]
    assert scores == sorted(scores, reverse=True)


# --- on the case page ----------------------------------------------------------------------


def test_the_case_page_lists_the_warnings_sources_and_the_assistance_received(
    client, case, regions, grid_wogou
):
    # The person of an open case: the department's record joins the case.
    medical(regions, number=ID_A)
    on_roll(regions, new_id(9))  # the county's rolls are in; the applicant is not on them
    client.force_login(grid_wogou)
    page = body(client.get(reverse("staff:detail", args=[case.tracking_number])))
    assert MEDICAL in page and "自付" in page
    assert "未享受" in page

    on_roll(regions, ID_A, kind="dibao")
    on_roll(regions, ID_A, kind="disability")
    page = body(client.get(reverse("staff:detail", args=[case.tracking_number])))
    assert "农村最低生活保障" in page or "低保" in page
    assert "残疾人两项补贴" in page and "未享受" not in page


def test_without_the_county_s_rolls_the_case_page_says_so(client, case, grid_wogou):
    client.force_login(grid_wogou)
    page = body(client.get(reverse("staff:detail", args=[case.tracking_number])))
    assert "尚未" in page and "部门筛查预警" in page


# --- routing --------------------------------------------------------------------------------


def route_url(case) -> str:
    return reverse("screening:route", args=[case.tracking_number])


def test_the_township_routes_a_verified_case_and_civil_affairs_of_the_county_receives_it(
    client, case, grid_wogou, township_lujiagou, civil_anding, civil_tongwei, medical_staff
):
    to_verified(case, grid_wogou)
    client.force_login(township_lujiagou)
    detail = body(client.get(reverse("staff:detail", args=[case.tracking_number])))
    assert route_url(case) in detail
    assert client.get(route_url(case)).status_code == 200
    response = client.post(route_url(case), {"destination": "both", "note": "建议纳入低保"})
    assert response.status_code == 302
    routing = CaseRouting.objects.get(declaration=case)
    assert routing.to_civil_affairs and routing.to_monitoring and routing.note == "建议纳入低保"
    detail = body(client.get(reverse("staff:detail", args=[case.tracking_number])))
    assert "民政" in detail and "建议纳入低保" in detail

    client.force_login(civil_tongwei)
    assert list(client.get(reverse("screening:civil_affairs")).context["routings"]) == []
    receive = reverse("screening:routing_receive", args=[routing.pk])
    assert client.post(receive).status_code == 404
    client.force_login(medical_staff)
    assert client.get(reverse("screening:civil_affairs")).status_code == 404
    assert client.post(receive).status_code == 404
    assert client.get(reverse("screening:worklist")).context["rows"] == []

    client.force_login(civil_anding)
    page = client.get(reverse("screening:civil_affairs"))
    assert [r.pk for r in page.context["routings"]] == [routing.pk]
    assert case.name in body(page) and case.id_number not in body(page)
    assert client.post(receive).status_code == 302
    routing.refresh_from_db()
    assert routing.received_at is not None


def test_routing_refuses_the_village_an_unverified_case_and_an_empty_choice(
    client, case, grid_wogou, township_lujiagou
):
    client.force_login(township_lujiagou)
    assert route_url(case) not in body(
        client.get(reverse("staff:detail", args=[case.tracking_number]))
    )
    response = client.post(route_url(case), {"destination": "monitoring"})
    assert refusal_shown(client, response, to=route_url(case))
    to_verified(case, grid_wogou)
    response = client.post(route_url(case), {"note": "x"})
    assert response.status_code == 400 and 'id="destination-error"' in body(response)
    client.force_login(grid_wogou)
    response = client.post(route_url(case), {"destination": "monitoring"})
    assert refusal_shown(client, response, to=route_url(case)) == "您无权对这件申报执行此操作。"
    assert not CaseRouting.objects.exists()


def test_routing_a_case_outside_one_s_region_is_404(client, case, grid_wogou, county_tongwei):
    to_verified(case, grid_wogou)
    client.force_login(county_tongwei)
    assert client.post(route_url(case), {"destination": "monitoring"}).status_code == 404


# --- exports -------------------------------------------------------------------------------


def test_civil_affairs_makes_and_downloads_an_export_and_each_download_is_logged(
    client, case, regions, media, civil_anding, civil_tongwei
):
    client.force_login(civil_anding)
    response = client.post(reverse("screening:export_make"), {"county": regions[ANDING].pk})
    assert response.status_code == 302
    export = CivilAffairsExport.objects.get()
    assert export.county.code == ANDING and export.rows == 1
    download = reverse("screening:export_download", args=[export.pk])
    response = client.get(download)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd")
    b"".join(response.streaming_content)
    assert (
        AuditEntry.objects.filter(
            actor=civil_anding,
            action=Action.DOWNLOAD,
            target=f"screening.civilaffairsexport:{export.pk}",
        ).count()
        == 1
    )

    client.force_login(civil_tongwei)
    assert client.get(download).status_code == 404
    assert export not in client.get(reverse("screening:civil_affairs")).context["exports"]
    response = client.post(reverse("screening:export_make"), {"county": regions[ANDING].pk})
    assert response.status_code == 400 and 'id="county-error"' in body(response)
    assert CivilAffairsExport.objects.count() == 1
    assert not AuditEntry.objects.filter(actor=civil_tongwei, action=Action.DOWNLOAD).exists()


def test_the_weekly_task_exports_every_county(regions, case, media):
    made = export_for_civil_affairs()
    assert made == CivilAffairsExport.objects.count() == 3


def test_others_cannot_reach_the_civil_affairs_pages(
    client, case, regions, media, grid_wogou, county_tongwei, outsider, medical_staff
):
    export = services.civil_affairs_export(county=regions[ANDING])
    for user in (grid_wogou, county_tongwei, outsider, medical_staff):
        client.force_login(user)
        assert client.get(reverse("screening:civil_affairs")).status_code == 404
        assert client.get(reverse("screening:export_download", args=[export.pk])).status_code == 404
        assert (
            client.post(
                reverse("screening:export_make"), {"county": regions[ANDING].pk}
            ).status_code
            == 404
        )
    assert CivilAffairsExport.objects.count() == 1


# --- scoping, roles and state --------------------------------------------------------------


def test_other_villages_outsiders_and_departments_do_not_see_a_warning(
    client, regions, grid_taiping, outsider, civil_anding, medical_staff
):
    warning = medical(regions)
    for user in (grid_taiping, outsider, civil_anding, medical_staff):
        client.force_login(user)
        assert client.get(warning_url(warning)).status_code == 404
        assert client.post(warning_url(warning), verify()).status_code == 404
        assert client.get(reverse("screening:worklist")).context["rows"] == []
    assert Warning.objects.get(pk=warning.pk).state == WarningState.OPEN


def test_the_township_sees_a_warning_but_only_the_village_verifies_it(
    client, regions, township_lujiagou
):
    warning = medical(regions)
    client.force_login(township_lujiagou)
    response = client.get(warning_url(warning))
    assert response.status_code == 200 and response.context["form"] is None
    response = client.post(warning_url(warning), verify())
    assert (
        refusal_shown(client, response, to=warning_url(warning)) == "您无权对这件申报执行此操作。"
    )
    assert Warning.objects.get(pk=warning.pk).state == WarningState.OPEN


def test_a_warning_verified_already_is_409(client, regions, grid_wogou):
    warning = medical(regions)
    services.warning_verify(
        warning=warning, actor=grid_wogou, method="judged", outcome="no_risk", reason="无风险"
    )
    client.force_login(grid_wogou)
    response = client.post(warning_url(warning), verify(outcome="refer"))
    assert refusal_shown(client, response, to=warning_url(warning))
    assert Warning.objects.get(pk=warning.pk).state == WarningState.NO_RISK


def test_the_admin_lists_warnings_read_only_within_the_region(client, regions, grid_wogou):
    from django.contrib.auth.models import Permission

    mine = medical(regions, serial=1)
    other = medical(regions, serial=2, village=DONGGUAN)
    county = make_staff("county-anding-admin", regions[ANDING], Role.COUNTY)
    county.is_staff = True
    county.save()
    county.user_permissions.add(Permission.objects.get(codename="view_warning"))
    client.force_login(county)
    response = client.get(reverse("admin:screening_warning_changelist"))
    assert response.status_code == 200
    shown = {w.pk for w in response.context["cl"].result_list}
    assert shown == {mine.pk} and other.pk not in shown
    page = client.get(reverse("admin:screening_warning_change", args=[mine.pk]))
    assert page.status_code == 200 and mine.id_number not in body(page)


# --- admin -----------------------------------------------------------------------------------


def admin_user(name, region, role, *codenames):
    from django.contrib.auth.models import Permission

    user = make_staff(name, region, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


DEPARTMENT_PERMS = ("view_department", "add_department", "change_department")
INLINE = {
    "members-TOTAL_FORMS": "0",
    "members-INITIAL_FORMS": "0",
    "members-MIN_NUM_FORMS": "0",
    "members-MAX_NUM_FORMS": "1000",
}


def test_the_province_keeps_the_departments_and_their_feeds(client, regions):
    province = admin_user("prov-admin", regions["620000000000"], Role.PROVINCE, *DEPARTMENT_PERMS)
    client.force_login(province)
    data = {
        "code": "anding-mz",
        "name": "安定区民政局",
        "region": regions[ANDING].pk,
        "kinds": ["assistance", "disability"],
        "active": "on",
        **INLINE,
    }
    assert client.post(reverse("admin:screening_department_add"), data).status_code == 302
    department = Department.objects.get()
    assert department.kinds == ["assistance", "disability"]

    county = admin_user("county-admin", regions[ANDING], Role.COUNTY, *DEPARTMENT_PERMS)
    client.force_login(county)
    change = reverse("admin:screening_department_change", args=[department.pk])
    assert client.get(change).status_code == 200  # seen, read-only
    client.post(change, {**data, "name": "改名"})
    assert Department.objects.get().name == "安定区民政局"
    assert client.get(reverse("admin:screening_department_add")).status_code == 403


def test_each_county_keeps_its_own_medical_cost_line(client, regions):
    from apps.screening.models import FeedRule, FeedThreshold

    perms = ("view_feedthreshold", "add_feedthreshold", "change_feedthreshold")
    medical_line = FeedRule.objects.get(definition__code="medical", kind="threshold")
    theirs = FeedThreshold.objects.create(
        rule=medical_line, county=regions[TONGWEI], year=2026, value=Decimal("8000")
    )
    clerk = admin_user("clerk", regions[ANDING], Role.COUNTY, *perms)
    client.force_login(clerk)
    add = reverse("admin:screening_feedthreshold_add")
    line = {"rule": medical_line.pk, "year": 2026, "value": "10000"}
    assert client.post(add, {**line, "county": regions[TONGWEI].pk}).status_code == 200
    assert client.post(add, {**line, "county": regions[ANDING].pk}).status_code == 302
    shown = client.get(reverse("admin:screening_feedthreshold_changelist")).context["cl"]
    assert [m.county.code for m in shown.result_list] == [ANDING]
    change = reverse("admin:screening_feedthreshold_change", args=[theirs.pk])
    assert client.get(change).status_code == 302  # not in the clerk's list: not found
