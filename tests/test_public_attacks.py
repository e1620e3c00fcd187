"""Attacks on the farmer's public pages: a neighbour's ID number, digits of other
scripts, and rate limits dodged by writing the same number differently."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.core.identity import mobile_hash, validate_id_number, validate_mobile
from apps.declarations.models import Declaration
from apps.declarations.services import declaration_submit
from apps.notifications.models import Message

from .conftest import ID_A, TAIPING, WOGOU, declaration_input, form_data

pytestmark = pytest.mark.django_db

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
FOREIGN_DIGITS = "请用阿拉伯数字0–9填写号码"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.fixture
def form_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})


@pytest.fixture
def taiping_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[TAIPING].public_slug})


# --- a neighbour's ID number ------------------------------------------------------------


def test_a_neighbours_id_number_shows_nothing_of_their_case(client, regions, taiping_url):
    case = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    # Someone else, at another village's poster, types the neighbour's ID number.
    response = client.post(taiping_url, form_data(name="李四", phone="13700000001", token="f" * 32))
    assert response.status_code == 200
    page = response.content.decode()
    for secret in (
        case.tracking_number,
        case.tracking_number_display,
        case.name,
        "13912345678",
        "5678",
        case.village.name,
        case.get_state_display(),
    ):
        assert secret not in page
    assert "已有申报正在办理" in page
    assert "村干部会与该户联系" in page
    assert Declaration.objects.count() == 1


def test_the_tracking_number_goes_once_by_sms_to_the_phone_on_file(client, regions, taiping_url):
    case = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    for i in range(4):  # repeated attempts, from several phones
        client.post(taiping_url, form_data(phone=f"1370000000{i}", token=f"{i:032x}"))
    sent = Message.objects.filter(template="applicant_open_case")
    assert [(m.recipient, m.params["tracking"]) for m in sent] == [
        ("13912345678", case.tracking_number_display)
    ]
    attackers = [mobile_hash(f"1370000000{i}") for i in range(4)]
    assert not Message.objects.filter(recipient_hash__in=attackers).exists()
    # The next day, one more at most.
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        client.post(taiping_url, form_data(phone="13700000009", token="9" * 32))
        client.post(taiping_url, form_data(phone="13700000008", token="8" * 32))
    assert Message.objects.filter(template="applicant_open_case").count() == 2


def test_the_open_case_sms_is_rate_limited_per_phone_on_file(
    client, form_url, taiping_url, settings
):
    settings.RATELIMIT_SMS_PER_PHONE = "1/h"
    # The household declares (its phone gets the receipt: this hour's one SMS)...
    assert client.post(form_url, form_data()).status_code == 302
    assert Message.objects.filter(template="applicant_receipt").count() == 1
    # ...and someone types its ID number again within the hour: no further SMS.
    response = client.post(taiping_url, form_data(phone="13700000001", token="f" * 32))
    assert response.status_code == 200
    assert not Message.objects.filter(template="applicant_open_case").exists()


# --- digits of other scripts --------------------------------------------------------------


@pytest.mark.parametrize("script", [ARABIC_INDIC, DEVANAGARI], ids=["arabic-indic", "devanagari"])
def test_an_id_number_in_another_script_s_digits_is_refused_at_the_field(
    client, form_url, regions, script
):
    declaration_submit(village=regions[WOGOU], data=declaration_input())
    # The same person's ID number in other digits: it must not open a second case.
    response = client.post(form_url, form_data(id_number=ID_A.translate(script), token="a" * 32))
    assert response.status_code == 400
    assert "id_number" in response.context["form"].errors
    assert FOREIGN_DIGITS in response.content.decode()
    assert Declaration.objects.count() == 1


def test_a_phone_number_in_another_script_s_digits_is_refused_at_the_field(client, form_url):
    response = client.post(form_url, form_data(phone="13912345678".translate(ARABIC_INDIC)))
    assert response.status_code == 400
    assert "phone" in response.context["form"].errors
    assert FOREIGN_DIGITS in response.content.decode()
    assert not Declaration.objects.exists() and not Message.objects.exists()


def test_full_width_digits_are_read_as_ascii_and_find_the_same_person(client, form_url, regions):
    declaration_submit(village=regions[WOGOU], data=declaration_input())
    response = client.post(form_url, form_data(id_number=ID_A.translate(FULL_WIDTH)))
    assert response.status_code == 200  # the open-case page
    assert Declaration.objects.count() == 1
    assert validate_id_number(ID_A.translate(FULL_WIDTH)) == ID_A
    assert validate_mobile("１３９１２３４５６７８") == "13912345678"


def test_a_tracking_number_in_other_digits_is_a_field_error(client):
    response = client.post(
        reverse("public:status"),
        {"tracking_number": "123456789012".translate(ARABIC_INDIC), "phone": "13912345678"},
    )
    assert response.status_code == 400
    assert "tracking_number" in response.context["form"].errors
    assert FOREIGN_DIGITS in response.content.decode()


# --- rate limits count normalised values --------------------------------------------------


def test_a_tracking_number_in_full_width_digits_shares_the_counter(client):
    url = reverse("public:status")
    number = "123456789012"
    spellings = [number, number.translate(FULL_WIDTH), "1234 5678 9012"]
    statuses = [
        client.post(
            url, {"tracking_number": spellings[i % 3], "phone": f"1390000{i:04d}"}
        ).status_code
        for i in range(11)
    ]
    assert statuses == [200] * 10 + [429]


def test_a_phone_in_full_width_digits_shares_the_submission_counter(client, form_url):
    from .test_rate_limits import person

    statuses = []
    for i in range(6):
        data = form_data(**person(i))
        data["phone"] = "13912345678" if i % 2 else "13912345678".translate(FULL_WIDTH)
        statuses.append(client.post(form_url, data).status_code)
    assert statuses == [302] * 5 + [429]
