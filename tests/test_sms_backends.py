"""The SMS backends against the providers' HTTP APIs.

Only the outside world is faked: the official SDKs run for real and their HTTP requests
(both SDKs use `requests` on the sync path — darabonba.core.DaraCore.do_action for Aliyun,
tencentcloud.common.http.request.ProxyConnection for Tencent) are answered by `responses`.
"""

import datetime as dt
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import time_machine
from django.test import override_settings
from responses import matchers

from apps.notifications import backends
from apps.notifications.backends import (
    AliyunBackend,
    ConsoleBackend,
    LocmemBackend,
    SmsError,
    TencentBackend,
)
from apps.notifications.models import Message
from apps.notifications.services import OutgoingSms, messages_dispatch_pending, messages_enqueue
from apps.notifications.templates_registry import get_template

PHONE = "13800138000"
MASKED = "138****8000"

ALIYUN_URL = "https://dysmsapi.aliyuncs.com/"
TENCENT_URL = "https://sms.tencentcloudapi.com/"

PROVIDER_SETTINGS = dict(
    SMS_SIGN_NAME="一键申报",
    SMS_TEMPLATE_CODES={"applicant_receipt": "SMS_100001", "grid_new_declaration": "1700002"},
    ALIYUN_SMS_ACCESS_KEY_ID="LTAI-test-key-id",
    ALIYUN_SMS_ACCESS_KEY_SECRET="test-key-secret",
    ALIYUN_SMS_ENDPOINT="dysmsapi.aliyuncs.com",
    TENCENT_SMS_SECRET_ID="AKID-test-secret-id",
    TENCENT_SMS_SECRET_KEY="test-secret-key",
    TENCENT_SMS_SDK_APP_ID="1400000001",
    TENCENT_SMS_REGION="ap-guangzhou",
)

RECEIPT_PARAMS = {"tracking": "A2025-000123", "due": "6月3日"}
GRID_PARAMS = {  # deliberately not in the template's order
    "link": "https://yjsb.example/staff/c/k-0123456789/",
    "due": "6月3日",
    "kinds": "因病",
    "village": "窝沟村",
    "name": "魏*常",
}


@pytest.fixture(autouse=True)
def provider_settings():
    with override_settings(**PROVIDER_SETTINGS):
        yield


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


# --- Console and locmem ---------------------------------------------------------------


def test_console_prints_the_masked_number_never_the_full_one():
    backend = ConsoleBackend()
    backend.stream = io.StringIO()
    message_id = backend.send(
        phone=PHONE,
        template=get_template("applicant_receipt"),
        params=RECEIPT_PARAMS,
        reference="m-1",
    )
    printed = backend.stream.getvalue()
    assert message_id == "console-m-1"
    assert MASKED in printed
    assert PHONE not in printed
    assert "A2025-000123" in printed


def test_locmem_records_the_message():
    message_id = LocmemBackend().send(
        phone=PHONE,
        template=get_template("applicant_receipt"),
        params=RECEIPT_PARAMS,
        reference="m-2",
    )
    assert message_id == "locmem-m-2"
    assert backends.outbox == [
        {
            "phone": PHONE,
            "template": "applicant_receipt",
            "params": RECEIPT_PARAMS,
            "reference": "m-2",
        }
    ]


@pytest.mark.parametrize(
    "path, cls",
    [
        ("apps.notifications.backends.ConsoleBackend", ConsoleBackend),
        ("apps.notifications.backends.LocmemBackend", LocmemBackend),
        ("apps.notifications.backends.AliyunBackend", AliyunBackend),
        ("apps.notifications.backends.TencentBackend", TencentBackend),
    ],
)
def test_get_backend_follows_the_setting(path, cls):
    with override_settings(SMS_BACKEND=path):
        assert type(backends.get_backend()) is cls


# --- Aliyun ---------------------------------------------------------------------------


def aliyun_send(template="applicant_receipt", params=RECEIPT_PARAMS):
    return AliyunBackend().send(
        phone=PHONE, template=get_template(template), params=params, reference="m-10"
    )


