"""Alerts in the admin: read-only and scoped like their pages (township staff and
above, their own subtree); acknowledged on the alert's page, through the service."""

from django.contrib import admin

from apps.audit.admin import ScopedRecordAdmin

from .models import Alert


@admin.register(Alert)
class AlertAdmin(ScopedRecordAdmin):
    list_display = ("rule", "subject", "region_code", "state", "raised_at", "last_seen_at")
    list_filter = ("rule", "state")
    fields = readonly_fields = (
        "rule",
        "subject",
        "region_code",
        "finding",
        "case_ids",
        "raised_at",
        "last_seen_at",
        "state",
        "acknowledged_by",
        "acknowledged_at",
        "note",
    )
