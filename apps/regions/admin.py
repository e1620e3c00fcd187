from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _

from apps.accounts.admin import AccountAdmin
from apps.accounts.models import User
from apps.audit.middleware import current_request
from apps.audit.models import Action, Result
from apps.audit.services import record

from .access import (
    WORK_APPS,
    grant_refusal,
    grantable_regions,
    grantable_roles,
    manageable_memberships,
    manageable_users,
    managed_prefixes,
    manages_staff,
    provincial_sysadmin,
)
from .models import Region, StaffMembership, roles_conflict


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """The tree is the province's: its system administrator (or the superuser) adds
    and renames regions; others see their subtree."""

    list_display = ("code", "name", "level", "public_slug")
    list_filter = ("level",)
    search_fields = ("code", "name")
    readonly_fields = ("public_slug",)
    raw_id_fields = ("parent",)

    def get_queryset(self, request):
        if managed_prefixes(request.user):
            return grantable_regions(request.user)
        return Region.objects.visible_to(request.user)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and provincial_sysadmin(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and provincial_sysadmin(request.user)

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipForm(forms.ModelForm):
    """A membership given by `actor`: only in the actor's subtree, never a role above
    its own (`grant_refusal`). The choices are narrowed for the eye; `clean` decides."""

    actor = None  # set by the admin on a subclass made per request

    class Meta:
        model = StaffMembership
        fields = ("user", "region", "role", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "role" in self.fields:
            self.fields["role"].choices = [("", "---------"), *grantable_roles(self.actor)]

    def clean(self):
        cleaned = super().clean()
        region, role = cleaned.get("region"), cleaned.get("role")
        user = cleaned.get("user")  # None or unsaved on a new account's page
        refusal = None
        if region is not None and role:
            refusal = grant_refusal(self.actor, region=region, role=role)
        if not refusal and user is not None and user.pk:
            if not manageable_users(self.actor).filter(pk=user.pk).exists():
                refusal = {"user": _("You cannot manage this account.")}
        # A choice the page did not offer (a region, a role or an account out of reach).
        forged = any(self.has_error(f, "invalid_choice") for f in ("user", "region", "role"))
        if refusal or forged:
            # An attempt to give a role beyond one's own is worth the auditor's eye.
            record(
                Action.ROLE_CHANGE,
                request=current_request(),
                actor=self.actor,
                target=self.instance if self.instance.pk else "regions.staffmembership",
                result=Result.DENIED,
                user=user.get_username() if user is not None else "",
                region=region.code if region is not None else "",
                role=role or "",
            )
        if refusal:
            raise ValidationError(refusal)
        return cleaned


def form_for(actor, base=MembershipForm):
    return type(base.__name__, (base,), {"actor": actor})


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    """Who works where. A system administrator gives and withdraws the memberships of
    its own subtree (a membership is deactivated, never deleted); work roles holding
    the view permission see those of their subtree."""

    form = MembershipForm
    list_display = ("user", "region", "role", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "user__full_name", "region__name", "region__code")
    raw_id_fields = ("user", "region")

    def get_queryset(self, request):
        if manages_staff(request.user):
            qs = manageable_memberships(request.user)
        else:
            qs = StaffMembership.objects.visible_to(request.user)
        return qs.select_related("user", "region")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = form_for(request.user, self.form)
        return super().get_form(request, obj, change, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = grantable_regions(request.user)
        elif db_field.name == "user":
            kwargs["queryset"] = manageable_users(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return manages_staff(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return manages_staff(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        roles = [
            f.cleaned_data["role"]
            for f in self.forms
            if f.cleaned_data.get("role") and f.cleaned_data.get("is_active")
        ]
        if roles and roles_conflict(set(roles), set()):
            raise ValidationError(
                _("An administrator's account holds no other role: use another account.")
            )


class MembershipInline(admin.TabularInline):
    """The memberships on the account's page; a new account is given at least one, so
    that it lies in its administrator's subtree from the start."""

    model = StaffMembership
    form = MembershipForm
    formset = MembershipFormSet
    fields = ("region", "role", "is_active")
    raw_id_fields = ("region",)
    extra = 0
    can_delete = False

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = form_for(request.user, self.form)
        kwargs["validate_min"] = True
        return super().get_formset(request, obj, **kwargs)

    def get_min_num(self, request, obj=None, **kwargs):
        return 0 if request.user.is_superuser else 1

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = grantable_regions(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request, obj=None):
        return manages_staff(request.user)

    has_add_permission = has_change_permission = has_view_permission

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class StaffAccountAdmin(AccountAdmin):
    """Accounts: the superuser's, and each system administrator's for the accounts of
    its subtree (`manageable_users`): it creates them (with a membership there),
    deactivates them and resets their passwords, never makes a superuser and gives
    only the permissions of casework."""

    inlines = [MembershipInline]

    def get_queryset(self, request):
        return manageable_users(request.user)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        hidden = {"is_superuser", "groups"}
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for name, opts in fieldsets
        ]

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "user_permissions" and not request.user.is_superuser:
            kwargs["queryset"] = Permission.objects.filter(
                content_type__app_label__in=WORK_APPS
            ).select_related("content_type")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return manages_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return manages_staff(request.user)

    has_change_permission = has_add_permission = has_view_permission
