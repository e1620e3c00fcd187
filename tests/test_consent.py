"""Personal-information protection on the declaration path (PIPL arts. 13-17, 28-29):
the form's notice, the consent stored with each declaration, and the household's own
signed authorization letter before its income or property is checked."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.core.models import HistoryEntry
from apps.declarations import services as s
from apps.declarations.models import (
    NOTICE_VERSION,
    Channel,
    Consent,
    ConsentChannel,
    ConsentGiver,
    Declaration,
    DocumentKind,
    EvaluationOutcome,
    IncomeAssessment,
    PropertyCheck,
    State,
    Step,
    StepPolicy,
    Transition,
    VisitDocument,
)
from apps.notifications.models import Message

from .conftest import WOGOU, declaration_input, form_data
from .prg_steps import refusal_shown
from .review_steps import PASS_UP_DOCUMENTS, sign_letter, to_township, to_verified, upload

pytestmark = pytest.mark.django_db

ON_BEHALF = {
    "on_behalf": True,
    "declarant_name": "魏小军",
    "declarant_phone": "13600136000",
    "declarant_relation": "儿子",
}


@pytest.fixture
def form_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (250, 250, 250)).save(buffer, "JPEG")
    return SimpleUploadedFile("letter.jpg", buffer.getvalue(), content_type="image/jpeg")


def income_post():
    return {"household_size": 2, "compared_on": timezone.localdate().isoformat()}


def staff_url(name, declaration):
    return reverse(f"staff:{name}", args=[declaration.tracking_number])


@pytest.fixture
def proxy_case(regions, grid_wogou):
    """Declared three weeks ago by the applicant's son, on his behalf."""
    with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
        return s.declaration_submit(
            village=regions[WOGOU], data=declaration_input(**ON_BEHALF)
        ).declaration


# --- the notice --------------------------------------------------------------------------


def test_the_form_carries_a_light_folded_notice_with_its_version(client, form_url):
    response = client.get(form_url)
    page = response.content.decode()
    assert response.status_code == 200
    assert '<details class="privacy"' in page and f"{NOTICE_VERSION} 版" in page
    # Purposes, the departments, how long it is kept, the applicant's rights, whom to ask.
    for words in ("纳入防返贫监测", "民政", "医保", "残联", "办结满3年后删除", "180天"):
        assert words in page, words
    for words in ("撤回申报和同意", "更正", "村委会"):
        assert words in page, words
    # Read on cheap phones over 3G, under a strict CSP: small, no script, no inline style.
    assert len(response.content) <= 30 * 1024
    assert "<script" not in page and "style=" not in page and "<style" not in page


def test_the_notice_opens_when_the_consent_box_was_missed(client, form_url):
    response = client.post(form_url, form_data(consent=None))
    assert response.status_code == 400
    assert response.context["form"].errors["consent"] == ["请勾选，确认您已阅读告知书并同意。"]
    assert '<details class="privacy" id="notice" open>' in response.content.decode()
    assert not Declaration.objects.exists() and not Consent.objects.exists()
    assert not Message.objects.exists()


# --- consent stored with the declaration ---------------------------------------------------


@time_machine.travel(dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC), tick=False)
def test_a_declaration_from_the_form_stores_the_applicant_s_consent(client, form_url):
    assert client.post(form_url, form_data()).status_code == 302
    declaration = Declaration.objects.get()
    consent = Consent.objects.get(declaration=declaration)
    assert consent.notice_version == NOTICE_VERSION == "2026-12"
    assert consent.given_at == dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    assert (consent.channel, consent.given_by) == (ConsentChannel.FORM, ConsentGiver.APPLICANT)
    assert consent.document is None and consent.recorded_by is None


def test_a_declaration_on_someone_s_behalf_stores_the_declarant_s_consent(client, form_url):
    data = form_data(on_behalf="on", declarant_name="魏小军", declarant_phone="13600136000")
    assert client.post(form_url, {**data, "declarant_relation": "儿子"}).status_code == 302
    consent = Consent.objects.get()
    assert consent.declaration.channel == Channel.PROXY
    assert (consent.channel, consent.given_by) == (ConsentChannel.FORM, ConsentGiver.DECLARANT)


def test_a_case_a_cadre_enters_has_no_form_consent_and_waits_for_the_letter(regions, grid_wogou):
    # Nobody ticked a box: the household's consent is the letter it signs at the visit.
    declaration = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(), channel=Channel.VISIT, actor=grid_wogou
    ).declaration
    assert not Consent.objects.exists()
    assert s.authorization_missing(declaration)


def test_the_consent_is_written_with_the_declaration_or_not_at_all(regions, grid_wogou):
    first = s.declaration_submit(village=regions[WOGOU], data=declaration_input())
    again = s.declaration_submit(
        village=regions[WOGOU], data=declaration_input(phone="13700000001")
    )
    assert (again.created, again.reason) == (False, "open_case")
    assert list(Consent.objects.values_list("declaration", flat=True)) == [first.declaration.pk]


# --- the household's signed authorization letter ------------------------------------------


