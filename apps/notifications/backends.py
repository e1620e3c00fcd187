"""SMS backends, chosen by the SMS_BACKEND setting.

A backend sends one templated message to one mainland mobile number and returns the
provider's message id, or raises SmsError saying whether trying again may help.
"""

import json
import logging
import sys

from django.conf import settings
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
        from darabonba.exceptions import DaraException

        request = SendSmsRequest(
            phone_numbers=phone,
            sign_name=settings.SMS_SIGN_NAME,
            template_code=template.provider_code,
            template_param=json.dumps(
                {k: params.get(k, "") for k in template.params}, ensure_ascii=False
            ),
            out_id=reference,
        )
        try:
            response = self.client.send_sms(request)
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
        return body.biz_id


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
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = settings.SMS_SIGN_NAME
        request.TemplateId = template.provider_code
        request.TemplateParamSet = [str(params.get(k, "")) for k in template.params]
        request.SessionContext = reference
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = exc.code or ""
            raise SmsError(
                f"tencent {code}: {exc.message}",
                transient=code in TENCENT_TRANSIENT
                or code.startswith("ClientNetworkError")
                or not code,
            ) from None
        status = response.SendStatusSet[0]
        if status.Code != "Ok":
            raise SmsError(
                f"tencent {status.Code}: {status.Message}",
                transient=status.Code in TENCENT_TRANSIENT,
            )
        return status.SerialNo


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
