from django.contrib import admin

from . import second_factor


class StaffAdminSite(admin.AdminSite):
    """The admin, for a session that passed its second factor (outside demo mode)."""

    def has_permission(self, request):
        return super().has_permission(request) and second_factor.satisfied(request.user)
