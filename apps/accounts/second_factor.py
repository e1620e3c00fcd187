"""The second factor of a staff sign-in (等保 L3: two factors, one cryptographic): a TOTP
authenticator app or a WebAuthn security key, with ten backup codes for a lost phone.

Outside demo mode, a signed-in user without a device is taken to enrol one, and one
with a device to verify it, before any other page (apps.accounts.middleware)."""

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user
from django_otp import verify_token as otp_verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from apps.audit.models import Action
from apps.audit.services import record

BACKUP_CODE_COUNT = 10
TOTP_NAME = "authenticator"
BACKUP_NAME = "backup codes"


def required(user) -> bool:
    """Whether this user's sign-in needs a second factor: everyone's, but in demo mode."""
    return not settings.DEMO_MODE


def is_verified(user) -> bool:
    """Whether the session passed its second factor (django-otp's OTPMiddleware)."""
    return bool(getattr(user, "is_verified", None) and user.is_verified())


def verified_by_sign_in_device(user) -> bool:
    """Whether the session passed its second factor on an authenticator or a security
    key: such a user has a sign-in device, no need to look their devices up. (Verified
    by a backup code, the devices still decide: backup codes alone are not one.)"""
    return is_verified(user) and not isinstance(user.otp_device, StaticDevice)


def satisfied(user) -> bool:
    return not required(user) or is_verified(user)


def sign_in_devices(user) -> list:
    """The confirmed authenticators and security keys; backup codes alone are not one."""
    return [d for d in devices_for_user(user) if not isinstance(d, StaticDevice)]


def has_security_key(user) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def backup_device(user) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, confirmed=True).first()


def pending_totp(user) -> TOTPDevice:
    """The authenticator being enrolled: one unconfirmed device, kept across page loads
    so that the QR code does not change under the user."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


def qr_svg(text: str) -> str:
    qr = qrcode.QRCode(border=2, image_factory=qrcode.image.svg.SvgPathImage)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode")


def verify(user, token: str):
    """The device that accepts the token, or None: six digits are an authenticator's
    code, anything else a backup code (used up by its use). Each device throttles its
    own failures; a code is accepted once."""
    token = "".join(token.split())
    if token.isdigit():
        candidates = TOTPDevice.objects.filter(user=user, confirmed=True)
    else:
        candidates = StaticDevice.objects.filter(user=user, confirmed=True)
        token = token.lower()
    for device in candidates:
        verified = otp_verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


@transaction.atomic
def confirm_totp(request, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the enrolled authenticator with its first code; return the new backup
    codes (to be shown once), or None for a wrong code."""
    if not device.verify_token("".join(token.split())):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    record(Action.SECOND_FACTOR, request=request, target=device, change="enrol", kind="totp")
    return _replace_backup_codes(device.user)


@transaction.atomic
def new_backup_codes(request, user) -> list[str]:
    codes = _replace_backup_codes(user)
    record(Action.SECOND_FACTOR, request=request, target=user, change="backup_codes")
    return codes


def _replace_backup_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def remove_totp(request, user) -> None:
    """Remove the authenticator (a new phone). The backup codes go too: without a
    device, the next page enrols a new one, and nobody holding only the password may
    enrol while codes remain."""
    for device in TOTPDevice.objects.filter(user=user):
        record(Action.SECOND_FACTOR, request=request, target=device, change="remove")
        device.delete()
    if not sign_in_devices(user):
        StaticDevice.objects.filter(user=user).delete()


def manual_key(device: TOTPDevice) -> str:
    """The key to type into an authenticator app, in groups of four."""
    from base64 import b32encode

    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
