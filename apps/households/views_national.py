"""The national system's pages: the import of its export of a county's monitored
households (`apps.core.imports.ImportPages`), and the export of what changed here for
it. Every list and detail goes through `visible_to`; imports and exports are audited."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from apps.audit.models import Action
from apps.audit.services import record
from apps.core import imports
from apps.core.tabular import XLSX_TYPE

from .forms_national import NationalExportForm, NationalUploadForm
from .models import NationalExport, NationalImport
from .national import (
    COLUMNS,
    NationalImporter,
    national_export,
    national_import_create,
    template_xlsx,
)


class NationalPages(imports.ImportPages):
    form_class = NationalUploadForm
    namespace = "national"
    templates = "households/national"
    name = "imp"

    def objects(self, request):
        return NationalImport.objects.visible_to(request.user).select_related(
            "region", "uploaded_by"
        )

    def list_context(self, request, form):
        if request.method == "POST" and request.resolver_match.url_name == "export":
            export_form = NationalExportForm(request.POST, user=request.user)  # its errors
        else:
            export_form = NationalExportForm(user=request.user)
        return {
            "may_import": form.fields["county"].queryset.exists(),
            "columns": COLUMNS,
            "max_mb": NationalImporter.max_bytes() // (1024 * 1024),
            "export_form": export_form,
            "exports": NationalExport.objects.visible_to(request.user).select_related(
                "region", "created_by"
            )[:20],
        }

    def create(self, request, form):
        obj = national_import_create(
            actor=request.user,
            county=form.cleaned_data["county"],
            upload=form.cleaned_data["file"],
            inspected=form.inspected,
        )
        record(Action.IMPORT, request=request, target=obj, file=obj.original_name)
        return obj

    def export(self, request):
        form = NationalExportForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.index(request, status=400)
        county, start, end = (form.cleaned_data[k] for k in ("county", "start", "end"))
        content, export = national_export(actor=request.user, county=county, start=start, end=end)
        record(
            Action.EXPORT,
            request=request,
            target=export,
            households=export.enrolled + export.changed + export.eliminated,
        )
        response = HttpResponse(content, content_type=XLSX_TYPE)
        name = f"national-{county.code}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "private, no-store"
        return response

    def urls(self):
        return [
            *super().urls(),
            path("export/", login_required(require_POST(self.export)), name="export"),
        ]


@login_required
def national_template(request):
    response = HttpResponse(template_xlsx(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="national-template.xlsx"'
    return response
