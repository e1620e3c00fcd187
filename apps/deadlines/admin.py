from django.contrib import admin
from django.utils import timezone

from apps.regions.access import provincial_sysadmin

from .models import CalendarDay, CalendarYear, DeadlinePolicy


def _provincial_admin(request) -> bool:
    return provincial_sysadmin(request.user)


class ProvincialAdminOnly(admin.ModelAdmin):
    """The calendar and the deadline policy are the province's: its system
    administrator keeps them (the superuser too, at installation)."""

    def has_module_permission(self, request):
        return _provincial_admin(request)

    def has_view_permission(self, request, obj=None):
        return _provincial_admin(request)

    def has_add_permission(self, request):
        return _provincial_admin(request)

    def has_change_permission(self, request, obj=None):
        return _provincial_admin(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(CalendarYear)
class CalendarYearAdmin(ProvincialAdminOnly):
    list_display = ("year", "confirmed", "source", "confirmed_by", "confirmed_at")
    readonly_fields = ("confirmed_by", "confirmed_at")

    def save_model(self, request, obj, form, change):
        if obj.confirmed and "confirmed" in form.changed_data:
            obj.confirmed_by, obj.confirmed_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(CalendarDay)
class CalendarDayAdmin(ProvincialAdminOnly):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(ProvincialAdminOnly):
    list_display = ("stage", "limit", "unit", "starts_on", "source")

    def has_delete_permission(self, request, obj=None):
        return False
