from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.audit.admin import ViewAuditedAdmin
from apps.core.admin import ReadOnlyAdmin
from apps.households.admin import CountyKeptAdmin
from apps.regions.models import Region, Role, ScopedQuerySet, user_memberships

from .models import Department, DepartmentMember, FeedKind, MedicalThreshold, Warning


class DepartmentForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label=_("feed kinds delivered"),
        choices=FeedKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Department
        fields = ("code", "name", "region", "kinds", "active")


class DepartmentMemberInline(admin.TabularInline):
    model = DepartmentMember
    extra = 0
    raw_id_fields = ("user",)


def _is_province_staff(request) -> bool:
    return request.user.is_superuser or any(
        role == Role.PROVINCE for _prefix, role in user_memberships(request.user)
    )


class _DepartmentQuerySet(ScopedQuerySet):
    region_code_field = "region__code"


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    """The departments sharing data and who delivers for them: the province keeps the
    list (17 departments share data province-wide); everyone sees those of their own subtree."""

    form = DepartmentForm
    list_display = ("name", "code", "region", "active")
    list_filter = ("active",)
    search_fields = ("name", "code")
    list_select_related = ("region",)
    inlines = [DepartmentMemberInline]
    readonly_fields = ("token_issued_at",)

    def get_queryset(self, request):
        qs = _DepartmentQuerySet(Department).visible_to(request.user)
        return qs.select_related("region")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = Region.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and _is_province_staff(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _is_province_staff(request)

    def has_delete_permission(self, request, obj=None):
        return False  # a department is made inactive: its batches refer to it


@admin.register(MedicalThreshold)
class MedicalThresholdAdmin(CountyKeptAdmin):
    """Each county keeps its own medical-cost warning line per year."""

    list_display = ("county", "year", "out_of_pocket", "income_share")
    list_filter = ("year",)


@admin.register(Warning)
class WarningAdmin(ViewAuditedAdmin, ReadOnlyAdmin):
    """Read-only: warnings are verified on their page, through the service."""

    list_display = ("__str__", "village", "score", "state", "created_at")
    list_filter = ("state",)
    list_select_related = ("village",)
    fields = readonly_fields = (
        "village",
        "person_name",
        "id_number_masked",
        "state",
        "score",
        "created_at",
        "method",
        "outcome_reason",
        "verified_by",
        "verified_at",
        "declaration",
    )

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return obj.id_number_masked

    def get_queryset(self, request):
        return Warning.objects.visible_to(request.user).select_related("village")