def aliyun_query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def test_aliyun_success_returns_biz_id_and_sends_template_sign_phone_params(mocked):
    mocked.post(
        ALIYUN_URL,
        json={
            "Code": "OK",
            "Message": "OK",
            "BizId": "900619746936498440^0",
            "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
        },
    )
    assert aliyun_send() == "900619746936498440^0"

    assert len(mocked.calls) == 1
    call = mocked.calls[0]
    query = aliyun_query(call)
    assert call.request.headers["x-acs-action"] == "SendSms"
    assert call.request.headers["Authorization"].startswith(
        "ACS3-HMAC-SHA256 Credential=LTAI-test-key-id,"
    )
    assert query["PhoneNumbers"] == PHONE
    assert query["SignName"] == "一键申报"
    assert query["TemplateCode"] == "SMS_100001"
    assert json.loads(query["TemplateParam"]) == RECEIPT_PARAMS
    assert query["OutId"] == "m-10"


def test_aliyun_template_param_carries_only_the_templates_named_params(mocked):
    mocked.post(ALIYUN_URL, json={"Code": "OK", "Message": "OK", "BizId": "1^0"})
    aliyun_send(params={**RECEIPT_PARAMS, "phone": PHONE})
    assert json.loads(aliyun_query(mocked.calls[0])["TemplateParam"]) == RECEIPT_PARAMS


@pytest.mark.parametrize(
    "code, transient",
    [
        ("isv.BUSINESS_LIMIT_CONTROL", True),  # per-number throttling
        ("isp.SYSTEM_ERROR", True),
        ("isv.MOBILE_NUMBER_ILLEGAL", False),
        ("isv.SMS_TEMPLATE_ILLEGAL", False),
    ],
)
def test_aliyun_error_code_in_body_maps_to_sms_error(mocked, code, transient):
    mocked.post(ALIYUN_URL, json={"Code": code, "Message": "refused", "RequestId": "r-1"})
    with pytest.raises(SmsError) as exc_info:
        aliyun_send()
    assert exc_info.value.transient is transient
    assert code in str(exc_info.value)


@pytest.mark.parametrize(
    "status, code, transient",
    [
        (400, "Throttling.User", True),
        (404, "InvalidAccessKeyId.NotFound", False),
        (503, "ServiceUnavailable", True),
    ],
)
def test_aliyun_http_error_maps_to_sms_error(mocked, status, code, transient):
    mocked.post(
        ALIYUN_URL,
        status=status,
        json={"Code": code, "Message": "refused", "RequestId": "r-2"},
    )
    with pytest.raises(SmsError) as exc_info:
        aliyun_send()
    assert exc_info.value.transient is transient
    assert code in str(exc_info.value)


def test_aliyun_gateway_error_page_is_transient(mocked):
    mocked.post(ALIYUN_URL, status=502, body="<html>502 Bad Gateway</html>")
    with pytest.raises(SmsError) as exc_info:
        aliyun_send()
    assert exc_info.value.transient is True


def test_aliyun_connection_error_is_transient(mocked):
    mocked.post(ALIYUN_URL, body=requests.ConnectionError("connection refused"))
    with pytest.raises(SmsError) as exc_info:
        aliyun_send()
    assert exc_info.value.transient is True


def test_aliyun_error_never_carries_the_phone_number(mocked):
    mocked.post(ALIYUN_URL, body=requests.ConnectionError(f"refused for {PHONE}"))
    with pytest.raises(SmsError) as exc_info:
        aliyun_send()
    assert PHONE not in str(exc_info.value)


# --- Tencent --------------------------------------------------------------------------


def tencent_send(template="grid_new_declaration", params=GRID_PARAMS):
    return TencentBackend().send(
        phone=PHONE, template=get_template(template), params=params, reference="m-20"
    )


def tencent_ok(code="Ok", message="send success", serial="5000:1045710669157053657849499619"):
    return {
        "Response": {
            "SendStatusSet": [
                {
                    "SerialNo": serial,
                    "PhoneNumber": f"+86{PHONE}",
                    "Fee": 1,
                    "SessionContext": "m-20",
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }
            ],
            "RequestId": "a0aabda6-cf91-4f3e-a2cf-a7b8d9b0e8a5",
        }
    }


