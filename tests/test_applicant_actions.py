"""The applicant appeals or withdraws from the status page (tracking number + phone),
with a one-time code sent by SMS to the phone on file."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import ActionCode, Appeal, Declaration, Level, State
from apps.notifications import backends
from apps.notifications.models import Message

from .conftest import WOGOU, declaration_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(regions, grid_wogou):
    return s.declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration


def look_up(client, case):
    response = client.post(
        reverse("public:status"), {"tracking_number": case.tracking_number, "phone": "13912345678"}
    )
    return response, response.context.get("case_token")


def ask_code(client, token, action, capture) -> str:
    """Ask for a code on the status page; the code, as the applicant's phone got it."""
    backends.outbox.clear()
    with capture(execute=True):
        response = client.post(reverse("public:status_code", args=[action]), {"case": token})
    assert response.status_code == 200
    (sms,) = [m for m in backends.outbox if m["template"] == "applicant_action_code"]
    assert sms["phone"] == "13912345678"
    return sms["params"]["code"]


def assert_code_error(response, message):
    """The page shows the error (in Chinese) at the code field."""
    assert "code" in response.context["form"].errors
    assert message in response.content.decode()


def act(client, action, token, code, reason="情况好转"):
    return client.post(
        reverse("public:status_act", args=[action]),
        {"case": token, "reason": reason, "code": code},
    )


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_a_rejected_applicant_appeals_to_the_township(client, case, grid_wogou, capture):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="收入高于标准")
    response, token = look_up(client, case)
    page = response.content.decode()
    assert "收入高于标准" in page and reverse("public:status_code", args=["appeal"]) in page
    code = ask_code(client, token, "appeal", capture)
    response = act(client, "appeal", token, code, reason="药费没算")
    assert response.status_code == 200
    appeal = Appeal.objects.get()
    assert (appeal.level, appeal.channel, appeal.recorded_by) == (Level.TOWNSHIP, "online", None)
    assert "申诉" in look_up(client, case)[0].content.decode()
    # A second appeal while the first is pending is refused.
    again = act(client, "appeal", token, ask_code(client, token, "appeal", capture), "再次")
    assert again.status_code == 409 and Appeal.objects.count() == 1


def test_an_open_declaration_can_be_withdrawn_by_its_applicant(client, case, capture):
    response, token = look_up(client, case)
    assert reverse("public:status_code", args=["withdraw"]) in response.content.decode()
    code = ask_code(client, token, "withdraw", capture)
    assert act(client, "withdraw", token, code).status_code == 200
    assert Declaration.objects.get(pk=case.pk).state == State.WITHDRAWN


def test_without_a_valid_token_nothing_happens(client, case, capture):
    forged = client.post(
        reverse("public:status_act", args=["withdraw"]),
        {"case": f"{case.pk}:x:y", "reason": "x", "code": "123456"},
    )
    assert forged.status_code == 403
    forged_code = client.post(
        reverse("public:status_code", args=["withdraw"]), {"case": f"{case.pk}:x:y"}
    )
    assert forged_code.status_code == 403 and not ActionCode.objects.exists()
    _response, token = look_up(client, case)
    code = ask_code(client, token, "withdraw", capture)
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        expired = act(client, "withdraw", token, code)
    assert expired.status_code == 403
    assert (
        client.post(reverse("public:status_act", args=["delete"]), {"case": token}).status_code
        == 404
    )
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED


def test_a_reason_is_required(client, case, capture):
    _response, token = look_up(client, case)
    code = ask_code(client, token, "withdraw", capture)
    response = act(client, "withdraw", token, code, reason="")
    assert response.status_code == 400 and response.context["form"].errors["reason"]
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED


# --- the one-time code ---------------------------------------------------------------------


def test_the_tracking_number_and_phone_alone_no_longer_withdraw(client, case):
    _response, token = look_up(client, case)
    response = client.post(
        reverse("public:status_act", args=["withdraw"]), {"case": token, "reason": "情况好转"}
    )
    assert response.status_code == 400
    assert_code_error(response, "请输入短信收到的6位验证码。")
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED


def test_a_wrong_code_is_an_error_at_the_field_and_changes_nothing(client, case, capture):
    _response, token = look_up(client, case)
    code = ask_code(client, token, "withdraw", capture)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = act(client, "withdraw", token, wrong)
    assert response.status_code == 400
    assert_code_error(response, "验证码不正确，请核对短信后重新输入。")
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED
    # The right code still works afterwards.
    assert act(client, "withdraw", token, code).status_code == 200


def test_five_wrong_codes_lock_the_code_until_a_new_one_is_sent(client, case, capture):
    _response, token = look_up(client, case)
    code = ask_code(client, token, "withdraw", capture)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    statuses = [act(client, "withdraw", token, wrong).status_code for _ in range(5)]
    assert statuses == [400] * 5
    locked = act(client, "withdraw", token, code)
    assert locked.status_code == 400
    assert_code_error(locked, "验证码错误次数过多，请重新获取验证码。")
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED
    new_code = ask_code(client, token, "withdraw", capture)
    assert act(client, "withdraw", token, new_code).status_code == 200
    assert Declaration.objects.get(pk=case.pk).state == State.WITHDRAWN


def test_a_code_expires_after_ten_minutes(client, case, capture):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _response, token = look_up(client, case)
        code = ask_code(client, token, "withdraw", capture)
    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        response = act(client, "withdraw", token, code)
    assert response.status_code == 400
    assert_code_error(response, "验证码已过期或已使用，请重新获取验证码。")
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED
    with time_machine.travel(start + dt.timedelta(minutes=9, seconds=59), tick=False):
        assert act(client, "withdraw", token, code).status_code == 200


def test_a_code_is_used_once_and_only_its_keyed_hash_is_stored(client, case, grid_wogou, capture):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="收入高于标准")
    _response, token = look_up(client, case)
    code = ask_code(client, token, "appeal", capture)
    stored = ActionCode.objects.get()
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    # Staff looking at the message table do not see it either.
    assert code not in Message.objects.get(template="applicant_action_code").text
    assert act(client, "appeal", token, code).status_code == 200
    Appeal.objects.update(outcome="reopened")  # as if decided, so a new appeal could follow
    Declaration.objects.filter(pk=case.pk).update(state=State.REJECTED)
    again = act(client, "appeal", token, code)
    assert again.status_code == 400 and again.context["form"].errors["code"]
    assert Appeal.objects.count() == 1


def test_a_refused_action_does_not_spend_the_code(client, case, grid_wogou, capture):
    _response, token = look_up(client, case)
    code = ask_code(client, token, "appeal", capture)  # the case is open: nothing to appeal
    assert act(client, "appeal", token, code).status_code == 409
    assert act(client, "withdraw", token, code).status_code == 200


def test_codes_are_limited_per_case(client, case, capture, settings):
    settings.RATELIMIT_CODE_PER_CASE = "2/h"
    _response, token = look_up(client, case)
    ask_code(client, token, "withdraw", capture)
    ask_code(client, token, "withdraw", capture)
    refused = client.post(reverse("public:status_code", args=["withdraw"]), {"case": token})
    assert refused.status_code == 429
    assert Message.objects.filter(template="applicant_action_code").count() == 2
