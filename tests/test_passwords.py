"""The password policy (等保 L3 身份鉴别): length and mix, not the user name, none of the
last five, changed every 90 days, and changed at the first sign-in after an administrator
set it. Messages in Chinese."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import PasswordHistory, User
from apps.audit.models import Action, AuditEntry
from apps.regions.models import Role

from .conftest import LUJIAGOU

OLD = "pw-for-tests-only"
GOOD = "Lujiagou-2026!"


def messages_for(password, user=None) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    return refused.value.messages


def verified(client, user) -> None:
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def change(client, new, old=OLD, **extra):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": old, "new_password1": new, "new_password2": new, **extra},
    )


def test_a_village_word_and_a_year_is_refused(client, grid_wogou):
    client.force_login(grid_wogou)
    response = change(client, "nongcun2026")
    assert response.status_code == 400
    assert "大写字母、小写字母、数字、符号中的3类" in response.content.decode()
    grid_wogou.refresh_from_db()
    assert grid_wogou.check_password(OLD)


def test_nongcun2026_is_not_a_password(grid_wogou):
    assert messages_for("nongcun2026", grid_wogou)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!", "至少10个字符"),
        ("abcdefghijkl", "3类"),
        ("ABCDEFGH1234", "3类"),
        ("x-Grid-Wogou-9", "不得包含用户名"),
    ],
)
def test_weak_passwords_are_refused_in_chinese(grid_wogou, password, message):
    assert any(message in m for m in messages_for(password, grid_wogou))


def test_three_classes_of_ten_characters_pass(grid_wogou):
    validate_password("lujiagou-2026", grid_wogou)
    validate_password(GOOD, grid_wogou)


def test_none_of_the_last_five_passwords(grid_wogou):
    used = [f"Lujiagou-{n}x" for n in range(6)]
    for password in used:
        validate_password(password, grid_wogou)
        grid_wogou.set_password(password)
        grid_wogou.save()
    assert PasswordHistory.objects.filter(user=grid_wogou).count() == 5
    for password in used[1:]:
        assert any("最近5次" in m for m in messages_for(password, grid_wogou))
    # The sixth back is allowed again.
    validate_password(used[0], grid_wogou)


@override_settings(DEMO_MODE=False)
def test_the_password_expires_after_ninety_days(client, grid_wogou):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        grid_wogou.set_password(OLD)
        grid_wogou.save()
        clock.shift(dt.timedelta(days=89))
        verified(client, grid_wogou)
        assert client.get(reverse("staff:home")).status_code == 200
        clock.shift(dt.timedelta(days=1))
        verified(client, grid_wogou)
        response = client.get(reverse("staff:home"))
        assert response["Location"] == f"{reverse('accounts:password_change')}?next=%2Fstaff%2F"
        assert client.get(reverse("admin:index")).status_code == 302

        response = change(client, GOOD, next="/staff/")
        assert response.status_code == 302 and response["Location"] == "/staff/"
        assert client.get(reverse("staff:home")).status_code == 200
    entry = AuditEntry.objects.get(action=Action.PASSWORD_CHANGE)
    assert entry.actor == grid_wogou and entry.detail["forced"] is False


@override_settings(DEMO_MODE=False)
def test_an_account_an_administrator_creates_changes_its_password_first(client, regions):
    root = User.objects.create_superuser("root", password=OLD)
    root.password_changed_at = timezone.now()
    root.save()
    verified(client, root)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "new-clerk",
            "password1": GOOD,
            "password2": GOOD,
            "usable_password": "true",
            # Every account is made with its place and role.
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "1",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-region": regions[LUJIAGOU].pk,
            "memberships-0-role": Role.TOWNSHIP,
            "memberships-0-is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    clerk = User.objects.get(username="new-clerk")
    assert clerk.must_change_password

    client.logout()
    verified(client, clerk)
    response = client.get(reverse("staff_start"))
    assert response["Location"].startswith(reverse("accounts:password_change"))
    page = client.get(response["Location"])
    assert "管理员设置" in page.content.decode()
    # The administrator's password is no choice of the user's: a new one is needed.
    assert change(client, GOOD, old=GOOD).status_code == 400
    assert change(client, "Anding-clerk-7", old=GOOD).status_code == 302
    clerk.refresh_from_db()
    assert not clerk.must_change_password
    assert AuditEntry.objects.get(action=Action.PASSWORD_CHANGE).detail["forced"] is True


@override_settings(DEMO_MODE=False)
def test_an_administrator_reset_is_changed_at_the_next_sign_in(client, grid_wogou):
    root = User.objects.create_superuser("root", password=OLD)
    root.password_changed_at = timezone.now()
    root.save()
    verified(client, root)
    url = reverse("admin:auth_user_password_change", args=[grid_wogou.pk]).replace(
        "auth", "accounts"
    )
    response = client.post(url, {"password1": GOOD, "password2": GOOD, "usable_password": "true"})
    assert response.status_code == 302
    grid_wogou.refresh_from_db()
    assert grid_wogou.must_change_password and grid_wogou.password_expired()
    entry = AuditEntry.objects.get(action=Action.PASSWORD_CHANGE)
    assert entry.actor == root and entry.target == f"accounts.user:{grid_wogou.pk}"