def test_tencent_success_returns_serial_no_and_sends_params_in_template_order(mocked):
    mocked.post(TENCENT_URL, json=tencent_ok())
    assert tencent_send() == "5000:1045710669157053657849499619"

    assert len(mocked.calls) == 1
    request = mocked.calls[0].request
    assert request.headers["X-TC-Action"] == "SendSms"
    assert request.headers["X-TC-Region"] == "ap-guangzhou"
    assert "Credential=AKID-test-secret-id/" in request.headers["Authorization"]
    body = json.loads(request.body)
    assert body["PhoneNumberSet"] == [f"+86{PHONE}"]
    assert body["SmsSdkAppId"] == "1400000001"
    assert body["SignName"] == "一键申报"
    assert body["TemplateId"] == "1700002"
    # grid_new_declaration's params are (village, name, kinds, due, link).
    assert body["TemplateParamSet"] == [
        "窝沟村",
        "魏*常",
        "因病",
        "6月3日",
        "https://yjsb.example/staff/c/k-0123456789/",
    ]
    assert body["SessionContext"] == "m-20"


def test_tencent_template_code_falls_back_to_template_name(mocked):
    mocked.post(TENCENT_URL, json=tencent_ok())
    with override_settings(SMS_TEMPLATE_CODES={}):
        tencent_send(template="applicant_receipt", params=RECEIPT_PARAMS)
    body = json.loads(mocked.calls[0].request.body)
    assert body["TemplateId"] == "applicant_receipt"
    assert body["TemplateParamSet"] == ["A2025-000123", "6月3日"]


@pytest.mark.parametrize(
    "code, transient",
    [
        ("LimitExceeded.PhoneNumberThirtySecondLimit", True),
        ("LimitExceeded.PhoneNumberDailyLimit", True),
        ("InvalidParameterValue.IncorrectPhoneNumber", False),
        ("FailedOperation.TemplateIncorrectOrUnapproved", False),
    ],
)
def test_tencent_error_code_in_send_status_maps_to_sms_error(mocked, code, transient):
    mocked.post(TENCENT_URL, json=tencent_ok(code=code, message="refused", serial=""))
    with pytest.raises(SmsError) as exc_info:
        tencent_send()
    assert exc_info.value.transient is transient
    assert code in str(exc_info.value)


@pytest.mark.parametrize(
    "code, transient",
    [
        ("RequestLimitExceeded", True),
        ("InternalError", True),
        ("AuthFailure.SecretIdNotFound", False),
        ("InvalidParameterValue.IncorrectPhoneNumber", False),
    ],
)
def test_tencent_api_error_maps_to_sms_error(mocked, code, transient):
    mocked.post(
        TENCENT_URL,
        json={
            "Response": {
                "Error": {"Code": code, "Message": "refused"},
                "RequestId": "b1c2d3e4-0000-4000-8000-000000000000",
            }
        },
    )
    with pytest.raises(SmsError) as exc_info:
        tencent_send()
    assert exc_info.value.transient is transient
    assert code in str(exc_info.value)


def test_tencent_connection_error_is_transient(mocked):
    mocked.post(TENCENT_URL, body=requests.ConnectionError("connection refused"))
    with pytest.raises(SmsError) as exc_info:
        tencent_send()
    assert exc_info.value.transient is True


def test_tencent_gateway_error_is_transient(mocked):
    mocked.post(TENCENT_URL, status=502, body="<html>502 Bad Gateway</html>")
    with pytest.raises(SmsError) as exc_info:
        tencent_send()
    assert exc_info.value.transient is True


# --- A worker killed after the provider accepted the SMS -------------------------------
#
# The worker claimed the row ("sending"), the provider accepted the SMS, and the worker
# died before writing "sent". Ten minutes later the sweep finds the row. The provider
# knows the message by our row id (Aliyun's OutId, Tencent's SessionContext): asked
# first, it decides between "sent" and sending again.

CLAIMED = dt.datetime(2026, 11, 23, 9, 0, 5, tzinfo=dt.UTC)  # 17:00:05 in Beijing
SWEEP = CLAIMED + dt.timedelta(minutes=11)


def abandoned_message(claimed=CLAIMED) -> Message:
    """A row a dead worker left in "sending", claimed at `claimed`."""
    with time_machine.travel(claimed - dt.timedelta(seconds=5), tick=False):
        (pk,) = messages_enqueue(
            subject="declaration:1",
            region_code="621102100201",
            messages=[
                OutgoingSms(template="applicant_receipt", recipient=PHONE, params=RECEIPT_PARAMS)
            ],
        )
    Message.objects.filter(pk=pk).update(
        status=Message.Status.SENDING, claimed_at=claimed, attempts=1
    )
    return Message.objects.get(pk=pk)


