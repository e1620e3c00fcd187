"""SMS backends, chosen by the SMS_BACKEND setting.

A backend sends one templated message to one mainland mobile number and returns the
provider's message id, or raises SmsError saying whether trying again may help.
"""

import datetime as dt
import json
import logging
import sys
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.core.identity import mask_mobile

from .templates_registry import SmsTemplate

logger = logging.getLogger(__name__)


class SmsError(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


class BaseBackend:
    def send(
        self, *, phone: str, template: SmsTemplate, params: dict[str, str], reference: str
    ) -> str:
        raise NotImplementedError

    def find_sent(self, *, phone: str, reference: str, since: dt.datetime) -> str | None:
        """The provider's id of a message it accepted for `phone` with our `reference`
        at or after `since` ("" if the provider does not say it), or None if it has no
        record of one.

        Asked before a message whose worker died mid-send is sent again. Raises
        SmsError when the provider cannot be asked. A backend that keeps no record
        answers None, so the message is sent again.
        """
        return None


class ConsoleBackend(BaseBackend):
    """Development: print the message (the number masked) to standard output."""

    stream = sys.stdout

    def send(self, *, phone, template, params, reference):
        self.stream.write(f"[SMS → {mask_mobile(phone)}] {template.render(params)}\n")
        self.stream.flush()
        return f"console-{reference}"


# Messages "sent" by the locmem backend, for tests; like django.core.mail.outbox.
outbox: list[dict] = []


class LocmemBackend(BaseBackend):
    def send(self, *, phone, template, params, reference):
        outbox.append(
            {
                "phone": phone,
                "template": template.name,
                "params": dict(params),
                "reference": reference,
            }
        )
        return f"locmem-{reference}"

    def find_sent(self, *, phone, reference, since):
        sent = any(m["phone"] == phone and m["reference"] == reference for m in outbox)
        return f"locmem-{reference}" if sent else None


# Provider error codes where a later attempt can succeed (throttling, provider trouble).
ALIYUN_TRANSIENT = {
    "isp.SYSTEM_ERROR",
    "isv.BUSINESS_LIMIT_CONTROL",
    "Throttling.User",
}
TENCENT_TRANSIENT = {
    "InternalError",
    "RequestLimitExceeded",
    "LimitExceeded.PhoneNumberDailyLimit",
    "LimitExceeded.PhoneNumberThirtySecondLimit",
    "LimitExceeded.PhoneNumberOneHourLimit",
    "LimitExceeded.DeliveryFrequencyLimit",
    "FailedOperation.JsonParseFail",
    # The SDK's code for any non-200 HTTP answer (a gateway's 502, 503 …).
    "ServerNetworkError",
}


class AliyunBackend(BaseBackend):
    """Alibaba Cloud SMS (dysmsapi 2017-05-25) through its official SDK."""

    def __init__(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        self.client = Client(
            Config(
                access_key_id=settings.ALIYUN_SMS_ACCESS_KEY_ID,
                access_key_secret=settings.ALIYUN_SMS_ACCESS_KEY_SECRET,
                endpoint=settings.ALIYUN_SMS_ENDPOINT,
                connect_timeout=5000,
                read_timeout=10000,
            )
        )

    def send(self, *, phone, template, params, reference):
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest

        request = SendSmsRequest(
            phone_numbers=phone,
            sign_name=settings.SMS_SIGN_NAME,
            template_code=template.provider_code,
            template_param=json.dumps(
                {k: params.get(k, "") for k in template.params}, ensure_ascii=False
            ),
            out_id=reference,
        )
        body = self._call(self.client.send_sms, request)
        return body.biz_id

    # Aliyun keeps send records by China Standard Time date, for 30 days.
    PROVIDER_TZ = ZoneInfo("Asia/Shanghai")
    PAGE_SIZE = 50  # the API's maximum
    # A send is over within the SDK's timeouts (15 s): its record is dated the day of
    # the claim, or the next day when the claim was just before midnight.
    SEND_WINDOW = dt.timedelta(minutes=1)

    def find_sent(self, *, phone, reference, since):
        """Looks up the day's send records of `phone` (QuerySendDetails) for our OutId."""
        from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest

        days = sorted(
            {
                (since + offset).astimezone(self.PROVIDER_TZ).strftime("%Y%m%d")
                for offset in (dt.timedelta(0), self.SEND_WINDOW)
            }
        )
        for day in days:
            page = 1
            while True:
                body = self._call(
                    self.client.query_send_details,
                    QuerySendDetailsRequest(
                        phone_number=phone,
                        send_date=day,
                        page_size=self.PAGE_SIZE,
                        current_page=page,
                    ),
                )
                records = (
                    body.sms_send_detail_dtos and body.sms_send_detail_dtos.sms_send_detail_dto
                ) or []
                for record in records:
                    if record.out_id == reference:
                        return ""  # QuerySendDetails does not return the BizId
                if len(records) < self.PAGE_SIZE or page * self.PAGE_SIZE >= int(
                    body.total_count or 0
                ):
                    break
                page += 1
        return None

    @staticmethod
    def _call(method, request):
        """Calls the API; returns the response body or raises SmsError."""
        from darabonba.exceptions import DaraException

        try:
            response = method(request)
        except DaraException as exc:
            code = getattr(exc, "code", "") or ""
            # The SDK raises ServerException for HTTP 5xx: trouble at the provider.
            server_error = (getattr(exc, "status_code", None) or 0) >= 500
            raise SmsError(
                f"aliyun {code}: {getattr(exc, 'message', exc)}",
                transient=code in ALIYUN_TRANSIENT or not code or server_error,
            ) from None
        except Exception as exc:  # network trouble inside the SDK
            raise SmsError(f"aliyun: {type(exc).__name__}", transient=True) from None
        body = response.body
        if body.code != "OK":
            raise SmsError(
                f"aliyun {body.code}: {body.message}", transient=body.code in ALIYUN_TRANSIENT
            )
        return body


class TencentBackend(BaseBackend):
    """Tencent Cloud SMS (2021-01-11) through its official SDK."""

    def __init__(self):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        http = HttpProfile(reqTimeout=10)
        self.client = sms_client.SmsClient(
            credential.Credential(settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY),
            settings.TENCENT_SMS_REGION,
            ClientProfile(httpProfile=http),
        )

    def send(self, *, phone, template, params, reference):
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = settings.SMS_SIGN_NAME
        request.TemplateId = template.provider_code
        request.TemplateParamSet = [str(params.get(k, "")) for k in template.params]
        request.SessionContext = reference
        response = self._call(self.client.SendSms, request)
        status = response.SendStatusSet[0]
        if status.Code != "Ok":
            raise SmsError(
                f"tencent {status.Code}: {status.Message}",
                transient=status.Code in TENCENT_TRANSIENT,
            )
        return status.SerialNo

    LIMIT = 100  # the API's maximum; its offset is fixed at 0
    # Status reports are kept for 7 days.
    KEPT = dt.timedelta(days=7)

    def find_sent(self, *, phone, reference, since):
        """Looks up the delivery reports of `phone` since `since`
        (PullSmsSendStatusByPhoneNumber) for our SessionContext.

        Tencent has a record once the carrier has reported on the message, which takes
        seconds unless the phone is off; the reports carry the SessionContext only
        once Tencent has enabled that for the account (ask Tencent's SMS support).
        Without it, nothing matches and the message is sent again, as before.
        """
        from tencentcloud.sms.v20210111 import models

        now = timezone.now()
        request = models.PullSmsSendStatusByPhoneNumberRequest()
        request.PhoneNumber = f"+86{phone}"
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.BeginTime = int(max(since, now - self.KEPT).timestamp())
        request.EndTime = int(now.timestamp())
        request.Offset = 0
        request.Limit = self.LIMIT
        response = self._call(self.client.PullSmsSendStatusByPhoneNumber, request)
        for report in response.PullSmsSendStatusSet or []:
            if report.SessionContext == reference:
                return report.SerialNo or ""
        return None

    @staticmethod
    def _call(method, request):
        """Calls the API; returns the response or raises SmsError."""
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )

        try:
            return method(request)
        except TencentCloudSDKException as exc:
            code = exc.code or ""
            raise SmsError(
                f"tencent {code}: {exc.message}",
                transient=code in TENCENT_TRANSIENT
                or code.startswith("ClientNetworkError")
                or not code,
            ) from None


_backend = None


def get_backend() -> BaseBackend:
    global _backend
    path = settings.SMS_BACKEND
    if (
        _backend is None
        or _backend.__class__.__module__ + "." + _backend.__class__.__name__ != path
    ):
        _backend = import_string(path)()
    return _backend
