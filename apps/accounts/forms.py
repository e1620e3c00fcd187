from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        help_text=_("The six digits your authenticator app shows, or one of your backup codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class EnrolForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=8,
        help_text=_("The six digits your authenticator app shows after adding the key."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class AdminCreationForm(auth_forms.AdminUserCreationForm):
    """A new account's password is set by an administrator: changed at first sign-in."""

    def save(self, commit=True):
        self.instance.must_change_password = True
        return super().save(commit=commit)


class AdminPasswordResetForm(auth_forms.AdminPasswordChangeForm):
    """A password an administrator resets is changed at the user's next sign-in."""

    def save(self, commit=True):
        self.user.must_change_password = True
        return super().save(commit=commit)
