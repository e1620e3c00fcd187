"""Signing in outside demo mode, in a real browser: the first sign-in enrols an
authenticator app (QR code and key) and shows the backup codes; a security key is added
(Chromium's virtual authenticator) and signs in the next time. Static scripts only."""

import time

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from apps.audit.models import Action, AuditEntry
from tests.browser.conftest import sign_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


@pytest.fixture
def production_like(settings, live_server):
    settings.DEMO_MODE = False
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]


def wait_for(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def sign_in(page, live_server, next_url):
    page.goto(f"{live_server.url}{reverse('login')}?next={next_url}")
    page.fill("#id_username", "grid-wogou")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")


def test_enrol_an_authenticator_then_sign_in_with_a_security_key(
    desktop_page, live_server, grid_wogou, production_like
):
    page = desktop_page
    grid_wogou.password_changed_at = timezone.now()
    grid_wogou.save()
    home = reverse("staff:home")
    sign_in(page, live_server, home)
    assert reverse("accounts:enrol") in page.url
    assert page.locator(".qr svg").count() == 1

    device = TOTPDevice.objects.get(user=grid_wogou, confirmed=False)
    page.fill("#id_token", f"{TOTP(device.bin_key).token():06d}")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert page.locator("ul.codes li").count() == 10
    with page.expect_navigation():
        page.click(f"a[href='{home}']")
    assert page.url == f"{live_server.url}{home}"

    # A security key, added on the security page.
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    page.goto(f"{live_server.url}{reverse('accounts:security')}")
    page.click("#passkey-register-button")
    wait_for(lambda: WebAuthnCredential.objects.filter(user=grid_wogou).exists())
    assert AuditEntry.objects.filter(
        action=Action.SECOND_FACTOR, actor=grid_wogou, detail__kind="webauthn"
    ).exists()

    sign_out(page)
    sign_in(page, live_server, home)
    assert reverse("accounts:verify") in page.url
    with page.expect_navigation():
        page.click("#passkey-verification-button")
    assert page.url == f"{live_server.url}{home}"
