from django.contrib import admin
from django.utils import timezone

from .calendar import calendar_changed
from .models import CalendarDay, CalendarYear, DeadlinePolicy
from .services import policies_changed


class ProvincialAdminOnly(admin.ModelAdmin):
    """The calendar and the deadline policy are the province's: superusers edit them."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

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
        calendar_changed()


@admin.register(CalendarDay)
class CalendarDayAdmin(ProvincialAdminOnly):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        calendar_changed()


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(ProvincialAdminOnly):
    list_display = ("stage", "limit", "unit", "starts_on", "source")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        policies_changed()
