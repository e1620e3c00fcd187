"""The audit log in the admin, for the audit administrator (`audit.view_auditentry`,
given by the role): search by user and object, filters by action, result and date
range, and an export of what is listed to Excel, itself recorded."""

import datetime as dt

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _t

from apps.core.admin import ReadOnlyAdmin
from apps.core.replica import replica_reads
from apps.core.tabular import XLSX_TYPE
from apps.core.xlsx import period_line, workbook

from .models import Action, AuditEntry, Result
from .services import record


def export_period(request) -> dict:
    """The export's period from the list's date filter (`at__lt` excluded), if any."""
    try:
        since = dt.date.fromisoformat(request.GET.get("at__gte", ""))
    except ValueError:
        since = None
    try:
        until = dt.date.fromisoformat(request.GET.get("at__lt", "")) - dt.timedelta(days=1)
    except ValueError:
        until = None
    return {"start": since, "end": until}


class DateRangeFilter(admin.FieldListFilter):
    """From one day (included) to another (excluded), local days: `?at__gte=2026-12-01&at__lt=2026-12-08`."""

    template = "admin/audit/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.since, self.until = f"{field_path}__gte", f"{field_path}__lt"
        super().__init__(field, request, params, model, model_admin, field_path)

    def expected_parameters(self):
        return [self.since, self.until]

    def _day(self, key):
        value = self.used_parameters.get(key)
        if isinstance(value, list):
            value = value[-1] if value else None
        if not value:
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise IncorrectLookupParameters(exc) from None
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    def queryset(self, request, queryset):
        bounds = {key: self._day(key) for key in (self.since, self.until)}
        return queryset.filter(**{k: v for k, v in bounds.items() if v is not None})

    def choices(self, changelist):
        values = {key: self.used_parameters.get(key) or "" for key in (self.since, self.until)}
        values = {k: v[-1] if isinstance(v, list) and v else v for k, v in values.items()}
        yield {
            "since_name": self.since,
            "until_name": self.until,
            "since": values[self.since],
            "until": values[self.until],
            # The other filters and the search stay as they are.
            "keep": [
                (k, v)
                for k, values in changelist.get_filters_params().items()
                if k not in (self.since, self.until)
                for v in (values if isinstance(values, list) else [values])
            ]
            + ([("q", changelist.query)] if changelist.query else []),
        }


class ViewAuditedAdmin(admin.ModelAdmin):
    """A change page that shows a person's data: each look at it is recorded."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            record(Action.VIEW, request=request, target=f"{self.opts.label_lower}:{object_id}")
        return response


class ScopedRecordAdmin(ViewAuditedAdmin, ReadOnlyAdmin):
    """A record with a person's data, shown in the admin and never changed there (its
    page and service do that): the rows are those the user may see
    (`visible_to`, as on every page), each look at one is audited."""

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)


# An export larger than this is refused: narrow the search first.
EXPORT_MAX_ROWS = 100_000


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    change_list_template = "admin/audit/auditentry/change_list.html"
    list_display = ("at", "actor_name", "ip", "action", "target", "result")
    list_filter = ("action", "result", ("at", DateRangeFilter))
    search_fields = ("actor_name", "target")
    date_hierarchy = "at"
    fields = readonly_fields = (
        "at",
        "actor",
        "actor_name",
        "ip",
        "action",
        "target",
        "result",
        "detail",
    )
    show_full_result_count = False

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="audit_auditentry_export",
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # for everyone: only the retention purge removes rows

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_export": request.user.has_perm("audit.export_auditentry"),
        }
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        """What the list shows (same search and filters), as a workbook."""
        query = request.GET.urlencode()
        if not (
            self.has_view_permission(request) and request.user.has_perm("audit.export_auditentry")
        ):
            record(Action.EXPORT, request=request, target="audit.auditentry", result=Result.DENIED)
            raise PermissionDenied
        # The log read off the primary (when a replica is configured): an export may lag
        # a moment behind; its own audit row below is written to the primary.
        with replica_reads():
            changelist = self.get_changelist_instance(request)
            rows = list(changelist.get_queryset(request)[: EXPORT_MAX_ROWS + 1])
        if len(rows) > EXPORT_MAX_ROWS:
            record(
                Action.EXPORT,
                request=request,
                target="audit.auditentry",
                result=Result.FAILED,
                query=query,
            )
            return HttpResponse(
                _t("Too many rows: narrow the search to at most %(max)d rows.")
                % {"max": EXPORT_MAX_ROWS},
                status=400,
                content_type="text/plain; charset=utf-8",
            )
        header = [
            _t("at"),
            _t("user name"),
            _t("IP address"),
            _t("action"),
            _t("object"),
            _t("result"),
            _t("detail"),
        ]
        data = [
            [
                timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor_name,
                e.ip or "",
                str(e.get_action_display()),
                e.target,
                str(e.get_result_display()),
                str(e.detail) if e.detail else "",
            ]
            for e in rows
        ]
        record(
            Action.EXPORT, request=request, target="audit.auditentry", rows=len(data), query=query
        )
        content = workbook(_t("Audit log"), period_line(**export_period(request)), header, data)
        response = HttpResponse(content, content_type=XLSX_TYPE)
        stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.xlsx"'
        response["Cache-Control"] = "private, no-store"
        return response
