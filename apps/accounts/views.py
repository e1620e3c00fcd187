"""Signing in: the second factor's pages and the password change."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from apps.audit.models import Action
from apps.audit.services import record

from . import second_factor
from .forms import EnrolForm, TokenForm


def next_url(request) -> str:
    """Where to go on: the page the user was on, if it is one of ours."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("staff_start")


@login_required
def verify(request):
    user = request.user
    if not second_factor.sign_in_devices(user):
        return redirect(f"{reverse('accounts:enrol')}?{request.GET.urlencode()}")
    credentials = {"username": user.get_username()}
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if AxesProxyHandler.is_locked(request, credentials):
            # Locked by failed codes (or passwords): the session ends with the lockout page.
            return locked_out(request, credentials)
        if form.is_valid():
            device = second_factor.verify(user, form.cleaned_data["token"])
            if device is not None:
                otp_login(request, device)
                return redirect(next_url(request))
            # A wrong code is a failed sign-in: logged, and counted towards the lockout.
            user_login_failed.send(
                sender=__name__, credentials=credentials, request=request, factor="otp"
            )
            if getattr(request, "axes_locked_out", False):
                return locked_out(request, credentials)
            form.add_error("token", _("The code is wrong or was already used."))
    return render(
        request,
        "registration/second_factor_verify.html",
        {
            "form": form,
            "next": next_url(request),
            "security_key": second_factor.has_security_key(user),
        },
        status=400 if form.errors else 200,
    )


def locked_out(request, credentials):
    logout(request)
    return get_lockout_response(request, credentials=credentials)


@login_required
def enrol(request):
    user = request.user
    if second_factor.sign_in_devices(user):
        # Enrolling another device needs a verified session (the security page).
        return redirect(f"{reverse('accounts:verify')}?{request.GET.urlencode()}")
    device = second_factor.pending_totp(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = second_factor.confirm_totp(request, device, form.cleaned_data["token"])
        if codes is not None:
            otp_login(request, device)
            return render(
                request,
                "registration/backup_codes.html",
                {"codes": codes, "next": next_url(request)},
            )
        form.add_error("token", _("The code is wrong. Check the phone's time and try again."))
    return render(
        request,
        "registration/second_factor_enrol.html",
        {
            "form": form,
            "qr_svg": second_factor.qr_svg(device.config_url),
            "manual_key": second_factor.manual_key(device),
            "next": next_url(request),
        },
        status=400 if form.errors else 200,
    )


@login_required
def security(request):
    user = request.user
    return render(
        request,
        "registration/security.html",
        {
            "devices": second_factor.sign_in_devices(user),
            "backup": second_factor.backup_device(user),
        },
    )


@login_required
@require_POST
def backup_codes(request):
    codes = second_factor.new_backup_codes(request, request.user)
    return render(
        request,
        "registration/backup_codes.html",
        {"codes": codes, "next": reverse("accounts:security")},
    )


@login_required
@require_POST
def remove_authenticator(request):
    second_factor.remove_totp(request, request.user)
    messages.info(request, _("The authenticator was removed. Add the new one now."))
    return redirect("accounts:enrol")


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("staff_start")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["next"] = next_url(self.request)
        context["expired"] = self.request.user.password_expired()
        return context

    def form_valid(self, form):
        user = form.user
        forced = user.must_change_password
        user.must_change_password = False
        response = super().form_valid(form)
        record(Action.PASSWORD_CHANGE, request=self.request, target=user, forced=forced)
        messages.success(self.request, _("Your password was changed."))
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def get_success_url(self):
        return next_url(self.request)
