from django.contrib import admin
from django.contrib.auth import get_permission_codename


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown in the admin, never changed there: changes go through the services, which
    check roles and region and write the history."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """A part of a record shown on its page: whoever may view the record sees it."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        opts = self.parent_model._meta
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('view', opts)}")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
