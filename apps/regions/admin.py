from django.contrib import admin

from .models import Region, StaffMembership


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "public_slug")
    list_filter = ("level",)
    search_fields = ("code", "name")
    readonly_fields = ("public_slug",)
    raw_id_fields = ("parent",)

    def get_queryset(self, request):
        return Region.objects.visible_to(request.user)


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "region", "role", "groups", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("user__username", "user__full_name", "region__name", "region__code")
    raw_id_fields = ("user", "region")

    def get_queryset(self, request):
        return StaffMembership.objects.visible_to(request.user).select_related("user", "region")
