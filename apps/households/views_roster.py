"""The population roster import pages (`apps.core.imports.ImportPages`): every list and
detail goes through `RosterImport.visible_to`."""

from django.contrib.auth.decorators import login_required

from apps.audit.models import Action
from apps.audit.services import record
from apps.core import imports

from .forms_roster import RosterUploadForm
from .models import RosterImport
from .roster import COLUMNS, RosterImporter, roster_import_create


class RosterPages(imports.ImportPages):
    form_class = RosterUploadForm
    namespace = "roster"
    templates = "households/roster"
    name = "imp"

    def objects(self, request):
        return RosterImport.objects.visible_to(request.user).select_related("region", "uploaded_by")

    def list_context(self, request, form):
        return {
            "may_import": form.fields["region"].queryset.exists(),
            "columns": COLUMNS,
            "max_mb": RosterImporter.max_bytes() // (1024 * 1024),
        }

    def create(self, request, form):
        imp = roster_import_create(
            actor=request.user,
            region=form.cleaned_data["region"],
            upload=form.cleaned_data["file"],
            inspected=form.inspected,
        )
        record(Action.IMPORT, request=request, target=imp, region=imp.region.code)
        return imp


@login_required
def roster_template(request):
    return imports.template_response(COLUMNS, "roster-template.csv")