def sweep(backend: str, at=SWEEP) -> None:
    with (
        override_settings(SMS_BACKEND=f"apps.notifications.backends.{backend}"),
        time_machine.travel(at, tick=False),
    ):
        messages_dispatch_pending()  # tasks run eagerly in the tests


def aliyun_action(action):
    return [matchers.header_matcher({"x-acs-action": action})]


def aliyun_details(*out_ids, total=None):
    records = [
        {
            "OutId": out_id,
            "PhoneNum": PHONE,
            "SendStatus": 3,
            "ErrCode": "DELIVERED",
            "TemplateCode": "SMS_100001",
            "Content": "【一键申报】…",
            "SendDate": "2026-11-23 17:00:06",
            "ReceiveDate": "2026-11-23 17:00:09",
        }
        for out_id in out_ids
    ]
    return {
        "Code": "OK",
        "Message": "OK",
        "RequestId": "819BE656-D2E0-4858-8B21-B2E477085AAF",
        "TotalCount": total if total is not None else len(records),
        "SmsSendDetailDTOs": {"SmsSendDetailDTO": records},
    }


def aliyun_calls(mocked, action):
    return [c for c in mocked.calls if c.request.headers["x-acs-action"] == action]


@pytest.mark.django_db
def test_aliyun_accepted_before_the_crash_is_marked_sent_not_sent_again(mocked):
    message = abandoned_message()
    mocked.post(
        ALIYUN_URL,
        match=aliyun_action("QuerySendDetails"),
        json=aliyun_details(str(message.pk - 1), str(message.pk)),
    )
    mocked.post(ALIYUN_URL, match=aliyun_action("SendSms"), json={"Code": "OK", "BizId": "2^0"})

    sweep("AliyunBackend")

    assert aliyun_calls(mocked, "SendSms") == []
    (query,) = aliyun_calls(mocked, "QuerySendDetails")
    assert aliyun_query(query)["PhoneNumber"] == PHONE
    assert aliyun_query(query)["SendDate"] == "20261123"  # Beijing date of the claim
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.sent_at == CLAIMED and message.attempts == 1


@pytest.mark.django_db
def test_aliyun_without_a_record_the_message_is_sent_again_once(mocked):
    message = abandoned_message()
    # The phone's other messages of the day, not this one.
    mocked.post(
        ALIYUN_URL,
        match=aliyun_action("QuerySendDetails"),
        json=aliyun_details(str(message.pk - 1), str(message.pk + 1)),
    )
    mocked.post(ALIYUN_URL, match=aliyun_action("SendSms"), json={"Code": "OK", "BizId": "900^0"})

    sweep("AliyunBackend")

    (send,) = aliyun_calls(mocked, "SendSms")
    assert aliyun_query(send)["OutId"] == str(message.pk)
    message.refresh_from_db()
    assert (message.status, message.provider_id, message.attempts) == (
        Message.Status.SENT,
        "900^0",
        2,
    )


@pytest.mark.django_db
def test_aliyun_a_claim_just_before_midnight_is_looked_up_on_both_days(mocked):
    claimed = dt.datetime(2026, 11, 23, 15, 59, 55, tzinfo=dt.UTC)  # 23:59:55 in Beijing
    message = abandoned_message(claimed)
    mocked.post(
        ALIYUN_URL,
        match=[
            *aliyun_action("QuerySendDetails"),
            matchers.query_param_matcher({"SendDate": "20261123"}, strict_match=False),
        ],
        json=aliyun_details(),
    )
    mocked.post(
        ALIYUN_URL,
        match=[
            *aliyun_action("QuerySendDetails"),
            matchers.query_param_matcher({"SendDate": "20261124"}, strict_match=False),
        ],
        json=aliyun_details(str(message.pk)),
    )
    mocked.post(ALIYUN_URL, match=aliyun_action("SendSms"), json={"Code": "OK", "BizId": "2^0"})

    sweep("AliyunBackend", at=claimed + dt.timedelta(minutes=11))

    assert aliyun_calls(mocked, "SendSms") == []
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


