"""The security administrator's page of sign-in locks."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts import locks

from .models import Role, admin_roles


class UnlockForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (locks.USERNAME, gettext_lazy("user name")),
            (locks.ADDRESS, gettext_lazy("IP address")),
        ]
    )
    value = forms.CharField(max_length=255)


def require_security_admin(user) -> None:
    if Role.SECURITY_ADMIN not in admin_roles(user):
        raise PermissionDenied


@login_required
def lock_list(request):
    require_security_admin(request.user)
    if request.method == "POST":
        form = UnlockForm(request.POST)
        if form.is_valid():
            locks.unlock(request, form.cleaned_data["kind"], form.cleaned_data["value"])
            messages.success(request, _("Unlocked %(value)s.") % form.cleaned_data)
            return redirect("security:locks")
        return render(request, "regions/locks.html", _context(), status=400)
    return render(request, "regions/locks.html", _context())


def _context() -> dict:
    return {
        "usernames": locks.current_locks(locks.USERNAME),
        "addresses": locks.current_locks(locks.ADDRESS),
        "username_kind": locks.USERNAME,
        "address_kind": locks.ADDRESS,
    }