def test_income_of_a_case_declared_on_behalf_waits_for_the_signed_letter(
    client, proxy_case, grid_wogou, line, media
):
    to_verified(proxy_case, grid_wogou, letter=False)
    with pytest.raises(s.WrongState) as refused:
        s.declaration_assess_income(declaration=proxy_case, actor=grid_wogou, household_size=2)
    assert "承诺授权书" in str(refused.value.message)

    client.force_login(grid_wogou)
    page = client.get(staff_url("detail", proxy_case)).content.decode()
    assert "核算收入、核查财产前，请先上传该户签署的承诺授权书" in page
    assert "告知同意：代办人（代申报人），申报表" in page  # whose consent, and how
    response = client.post(staff_url("income", proxy_case), income_post())
    assert "请先上传：承诺授权书" in refusal_shown(
        client, response, to=staff_url("income", proxy_case)
    )
    assert not IncomeAssessment.objects.exists()
    assert not Transition.objects.filter(kind="income_assessed").exists()

    with time_machine.travel(dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC), tick=False):
        response = client.post(
            staff_url("upload", proxy_case), {"kind": DocumentKind.CONSENT, "file": jpeg()}
        )
    assert response.status_code == 302
    letter = Consent.objects.get(channel=ConsentChannel.HOME_VISIT)
    assert (letter.given_by, letter.notice_version) == (ConsentGiver.APPLICANT, NOTICE_VERSION)
    assert letter.given_at == dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    assert letter.document == VisitDocument.objects.get(kind=DocumentKind.CONSENT)
    assert letter.recorded_by == grid_wogou
    assert Transition.objects.filter(kind="authorization_signed").count() == 1

    response = client.post(staff_url("income", proxy_case), income_post())
    assert response.status_code == 302
    assert IncomeAssessment.objects.filter(declaration=proxy_case).exists()


def test_property_of_a_case_declared_on_behalf_waits_for_the_signed_letter(
    client, proxy_case, grid_wogou, township_lujiagou, line, media
):
    # A case that reached the township before the letter was asked for.
    sign_letter(proxy_case, grid_wogou)
    to_township(proxy_case, grid_wogou)
    Consent.objects.filter(channel=ConsentChannel.HOME_VISIT).delete()
    assert Declaration.objects.get(pk=proxy_case.pk).state == State.TOWNSHIP_REVIEW

    client.force_login(township_lujiagou)
    results = {"vehicles": "无", "housing": "土坯房一处", "business": "无"}
    post = {f"{k}_checked": "on" for k in results} | results
    response = client.post(staff_url("property", proxy_case), post)
    assert "承诺授权书" in refusal_shown(client, response, to=staff_url("property", proxy_case))
    assert not PropertyCheck.objects.exists()

    sign_letter(proxy_case, grid_wogou)
    s.declaration_record_property_check(declaration=proxy_case, actor=township_lujiagou, **results)
    assert PropertyCheck.objects.get(declaration=proxy_case).is_complete


def test_a_self_declared_case_waits_for_the_letter_unless_the_policy_says_otherwise(
    case, grid_wogou, township_lujiagou, line
):
    # By default every household signs its letter: the form's box is the declarant's.
    to_verified(case, grid_wogou, letter=False)
    assert s.authorization_missing(case)
    with pytest.raises(s.WrongState):
        s.declaration_assess_income(declaration=case, actor=grid_wogou, household_size=2)
    # A province whose policy takes the form's consent for the applicant's own.
    for step in (Step.INCOME, Step.PROPERTY):
        StepPolicy.objects.create(step=step, required_documents=[])
    assert not s.authorization_missing(case)
    s.declaration_assess_income(
        declaration=case,
        actor=grid_wogou,
        household_size=2,
        compared_on=timezone.localdate() - dt.timedelta(days=18),
    )
    today = timezone.localdate()
    s.declaration_record_evaluation(
        declaration=case,
        actor=grid_wogou,
        evaluation_date=today - dt.timedelta(days=15),
        outcome=EvaluationOutcome.AGREED,
        notice_start=today - dt.timedelta(days=14),
        notice_end=today - dt.timedelta(days=8),
    )
    upload(case, grid_wogou, *PASS_UP_DOCUMENTS)
    s.declaration_pass_to_township(declaration=case, actor=grid_wogou)
    s.declaration_record_property_check(
        declaration=case,
        actor=township_lujiagou,
        vehicles="无",
        housing="土坯房一处",
        business="无",
    )
    assert not Consent.objects.filter(channel=ConsentChannel.HOME_VISIT).exists()


def test_only_the_village_uploads_the_letter_and_a_refusal_leaves_nothing(
    client, proxy_case, grid_taiping, township_lujiagou, media
):
    client.force_login(township_lujiagou)
    response = client.post(
        staff_url("upload", proxy_case), {"kind": DocumentKind.CONSENT, "file": jpeg()}
    )
    assert refusal_shown(client, response, to=staff_url("detail", proxy_case)) == (
        "您无权对这件申报执行此操作。"
    )
    with pytest.raises(s.NotPermitted):
        s.consent_letter_upload(declaration=proxy_case, actor=grid_taiping, cleaned=_cleaned())
    assert (
        not VisitDocument.objects.exists()
        and not Consent.objects.filter(channel=ConsentChannel.HOME_VISIT).exists()
    )
    assert not list(media.rglob("*.jpg"))


# --- helpers -------------------------------------------------------------------------------


def _cleaned():
    from apps.core.uploads import clean_upload

    return clean_upload(jpeg())


def test_the_letter_stays_while_its_consent_does_and_goes_with_the_whole_case(
    proxy_case, grid_wogou, media
):
    from django.db.models import RestrictedError

    letter = sign_letter(proxy_case, grid_wogou)
    with pytest.raises(RestrictedError):
        VisitDocument.objects.filter(pk=letter.document_id).delete()
    # Deleting the whole case (as the retention purge does, its history first) takes its
    # consents along.
    with HistoryEntry.unprotected(Transition):
        Transition.objects.filter(declaration=proxy_case).delete()
        Declaration.objects.filter(pk=proxy_case.pk).delete()
    assert not Consent.objects.exists() and not VisitDocument.objects.exists()
