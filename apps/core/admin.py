from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown in the admin, never changed there: changes go through the services, which
    check roles and region and write the history."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