@pytest.mark.django_db
def test_aliyun_pages_through_a_busy_phones_records(mocked):
    message = abandoned_message()
    first_page = aliyun_details(*[str(message.pk + n) for n in range(1, 51)], total=51)
    mocked.post(
        ALIYUN_URL,
        match=[
            *aliyun_action("QuerySendDetails"),
            matchers.query_param_matcher({"CurrentPage": "1"}, strict_match=False),
        ],
        json=first_page,
    )
    mocked.post(
        ALIYUN_URL,
        match=[
            *aliyun_action("QuerySendDetails"),
            matchers.query_param_matcher({"CurrentPage": "2"}, strict_match=False),
        ],
        json=aliyun_details(str(message.pk), total=51),
    )
    mocked.post(ALIYUN_URL, match=aliyun_action("SendSms"), json={"Code": "OK", "BizId": "2^0"})

    sweep("AliyunBackend")

    assert aliyun_calls(mocked, "SendSms") == []
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


@pytest.mark.django_db
def test_aliyun_unreachable_the_row_waits_for_the_next_sweep(mocked):
    message = abandoned_message()
    mocked.post(
        ALIYUN_URL,
        match=aliyun_action("QuerySendDetails"),
        status=503,
        json={"Code": "ServiceUnavailable", "Message": "busy"},
    )
    mocked.post(ALIYUN_URL, match=aliyun_action("SendSms"), json={"Code": "OK", "BizId": "2^0"})

    sweep("AliyunBackend")

    assert aliyun_calls(mocked, "SendSms") == []
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING


def tencent_reports(*session_contexts):
    return {
        "Response": {
            "PullSmsSendStatusSet": [
                {
                    "UserReceiveTime": 1795424409,
                    "CountryCode": "86",
                    "SubscriberNumber": PHONE,
                    "PhoneNumber": f"+86{PHONE}",
                    "SerialNo": f"5000:{context}",
                    "ReportStatus": "SUCCESS",
                    "Description": "DELIVRD",
                    "SessionContext": context,
                }
                for context in session_contexts
            ],
            "RequestId": "c1d2e3f4-0000-4000-8000-000000000000",
        }
    }


def tencent_action(action):
    return [matchers.header_matcher({"X-TC-Action": action})]


def tencent_calls(mocked, action):
    return [c for c in mocked.calls if c.request.headers["X-TC-Action"] == action]


@pytest.mark.django_db
def test_tencent_accepted_before_the_crash_is_marked_sent_not_sent_again(mocked):
    message = abandoned_message()
    mocked.post(
        TENCENT_URL,
        match=tencent_action("PullSmsSendStatusByPhoneNumber"),
        json=tencent_reports(str(message.pk - 1), str(message.pk)),
    )
    mocked.post(TENCENT_URL, match=tencent_action("SendSms"), json=tencent_ok())

    sweep("TencentBackend")

    assert tencent_calls(mocked, "SendSms") == []
    (pull,) = tencent_calls(mocked, "PullSmsSendStatusByPhoneNumber")
    body = json.loads(pull.request.body)
    assert body["PhoneNumber"] == f"+86{PHONE}"
    assert body["SmsSdkAppId"] == "1400000001"
    assert body["BeginTime"] == int(CLAIMED.timestamp())
    message.refresh_from_db()
    assert (message.status, message.provider_id) == (Message.Status.SENT, f"5000:{message.pk}")


@pytest.mark.django_db
def test_tencent_without_a_record_the_message_is_sent_again_once(mocked):
    message = abandoned_message()
    mocked.post(
        TENCENT_URL,
        match=tencent_action("PullSmsSendStatusByPhoneNumber"),
        json=tencent_reports(str(message.pk - 1), str(message.pk + 1)),
    )
    mocked.post(TENCENT_URL, match=tencent_action("SendSms"), json=tencent_ok())

    sweep("TencentBackend")

    (send,) = tencent_calls(mocked, "SendSms")
    assert json.loads(send.request.body)["SessionContext"] == str(message.pk)
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.provider_id == "5000:1045710669157053657849499619"


@pytest.mark.django_db
def test_tencent_refusing_the_lookup_sends_again_rather_than_lose_the_message(mocked):
    message = abandoned_message()
    mocked.post(
        TENCENT_URL,
        match=tencent_action("PullSmsSendStatusByPhoneNumber"),
        json={
            "Response": {
                "Error": {"Code": "UnauthorizedOperation.RequestPermissionDeny", "Message": "no"},
                "RequestId": "d1d2e3f4-0000-4000-8000-000000000000",
            }
        },
    )
    mocked.post(TENCENT_URL, match=tencent_action("SendSms"), json=tencent_ok())

    sweep("TencentBackend")

    assert len(tencent_calls(mocked, "SendSms")) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
