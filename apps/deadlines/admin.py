from django.contrib import admin
from django.utils import timezone

from .models import CalendarDay, CalendarYear, DeadlinePolicy


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
