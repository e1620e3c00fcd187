"""Data-quality items in the admin: read-only and scoped (the user's subtree);
resolved by the village on the item's page, through the service."""

from django.contrib import admin

from apps.audit.admin import ScopedRecordAdmin

from .models import QualityItem


@admin.register(QualityItem)
class QualityItemAdmin(ScopedRecordAdmin):
    list_display = ("rule", "village", "status", "found_at", "due_on", "closed_at")
    list_filter = ("rule", "status")
    list_select_related = ("village",)
    fields = readonly_fields = (
        "rule",
        "subject_type",
        "subject_id",
        "village",
        "details",
        "status",
        "found_at",
        "last_seen_at",
        "due_on",
        "round",
        "closed_at",
        "resolved_by",
    )
