"""The farmer's form as a farmer meets it: each required field marked and named in its
own message, an old 15-digit ID explained, a household without a mobile phone giving a
relative's or the village's number, and a lost tracking number recovered by SMS to the
phone that declared — never shown on the page."""

import pytest
from django.urls import reverse

from apps.declarations.models import Declaration, PhoneOwner
from apps.notifications.models import Message

from .conftest import ID_A, ID_B, WOGOU, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def form_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})


def test_every_required_field_is_marked(client, form_url):
    page = client.get(form_url).content.decode()
    # name, phone, ID number, village group, kind of difficulty, consent
    for label in ("姓名", "联系手机号码", "身份证号", "组（社）", "遇到的困难"):
        assert f'{label}<span class="req">*</span>' in page, label
    assert '处理我的信息<span class="req">*</span>' in page
    assert "门牌号<span" not in page  # optional: no mark


def test_an_empty_form_names_each_missing_field(client, form_url):
    response = client.post(form_url, {"token": "0123456789abcdef0123456789abcdef"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["name"] == ["请填写姓名"]
    assert errors["phone"] == ["请填写手机号码"]
    assert errors["id_number"] == ["请填写身份证号码"]
    assert errors["address_group"] == ["请填写所在的组（社）"]
    assert "这是必填项。" not in response.content.decode()
    assert not Declaration.objects.exists()


def test_an_old_15_digit_id_number_is_explained(client, form_url):
    response = client.post(form_url, form_data(id_number="621102800101107"))
    assert response.status_code == 400
    assert response.context["form"].errors["id_number"] == ["请使用第二代身份证上的18位号码"]
    assert not Declaration.objects.exists()


def test_a_household_without_a_mobile_gives_a_relatives_number(client, form_url, grid_wogou):
    response = client.post(form_url, form_data(phone_owner="relative", phone_owner_relation="儿子"))
    assert response.status_code == 302
    declaration = Declaration.objects.get()
    assert declaration.phone_owner == PhoneOwner.RELATIVE
    assert declaration.phone_owner_relation == "儿子"
    client.force_login(grid_wogou)
    page = client.get(reverse("staff:detail", args=[declaration.tracking_number])).content
    assert "亲属的：儿子" in page.decode()


def test_a_relatives_number_needs_the_relation(client, form_url):
    response = client.post(form_url, form_data(phone_owner="relative"))
    assert response.status_code == 400
    assert response.context["form"].errors["phone_owner_relation"] == ["请填写机主与申请人的关系"]
    assert not Declaration.objects.exists()


def test_the_villages_number_needs_no_relation(client, form_url, grid_wogou):
    assert client.post(form_url, form_data(phone_owner="village")).status_code == 302
    assert Declaration.objects.get().phone_owner == PhoneOwner.VILLAGE


def test_an_unknown_phone_owner_is_refused(client, form_url):
    response = client.post(form_url, form_data(phone_owner="neighbour<script>"))
    assert response.status_code == 400
    assert "phone_owner" in response.context["form"].errors
    assert not Declaration.objects.exists()


# --- a lost tracking number ---------------------------------------------------------------


@pytest.fixture
def declared(client, form_url, grid_wogou):
    client.post(form_url, form_data())
    Message.objects.all().delete()
    return Declaration.objects.get()


def _recover(client, **data):
    values = {"id_number": ID_A, "phone": "13912345678", **data}
    return client.post(reverse("public:recover"), values)


def test_a_lost_tracking_number_goes_by_sms_to_the_declaring_phone_only(client, declared):
    response = _recover(client, id_number=ID_A.lower(), phone="139 1234 5678")
    assert response.status_code == 302  # Post/Redirect/Get: a refresh sends nothing
    page = client.get(response["Location"]).content.decode()
    assert declared.tracking_number not in page
    assert declared.tracking_number_display not in page
    assert "已通过短信发送到该手机" in page
    (message,) = Message.objects.all()
    assert message.recipient == "13912345678"
    assert declared.tracking_number_display in message.text


def test_a_wrong_phone_gets_the_same_page_and_no_sms(client, declared):
    right = client.get(_recover(client)["Location"]).content
    Message.objects.all().delete()
    wrong = _recover(client, phone="13800000000")
    assert wrong.status_code == 302
    assert client.get(wrong["Location"]).content == right
    assert not Message.objects.exists()


def test_someone_elses_id_number_gets_no_sms(client, declared):
    _recover(client, id_number=ID_B)
    assert not Message.objects.exists()


def test_asking_again_the_same_day_sends_one_sms(client, declared):
    _recover(client)
    _recover(client)
    assert Message.objects.count() == 1


def test_recovery_attempts_are_limited_per_id_number(client, declared, settings):
    settings.RATELIMIT_RECOVER_PER_ID = "2/d"
    for phone in ("13800000001", "13800000002"):
        assert _recover(client, phone=phone).status_code == 302
    # Full-width digits are the same ID number to the counter.
    full_width = ID_A.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert _recover(client, id_number=full_width, phone="13800000003").status_code == 429


def test_bad_input_is_refused_at_the_field(client, declared):
    response = _recover(client, id_number="12345", phone="")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["phone"] == ["请填写手机号码"]
    assert "id_number" in errors
    assert not Message.objects.exists()
