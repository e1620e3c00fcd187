from django import forms
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.core.identity import validate_mobile

from .models import User


class UserChangeForm(auth_forms.UserChangeForm):
    # Never pre-filled: the admin shows the masked number and a blank keeps it.
    mobile = forms.CharField(
        label=_("mobile phone"),
        required=False,
        max_length=20,
        help_text=_("Leave blank to keep the current number."),
    )

    class Meta(auth_forms.UserChangeForm.Meta):
        model = User

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["mobile"] = ""
        if self.instance.pk and self.instance.mobile:
            self.fields["mobile"].widget.attrs["placeholder"] = self.instance.mobile_masked

    def clean_mobile(self):
        value = self.cleaned_data["mobile"]
        if not value:
            return None
        try:
            return validate_mobile(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def save(self, commit=True):
        user = super().save(commit=False)
        if self.cleaned_data.get("mobile"):
            user.set_mobile(self.cleaned_data["mobile"])
        if commit:
            user.save()
            self.save_m2m()
        return user


def password_set_by_administrator(user) -> None:
    """Hook: a password set by an administrator (a new account, a reset) must be changed
    by its owner at the next sign-in. The sign-in work adds the User flag that forces
    it; set it here."""
    if hasattr(user, "must_change_password"):
        user.must_change_password = True
        user.save(update_fields=["must_change_password"])


class ResetPasswordForm(auth_forms.AdminPasswordChangeForm):
    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            password_set_by_administrator(user)
        return user


class AccountAdmin(BaseUserAdmin):
    """The account pages. Registered by `apps.regions.admin`, which scopes them to the
    subtree each system administrator manages."""

    form = UserChangeForm
    change_password_form = ResetPasswordForm
    list_display = ("username", "full_name", "mobile_masked", "is_staff", "is_active")
    search_fields = ("username", "full_name")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Contact"), {"fields": ("full_name", "mobile")}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            password_set_by_administrator(obj)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivated, never deleted: the audit log keeps who did what

    @admin.display(description=_("mobile phone"))
    def mobile_masked(self, obj):
        return obj.mobile_masked
