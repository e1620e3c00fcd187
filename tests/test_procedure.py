"""The procedure's order, periods and documents: dates in the procedure's order (each
refusal at its field), the documents each step needs on file, the result announcement,
and the printable forms."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action, AuditEntry
from apps.declarations import services as s
from apps.declarations.models import (
    Declaration,
    DocumentKind,
    EvaluationOutcome,
    IncomeAssessment,
    ResultAnnouncement,
    State,
    Step,
    StepPolicy,
    Transition,
    VillageEvaluation,
    VisitDocument,
)
from apps.households.models import MonitoredHousehold
from apps.regions.models import Role

from .conftest import ANDING, ID_A, WOGOU, declaration_input, make_staff
from .prg_steps import refusal_shown, succeeded
from .review_steps import (
    photo,
    to_county,
    to_notice,
    to_township,
    to_verified,
    upload,
    visit_by_steps,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def days_ago(n: int) -> dt.date:
    return TODAY() - dt.timedelta(days=n)


def url(name, declaration, *args):
    return reverse(f"staff:{name}", args=[declaration.tracking_number, *args])


@pytest.fixture
def county_anding(regions):
    return make_staff("county-anding", regions[ANDING], Role.COUNTY)


def evaluation_post(**overrides) -> dict:
    data = {
        "evaluation_date": days_ago(15).isoformat(),
        "outcome": EvaluationOutcome.AGREED,
        "notice_start": days_ago(14).isoformat(),
        "notice_end": days_ago(8).isoformat(),
    }
    data.update(overrides)
    return data


@pytest.fixture
def assessed(case, grid_wogou, line):
    """Visited 20 days ago, information compared 18 days ago: ready for its evaluation."""
    to_verified(case, grid_wogou)
    s.declaration_assess_income(
        declaration=case, actor=grid_wogou, household_size=2, compared_on=days_ago(18)
    )
    return case


def field_errors(response, field) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


# --- dates in the procedure's order ---------------------------------------------------------


def test_a_notice_dated_before_the_declaration_and_lasting_a_day_is_refused(
    client, assessed, grid_wogou
):
    # The attack: a notice 400 days before the declaration, one day long.
    declared = timezone.localdate(assessed.submitted_at)
    before = declared - dt.timedelta(days=400)
    client.force_login(grid_wogou)
    response = client.post(
        url("evaluation", assessed),
        evaluation_post(
            evaluation_date=before.isoformat(),
            notice_start=before.isoformat(),
            notice_end=before.isoformat(),
        ),
    )
    assert response.status_code == 400
    assert "民主评议应在入户核查" in field_errors(response, "evaluation_date")[0]
    with pytest.raises(s.DateRefused):
        s.declaration_record_evaluation(
            declaration=assessed,
            actor=grid_wogou,
            evaluation_date=days_ago(15),
            outcome=EvaluationOutcome.AGREED,
            notice_start=before,
            notice_end=before,
        )
    assert not VillageEvaluation.objects.exists()
    assessed.refresh_from_db()
    assert assessed.state == State.VERIFIED  # never in notice, never passed up
    with pytest.raises(s.ActionRefused):
        s.declaration_pass_to_township(declaration=assessed, actor=grid_wogou)


def test_the_notice_runs_at_least_the_policy_minimum(client, assessed, grid_wogou):
    client.force_login(grid_wogou)
    # Four days, counting both ends: one short of "公示时间不少于5天".
    response = client.post(
        url("evaluation", assessed),
        evaluation_post(notice_start=days_ago(14).isoformat(), notice_end=days_ago(11).isoformat()),
    )
    assert response.status_code == 400
    (error,) = field_errors(response, "notice_end")
    assert "公示时间不少于5天" in error
    assert not VillageEvaluation.objects.exists()

    # The province lengthens it to 7 days: 5 is now too short.
    StepPolicy.objects.create(step=Step.NOTICE, minimum_days=7)
    response = client.post(
        url("evaluation", assessed),
        evaluation_post(notice_start=days_ago(14).isoformat(), notice_end=days_ago(10).isoformat()),
    )
    assert "公示时间不少于7天" in field_errors(response, "notice_end")[0]
    response = client.post(
        url("evaluation", assessed),
        evaluation_post(notice_start=days_ago(14).isoformat(), notice_end=days_ago(8).isoformat()),
    )
    assert response.status_code == 302
    assert Declaration.objects.get(pk=assessed.pk).state == State.IN_NOTICE


def test_the_notice_starts_on_or_after_the_evaluation(client, assessed, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(
        url("evaluation", assessed), evaluation_post(notice_start=days_ago(16).isoformat())
    )
    assert response.status_code == 400
    assert field_errors(response, "notice_start") == ["公示须在评议当天或之后开始。"]
    assert not VillageEvaluation.objects.exists()


def test_the_evaluation_comes_after_the_visit_and_the_information_comparison(
    client, case, grid_wogou, line
):
    to_verified(case, grid_wogou)  # visited 20 days ago
    s.declaration_assess_income(
        declaration=case, actor=grid_wogou, household_size=2, compared_on=days_ago(12)
    )
    client.force_login(grid_wogou)
    response = client.post(url("evaluation", case), evaluation_post())  # evaluated 15 days ago
    assert response.status_code == 400
    assert (
        f"民主评议应在信息比对（{days_ago(12).isoformat()}）之后"
        in (field_errors(response, "evaluation_date")[0])
    )
    response = client.post(
        url("evaluation", case),
        evaluation_post(evaluation_date=days_ago(21).isoformat()),
    )
    assert (
        f"民主评议应在入户核查（{days_ago(20).isoformat()}）之后"
        in (field_errors(response, "evaluation_date")[0])
    )
    assert not VillageEvaluation.objects.exists()
    response = client.post(
        url("evaluation", case),
        evaluation_post(
            evaluation_date=days_ago(11).isoformat(),
            notice_start=days_ago(10).isoformat(),
            notice_end=days_ago(4).isoformat(),
        ),
    )
    assert response.status_code == 302


def test_the_visit_is_on_or_after_the_declaration(client, case, grid_wogou):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    client.force_login(grid_wogou)
    # declared 21 days ago: the visit's first step refuses the day before, at its field
    response = client.post(
        url("visit_step", case, "date"), {"visit_date": days_ago(22).isoformat()}
    )
    assert response.status_code == 400
    assert field_errors(response, "visit_date") == ["核查日期不能早于申报日期。"]
    assert visit_by_steps(client, case, visit_date=days_ago(22)).status_code == 400
    assert not case.visits.exists()
    assert visit_by_steps(client, case, visit_date=days_ago(20)).status_code == 302
    assert case.visits.get().visit_date == days_ago(20)


@pytest.mark.parametrize(
    ("page", "post", "field"),
    [
        ("evaluation", evaluation_post(evaluation_date=(TODAY() + dt.timedelta(days=1)).isoformat()), "evaluation_date"),
        ("evaluation", evaluation_post(notice_start=(TODAY() + dt.timedelta(days=1)).isoformat(), notice_end=(TODAY() + dt.timedelta(days=9)).isoformat()), "notice_start"),
        ("income", {"household_size": 2, "compared_on": (TODAY() + dt.timedelta(days=1)).isoformat()}, "compared_on"),
    ],
)  # fmt: skip
def test_nothing_already_done_carries_a_future_date(
    client, case, grid_wogou, line, page, post, field
):
    to_verified(case, grid_wogou)
    if page == "evaluation":
        s.declaration_assess_income(
            declaration=case, actor=grid_wogou, household_size=2, compared_on=days_ago(18)
        )
    client.force_login(grid_wogou)
    response = client.post(url(page, case), post)
    assert response.status_code == 400
    assert field_errors(response, field) == ["已完成事项的日期不能晚于今天。"]
    assert not VillageEvaluation.objects.exists()
    # …and the service refuses it too, whoever calls it.
    with pytest.raises(s.DateRefused) as refused:
        s.declaration_assess_income(
            declaration=case,
            actor=grid_wogou,
            household_size=2,
            compared_on=TODAY() + dt.timedelta(days=1),
        )
    assert refused.value.field == "compared_on"


def test_the_township_sees_the_dates_on_one_line_with_late_recording_marked(
    client, case, grid_wogou, township_lujiagou, line
):
    to_township(case, grid_wogou)  # the evaluation of 15 days ago was recorded today
    client.force_login(township_lujiagou)
    page = client.get(url("detail", case)).content.decode()
    line_html = page.split('class="procedure-dates"')[1].split("</p>")[0]
    for label, day in [
        ("申报", days_ago(21)),
        ("入户核查", days_ago(20)),
        ("信息比对", days_ago(18)),
        ("民主评议", days_ago(15)),
        ("公示", days_ago(14)),
    ]:
        assert f"{label} {day.isoformat()}" in line_html
    assert f"{days_ago(14).isoformat()} – {days_ago(8).isoformat()}" in line_html
    assert "事后15天才录入" in line_html  # the evaluation
    assert "超过时限才录入" in line_html  # the visit, recorded after its 5-day deadline
    # The queue shows each case's line too.
    queue = client.get(reverse("staff:queue")).content.decode()
    queue_line = queue.split('class="history queue-dates"')[1].split("</ul>")[0]
    assert case.name in queue_line and f"民主评议 {days_ago(15).isoformat()}" in queue_line
    assert "事后15天才录入" in queue_line


# --- documents before each step ---------------------------------------------------------------


def test_the_case_is_not_passed_up_without_its_documents(client, case, grid_wogou, line):
    to_notice(case, grid_wogou, documents=False)
    client.force_login(grid_wogou)
    page = client.get(url("detail", case)).content.decode()
    assert "报送乡镇前，请上传：户口簿、身份证、民主评议记录。" in page
    upload(case, grid_wogou, DocumentKind.HOUSEHOLD_REGISTER)
    response = client.post(url("act", case, "pass_to_township"))
    assert refusal_shown(client, response, to=url("detail", case)) == (
        "请先上传：身份证、民主评议记录。"
    )
    case.refresh_from_db()
    assert case.state == State.IN_NOTICE
    assert not Transition.objects.filter(kind="pass_to_township").exists()

    upload(case, grid_wogou, DocumentKind.ID_CARD, DocumentKind.MINUTES)
    assert succeeded(client, client.post(url("act", case, "pass_to_township")))
    assert Declaration.objects.get(pk=case.pk).state == State.TOWNSHIP_REVIEW


def test_the_province_sets_the_documents_a_step_needs(case, grid_wogou, line):
    StepPolicy.objects.create(step=Step.INCOME, required_documents=[DocumentKind.ID_CARD])
    to_verified(case, grid_wogou)  # the letter is signed; the ID card is not on file
    with pytest.raises(s.WrongState) as refused:
        s.declaration_assess_income(declaration=case, actor=grid_wogou, household_size=2)
    assert str(refused.value.message) == "请先上传：身份证。"
    assert not IncomeAssessment.objects.exists()
    upload(case, grid_wogou, DocumentKind.ID_CARD)
    s.declaration_assess_income(declaration=case, actor=grid_wogou, household_size=2)


def test_no_household_is_enrolled_without_a_document(case, grid_wogou, county_anding):
    # A case that reached the county with no document at all (however it got there).
    Declaration.objects.filter(pk=case.pk).update(state=State.COUNTY_REVIEW)
    case.refresh_from_db()
    assert not VisitDocument.objects.exists()
    with pytest.raises(s.WrongState) as refused:
        s.declaration_county_approve(declaration=case, actor=county_anding)
    assert "户口簿" in str(refused.value.message)
    case.refresh_from_db()
    assert case.state == State.COUNTY_REVIEW
    assert not MonitoredHousehold.objects.exists()


# --- the result announcement (结果公告) --------------------------------------------------------


def announcement_post(start, end):
    from django.core.files.uploadedfile import SimpleUploadedFile

    cleaned = photo()
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "photo": SimpleUploadedFile("a.jpg", cleaned.content, content_type="image/jpeg"),
    }


def test_the_village_records_the_result_announcement_after_the_county_approves(
    client, case, grid_wogou, grid_taiping, township_lujiagou, county_anding, line, media
):
    to_county(case, grid_wogou, township_lujiagou)
    client.force_login(grid_wogou)
    response = client.post(url("announcement", case), announcement_post(TODAY(), TODAY()))
    # Not approved yet: refused, back to the page, which says why.
    assert "县级审批通过后才能进行结果公告" in refusal_shown(
        client, response, to=url("announcement", case)
    )

    with time_machine.travel(timezone.now() - dt.timedelta(days=7)):
        s.declaration_county_approve(declaration=case, actor=county_anding)
    response = client.post(url("announcement", case), announcement_post(days_ago(8), days_ago(1)))
    assert response.status_code == 400
    assert "结果公告应在县级审批" in field_errors(response, "start")[0]
    response = client.post(url("announcement", case), announcement_post(days_ago(6), TODAY()))
    assert response.status_code == 302
    announcement = ResultAnnouncement.objects.get()
    assert (announcement.start, announcement.end) == (days_ago(6), TODAY())
    assert announcement.document.kind == DocumentKind.RESULT_NOTICE
    assert Transition.objects.filter(declaration=case, kind="result_announced").count() == 1
    page = client.get(url("detail", case)).content.decode()
    assert f"{days_ago(6).isoformat()} – {TODAY().isoformat()}" in page
    assert "已录入结果公告" in page  # in the case's history

    # Another village's worker cannot see the case, let alone record it.
    client.force_login(grid_taiping)
    assert (
        client.post(url("announcement", case), announcement_post(TODAY(), TODAY())).status_code
        == 404
    )
    with pytest.raises(s.NotPermitted):
        s.declaration_record_announcement(
            declaration=case, actor=grid_taiping, start=TODAY(), end=TODAY(), cleaned=photo()
        )
    assert ResultAnnouncement.objects.count() == 1
    assert VisitDocument.objects.filter(kind=DocumentKind.RESULT_NOTICE).count() == 1


# --- printable forms ---------------------------------------------------------------------------


def test_the_pre_filled_letter_prints_without_the_full_id_number_and_is_audited(
    client, case, grid_wogou
):
    client.force_login(grid_wogou)
    response = client.get(url("print_case", case, "letter"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "申请及承诺授权书" in page and "魏家常" in page and "3组" in page
    assert case.id_number_masked in page and ID_A not in page
    assert "data-print" in page and "<style" not in page
    entry = AuditEntry.objects.get(action=Action.EXPORT)
    assert entry.actor == grid_wogou and entry.target == f"declarations.declaration:{case.pk}"
    assert entry.detail["printed"] == "letter"


def test_the_village_s_notice_list_shows_name_group_and_difficulty_only(
    client, regions, case, grid_wogou, grid_taiping, line
):
    to_notice(case, grid_wogou)
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        waiting = s.declaration_submit(
            village=regions[WOGOU],
            data=declaration_input(
                name="李四", id_number="621102199005050038", phone="13900000002"
            ),
        ).declaration
    client.force_login(grid_wogou)
    response = client.get(reverse("staff:print_village", args=[WOGOU, "notice"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "窝沟村防止返贫监测对象识别公示名单" in page
    row = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "魏家常" in row and "3组" in row and "因病" in row
    assert f"{days_ago(14).isoformat()} – {days_ago(8).isoformat()}" in row
    assert waiting.name not in row  # not under notice
    assert ID_A not in page and case.id_number_masked not in page and "139" not in page
    assert AuditEntry.objects.filter(
        action=Action.EXPORT, target=f"regions.region:{regions[WOGOU].pk}"
    ).exists()

    # The province may have names masked on posted lists.
    StepPolicy.objects.create(step=Step.NOTICE, minimum_days=5, names_masked=True)
    page = client.get(reverse("staff:print_village", args=[WOGOU, "notice"])).content.decode()
    assert "魏*常" in page and "魏家常" not in page

    # Another village's worker prints nothing of this village.
    client.force_login(grid_taiping)
    assert client.get(reverse("staff:print_village", args=[WOGOU, "notice"])).status_code == 404
    assert client.get(url("print_case", case, "letter")).status_code == 404


def test_the_visit_sheets_and_letters_of_a_village_s_waiting_cases_print_as_a_batch(
    client, regions, case, grid_wogou
):
    other = s.declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(name="李四", id_number="621102199005050038", phone="13900000002"),
    ).declaration
    client.force_login(grid_wogou)
    for form, title in (("visit", "入户核查表"), ("letter", "申请及承诺授权书")):
        page = client.get(reverse("staff:print_village", args=[WOGOU, form])).content.decode()
        assert page.count(f"<h1>{title}</h1>") == 2
        assert case.name in page and other.name in page


def test_the_result_announcement_prints_the_enrolled_households(
    client, case, grid_wogou, township_lujiagou, county_anding, line
):
    to_county(case, grid_wogou, township_lujiagou)
    client.force_login(grid_wogou)
    assert client.get(url("print_case", case, "announcement")).status_code == 404
    s.declaration_county_approve(declaration=case, actor=county_anding)
    page = client.get(reverse("staff:print_village", args=[WOGOU, "announcement"])).content.decode()
    assert "窝沟村防止返贫监测对象识别结果公告" in page
    assert "魏家常" in page and TODAY().isoformat() in page and ID_A not in page


# --- the policy in the admin ---------------------------------------------------------------


def test_a_provincial_admin_edits_the_documents_and_the_notice_period(client, regions):
    from apps.accounts.models import User

    root = User.objects.create_superuser("root", "", "pw")
    client.force_login(root)
    response = client.post(
        reverse("admin:declarations_steppolicy_add"),
        {
            "step": Step.PASS_UP,
            "required_documents": [DocumentKind.HOUSEHOLD_REGISTER, DocumentKind.MINUTES],
            "source": "省级文件",
        },
    )
    assert response.status_code == 302
    policy = StepPolicy.objects.get(step=Step.PASS_UP)
    assert policy.required_documents == [DocumentKind.HOUSEHOLD_REGISTER, DocumentKind.MINUTES]
    county = make_staff("county", regions[ANDING], Role.COUNTY)
    county.is_staff = True
    county.save()
    client.force_login(county)
    assert client.get(reverse("admin:declarations_steppolicy_changelist")).status_code == 403
