from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.audit.admin import ViewAuditedAdmin
from apps.core.admin import ReadOnlyAdmin, ReadOnlyInline
from apps.regions.models import Level, Region, Role, roles_over, user_memberships

from .models import (
    HouseholdMember,
    MonitoredHousehold,
    MonitoringThreshold,
    PolicyMeasure,
    difficulty_labels,
)


class MemberInline(ReadOnlyInline):
    model = HouseholdMember
    fields = readonly_fields = (
        "name",
        "relation",
        "labour_capacity",
        "health",
        "disability_grade",
        "schooling",
    )


@admin.register(MonitoredHousehold)
class MonitoredHouseholdAdmin(ViewAuditedAdmin, ReadOnlyAdmin):
    list_display = ("head_name", "village", "enrolled_at", "per_capita_income")
    search_fields = ("head_name",)
    list_select_related = ("village",)
    inlines = [MemberInline]
    fields = readonly_fields = (
        "head_name",
        "village",
        "risk_types_display",
        "per_capita_income",
        "enrolled_at",
        "enrolled_by",
    )

    def get_queryset(self, request):
        return MonitoredHousehold.objects.visible_to(request.user)

    @admin.display(description=_("risk types"))
    def risk_types_display(self, obj):
        return difficulty_labels(obj.risk_types)


class CountyKeptAdmin(admin.ModelAdmin):
    """Data each county keeps for itself (its monitoring line, its help-policy list):
    only that county's staff (or a superuser) add or change it; everyone sees the rows
    of their own subtree."""

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user).select_related("county")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "county":
            kwargs["queryset"] = Region.objects.visible_to(request.user).filter(level=Level.COUNTY)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _is_county_clerk(self, request, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        code = obj.county.code if obj else None
        if code:
            return Role.COUNTY in roles_over(request.user, code)
        return any(role == Role.COUNTY for _prefix, role in user_memberships(request.user))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._is_county_clerk(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._is_county_clerk(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonitoringThreshold)
class MonitoringThresholdAdmin(CountyKeptAdmin):
    """Each county keeps its own line per year."""

    list_display = ("county", "year", "amount")
    list_filter = ("year",)


@admin.register(PolicyMeasure)
class PolicyMeasureAdmin(CountyKeptAdmin):
    """The county's help-policy list (帮扶政策清单): what village staff draw help plans
    from. A measure is taken out of force rather than deleted: plans refer to it."""

    list_display = ("name", "kind", "county", "department", "time_bound", "active")
    list_filter = ("kind", "time_bound", "active")
    search_fields = ("name", "department")
    fields = ("county", "name", "kind", "eligibility", "department", "time_bound", "active")
