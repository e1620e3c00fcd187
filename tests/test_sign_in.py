"""Staff sign-in (等保 L3 身份鉴别, 入侵防范): lockout after repeated failures, the second
factor, the session's limits, and returning to the page after signing in again.

Real PostgreSQL (the lockout counts in axes' table); the clock moves with time_machine."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import User
from apps.audit.models import Action, AuditEntry
from apps.regions.models import Role

from .conftest import ANDING, PROVINCE, make_staff

PASSWORD = "pw-for-tests-only"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def sign_in(client, username, password=PASSWORD, ip="10.0.0.1", **data):
    return client.post(
        reverse("login"), {"username": username, "password": password, **data}, REMOTE_ADDR=ip
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def totp_now(device: TOTPDevice) -> str:
    """The code the user's phone shows now."""
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def verified_session(client, user):
    """A session signed in with the password and an enrolled authenticator."""
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    user.password_changed_at = timezone.now()
    user.save()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


@pytest.fixture
def security_admin(regions):
    return make_staff("anquan", regions[PROVINCE], Role.SECURITY_ADMIN)


# --- Lockout -------------------------------------------------------------------------------


def test_fifty_wrong_passwords_then_the_right_one_is_refused_and_locked(client, grid_wogou):
    for _ in range(50):
        sign_in(client, "grid-wogou", "wrong-password")
    response = sign_in(client, "grid-wogou")
    assert response.status_code == 429
    assert not signed_in(client)
    assert "已锁定" in response.content.decode()
    # One row for the lock, not one per refused attempt.
    lockout = AuditEntry.objects.get(action=Action.LOCKOUT)
    assert lockout.actor_name == "grid-wogou" and lockout.ip == "10.0.0.1"


def test_a_user_name_is_locked_from_every_address(client, grid_wogou, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "grid-wogou", "wrong-password", ip=f"10.0.1.{i}")
    assert sign_in(client, "grid-wogou", ip="10.0.2.1").status_code == 429
    assert not signed_in(client)


def test_an_address_guessing_many_user_names_is_locked(
    client, grid_wogou, township_lujiagou, settings
):
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess-{i}", "wrong-password", ip="10.9.9.9")
    assert sign_in(client, "township-lujiagou", ip="10.9.9.9").status_code == 429
    assert not signed_in(client)
    # The same person elsewhere signs in.
    assert sign_in(client, "township-lujiagou", ip="10.0.0.7").status_code == 302


def test_the_security_administrator_lists_and_lifts_a_lock(
    client, grid_wogou, security_admin, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "grid-wogou", "wrong-password", ip="10.0.0.5")
    client.force_login(security_admin)
    page = client.get(reverse("security:locks"))
    assert page.status_code == 200 and "grid-wogou" in page.content.decode()

    response = client.post(reverse("security:locks"), {"kind": "username", "value": "grid-wogou"})
    assert response.status_code == 302
    unlock = AuditEntry.objects.get(action=Action.UNLOCK)
    assert unlock.actor == security_admin and unlock.target == "username:grid-wogou"
    # The address is still locked; lifted too, the user signs in again.
    client.post(reverse("security:locks"), {"kind": "ip_address", "value": "10.0.0.5"})
    client.logout()
    assert sign_in(client, "grid-wogou", ip="10.0.0.5").status_code == 302


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN, Role.COUNTY])
def test_only_the_security_administrator_sees_the_locks(client, regions, role):
    user = make_staff("other-admin", regions[ANDING if role == Role.COUNTY else PROVINCE], role)
    client.force_login(user)
    assert client.get(reverse("security:locks")).status_code == 403
    assert (
        client.post(reverse("security:locks"), {"kind": "username", "value": "x"}).status_code
        == 403
    )
    assert not AuditEntry.objects.filter(action=Action.UNLOCK).exists()


# --- Second factor -------------------------------------------------------------------------


@override_settings(DEMO_MODE=False)
def test_a_staff_page_needs_the_second_factor(client, grid_wogou):
    client.force_login(grid_wogou)
    response = client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:enrol"))
    TOTPDevice.objects.create(user=grid_wogou, name="authenticator", confirmed=True)
    response = client.get(reverse("staff:home"))
    assert response["Location"].startswith(reverse("accounts:verify"))


@override_settings(DEMO_MODE=False)
def test_the_admin_needs_the_second_factor_even_for_a_superuser(client, db):
    admin = User.objects.create_superuser("root", password=PASSWORD)
    TOTPDevice.objects.create(user=admin, name="authenticator", confirmed=True)
    assert sign_in(client, "root", next=reverse("admin:index")).status_code == 302
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:verify"))
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 302


