"""What a signed-in request passes before its view: the session's idle and absolute
limits, then (outside demo mode) the second factor, then the password's age."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from . import second_factor

SIGNED_IN_AT = "signin_at"
SEEN_AT = "seen_at"
# The last-seen time is written at most this often (seconds), not on every request.
SEEN_RESOLUTION = 60

# Pages a signed-in user reaches before the second factor: signing in and out, the
# second factor's own pages and the security-key endpoints (django-otp-webauthn refuses
# to add a key for a user with a device who has not verified it).
OPEN_VIEWS = {"login", "logout", "healthz", "accounts:verify", "accounts:enrol"}
OPEN_NAMESPACE = "otp_webauthn"
# ...and, once verified, before changing an expired password.
CHANGE_PASSWORD_VIEW = "accounts:password_change"  # noqa: S105 (a view name)


def stamp_sign_in(request) -> None:
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now


def session_expired(request) -> bool:
    """Past SESSION_IDLE_MINUTES since the last request or SESSION_MAX_HOURS since
    sign-in; otherwise the request counts as activity."""
    now = int(time.time())
    session = request.session
    signed_in_at = session.setdefault(SIGNED_IN_AT, now)
    seen_at = session.setdefault(SEEN_AT, now)
    if now - seen_at > settings.SESSION_IDLE_MINUTES * 60:
        return True
    if now - signed_in_at > settings.SESSION_MAX_HOURS * 3600:
        return True
    if now - seen_at >= SEEN_RESOLUTION:
        session[SEEN_AT] = now
    return False


def with_next(url_name: str, request) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}"


class SignInPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and session_expired(request):
            logout(request)
            messages.info(request, _("Your session has ended. Please sign in again."))
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        match = request.resolver_match
        if not user.is_authenticated or match is None:
            return None
        if match.view_name in OPEN_VIEWS or OPEN_NAMESPACE in match.namespaces:
            return None
        if second_factor.required(user):
            # The verified device is read once per request (OTPMiddleware's
            # user.otp_device); the user's devices only when it does not settle it.
            if not second_factor.verified_by_sign_in_device(user):
                if not second_factor.sign_in_devices(user):
                    return redirect(with_next("accounts:enrol", request))
                if not second_factor.is_verified(user):
                    return redirect(with_next("accounts:verify", request))
            if match.view_name != CHANGE_PASSWORD_VIEW and user.password_expired():
                return redirect(with_next(CHANGE_PASSWORD_VIEW, request))
        return None
