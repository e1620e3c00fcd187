from django import forms
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.identity import validate_mobile

from .forms import AdminCreationForm, AdminPasswordResetForm
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


class AccountAdmin(BaseUserAdmin):
    """The account pages. Registered by `apps.regions.admin`, which scopes them to the
    subtree each system administrator manages."""

    form = UserChangeForm
    # A password an administrator sets is changed by its user at the next sign-in.
    add_form = AdminCreationForm
    change_password_form = AdminPasswordResetForm
    list_display = ("username", "full_name", "mobile_masked", "is_staff", "is_active")
    search_fields = ("username", "full_name")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Contact"), {"fields": ("full_name", "mobile")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # deactivated, never deleted: the audit log keeps who did what

    @admin.display(description=_("mobile phone"))
    def mobile_masked(self, obj):
        return obj.mobile_masked

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            record(
                Action.PASSWORD_CHANGE, request=request, target=f"accounts.user:{id}", reset=True
            )
        return response