def test_the_admin_site_refuses_an_unverified_session(rf, db, settings):
    from django.contrib import admin
    from django_otp.middleware import OTPMiddleware

    root = User.objects.create_superuser("root", password=PASSWORD)
    request = rf.get("/admin/")
    request.user = root
    request.session = {}
    OTPMiddleware(lambda r: None)(request)
    settings.DEMO_MODE = False
    assert not admin.site.has_permission(request)
    settings.DEMO_MODE = True
    assert admin.site.has_permission(request)


@override_settings(DEMO_MODE=False)
def test_enrolment_at_first_sign_in_then_signing_in_with_the_code(client, grid_wogou):
    with time_machine.travel(START, tick=False) as clock:
        grid_wogou.password_changed_at = timezone.now()
        grid_wogou.save()
        response = sign_in(client, "grid-wogou")
        assert client.get(response["Location"])["Location"].startswith(reverse("accounts:enrol"))
        page = client.get(reverse("accounts:enrol"))
        assert page.status_code == 200 and "<svg" in page.content.decode()
        device = TOTPDevice.objects.get(user=grid_wogou, confirmed=False)
        # The key is also shown to type in.
        assert page.context["manual_key"].replace(" ", "") in device.config_url

        wrong = client.post(reverse("accounts:enrol"), {"token": "000000"})
        assert wrong.status_code == 400
        clock.shift(30)
        done = client.post(reverse("accounts:enrol"), {"token": totp_now(device)})
        assert done.status_code == 200
        codes = done.context["codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert AuditEntry.objects.filter(action=Action.SECOND_FACTOR, actor=grid_wogou).exists()
        assert client.get(reverse("staff:home")).status_code == 200
        used = totp_now(device)

        client.logout()
        sign_in(client, "grid-wogou")
        assert client.get(reverse("staff:home"))["Location"].startswith(reverse("accounts:verify"))
        # The code already used is refused, in its own time step too.
        replay = client.post(reverse("accounts:verify"), {"token": used})
        assert replay.status_code == 400 and "错误" in replay.content.decode()
        clock.shift(60)
        response = client.post(
            reverse("accounts:verify"),
            {"token": totp_now(TOTPDevice.objects.get(pk=device.pk)), "next": "/staff/"},
        )
        assert response.status_code == 302 and response["Location"] == "/staff/"
        assert client.get(reverse("staff:home")).status_code == 200


@override_settings(DEMO_MODE=False)
def test_a_wrong_code_is_refused_and_counts_towards_the_lockout(client, grid_wogou, settings):
    verified_session(client, grid_wogou)
    client.logout()
    sign_in(client, "grid-wogou")
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert client.post(reverse("accounts:verify"), {"token": "123456"}).status_code == 400
            clock.shift(600)  # past the device's own throttle
        locked = client.post(reverse("accounts:verify"), {"token": "123456"})
        assert locked.status_code == 429
        assert not signed_in(client)
        assert sign_in(client, "grid-wogou").status_code == 429


@override_settings(DEMO_MODE=False)
def test_backup_codes_work_once_each(client, grid_wogou):
    device = verified_session(client, grid_wogou)
    response = client.post(reverse("accounts:backup_codes"))
    codes = response.context["codes"]
    assert StaticDevice.objects.get(user=grid_wogou).token_set.count() == 10
    assert AuditEntry.objects.filter(action=Action.SECOND_FACTOR, detail__change="backup_codes")
    assert device.pk

    def sign_in_with(code):
        client.logout()
        sign_in(client, "grid-wogou")
        return client.post(reverse("accounts:verify"), {"token": code})

    with time_machine.travel(START, tick=False) as clock:
        assert sign_in_with(codes[0]).status_code == 302
        assert client.get(reverse("staff:home")).status_code == 200
        clock.shift(600)
        assert sign_in_with(codes[0]).status_code == 400
        clock.shift(600)
        assert sign_in_with(codes[1].upper()).status_code == 302
    assert StaticDevice.objects.get(user=grid_wogou).token_set.count() == 8


@override_settings(DEMO_MODE=False)
def test_a_verified_page_reads_the_second_factor_device_once(client, grid_wogou):
    """Verified on the authenticator: the session's device is read once per request
    (django-otp's middleware), not the user's devices of every kind again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    verified_session(client, grid_wogou)
    client.get(reverse("staff:home"))
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("staff:home")).status_code == 200
    device_reads = [
        q["sql"] for q in ctx.captured_queries if re.search(r'FROM "(otp_|django_otp)', q["sql"])
    ]
    assert len(device_reads) == 1, device_reads


@override_settings(DEMO_MODE=False)
def test_verified_by_a_backup_code_alone_enrols_an_authenticator(client, grid_wogou):
    """Backup codes are no sign-in device: a session verified by one, its user without
    an authenticator, is taken to enrol one."""
    device = StaticDevice.objects.create(user=grid_wogou, name="backup codes", confirmed=True)
    grid_wogou.password_changed_at = timezone.now()
    grid_wogou.save()
    client.force_login(grid_wogou)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert client.get(reverse("staff:home"))["Location"].startswith(reverse("accounts:enrol"))


@override_settings(DEMO_MODE=False)
def test_replacing_the_authenticator_removes_the_codes_and_asks_for_a_new_one(client, grid_wogou):
    verified_session(client, grid_wogou)
    client.post(reverse("accounts:backup_codes"))
    response = client.post(reverse("accounts:remove_authenticator"))
    assert response["Location"] == reverse("accounts:enrol")
    assert not TOTPDevice.objects.filter(user=grid_wogou).exists()
    assert not StaticDevice.objects.filter(user=grid_wogou).exists()
    assert AuditEntry.objects.filter(action=Action.SECOND_FACTOR, detail__change="remove")
    assert client.get(reverse("staff:home"))["Location"].startswith(reverse("accounts:enrol"))


@override_settings(DEMO_MODE=False)
def test_the_password_alone_changes_nothing(client, grid_wogou):
    """Signed in with the password but not the code: the authenticator, the backup codes
    and the password stay as they are."""
    device = TOTPDevice.objects.create(user=grid_wogou, name="authenticator", confirmed=True)
    sign_in(client, "grid-wogou")
    for name in ("accounts:remove_authenticator", "accounts:backup_codes"):
        response = client.post(reverse(name))
        assert response["Location"].startswith(reverse("accounts:verify"))
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Stolen-pass-99",
            "new_password2": "Stolen-pass-99",
        },
    )
    assert response["Location"].startswith(reverse("accounts:verify"))
    assert client.get(reverse("accounts:security"))["Location"].startswith(
        reverse("accounts:verify")
    )
    # Enrolling another authenticator needs the first one.
    assert client.get(reverse("accounts:enrol"))["Location"].startswith(reverse("accounts:verify"))
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    grid_wogou.refresh_from_db()
    assert grid_wogou.check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action=Action.SECOND_FACTOR).exists()


def test_demo_mode_skips_the_second_factor_and_the_password_change(client, grid_wogou):
    grid_wogou.must_change_password = True
    grid_wogou.save()
    assert sign_in(client, "grid-wogou").status_code == 302
    assert client.get(reverse("staff:home")).status_code == 200


# --- Session limits --------------------------------------------------------------------------


def test_thirty_one_idle_minutes_sign_out(client, grid_wogou):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(grid_wogou)
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("staff:home")).status_code == 200
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("staff:home")).status_code == 200
        clock.shift(dt.timedelta(minutes=31))
        response = client.get(reverse("staff:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not signed_in(client)


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(client, grid_wogou):
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(grid_wogou)
        for _ in range(12 * 3):  # a request every 20 minutes for 12 hours
            clock.shift(dt.timedelta(minutes=20))
            assert client.get(reverse("staff:home")).status_code == 200
        clock.shift(dt.timedelta(minutes=1))
        response = client.get(reverse("staff:home"))
    assert response["Location"].startswith(reverse("login"))
    assert not signed_in(client)


def test_signing_in_again_returns_to_the_page(client, grid_wogou):
    page = reverse("households:list")
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(grid_wogou)
        clock.shift(dt.timedelta(minutes=45))
        response = client.get(page)
        assert response.status_code == 302
        login_url = response["Location"]
        assert login_url == f"{reverse('login')}?next={page}"
        response = sign_in(client, "grid-wogou", next=page)
    assert response["Location"] == page


def test_signing_in_never_goes_to_another_site(client, grid_wogou):
    response = sign_in(client, "grid-wogou", next="https://evil.example/staff/")
    assert response["Location"] == reverse("staff_start")


@override_settings(DEMO_MODE=False)
def test_security_keys_are_offered_by_static_scripts_only(client, grid_wogou):
    """WebAuthn's scripts come as files (a CSP without inline script can follow); the
    configuration travels as JSON data, which is not run."""
    client.force_login(grid_wogou)
    page = client.get(reverse("accounts:enrol")).content.decode()
    assert 'id="passkey-register-button"' in page
    assert 'src="/static/django_otp_webauthn/otp_webauthn_register.js"' in page
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)


def test_the_security_key_scripts_speak_chinese(client):
    catalog = client.get(reverse("otp_webauthn:js-i18n-catalog")).content.decode()
    # The catalog is JSON, its Chinese written as \u escapes.
    assert json.dumps("添加安全密钥") in catalog and json.dumps("验证成功！") in catalog
