"""The department users' pages (`apps.core.imports.ImportPages`): upload a file of one
of their feeds, the list of their department's batches, one batch's progress and
result. Department members only: for anyone else these pages do not exist (404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _

from apps.audit.models import Action
from apps.audit.services import record
from apps.core import imports

from .effects import SAMPLES
from .feeds import FeedImporter, feed_upload_create, spec_of
from .forms_feeds import FeedUploadForm, feeds_of
from .models import DepartmentMember, FeedBatch, FeedDefinition


def _require_member(request) -> None:
    user = request.user
    if not (user.is_superuser or DepartmentMember.objects.filter(user=user).exists()):
        raise Http404


class FeedPages(imports.ImportPages):
    form_class = FeedUploadForm
    namespace = "feeds"
    templates = "screening/feeds"
    name = "batch"

    def objects(self, request):
        _require_member(request)
        return FeedBatch.objects.for_department_user(request.user).select_related(
            "department", "created_by", "definition"
        )

    def list_context(self, request, form):
        definitions = {f.code: f for _d, f in feeds_of(request.user)}
        return {
            "schemas": [(f, spec_of(f).columns()) for _code, f in sorted(definitions.items())],
            "max_mb": FeedImporter.max_bytes() // (1024 * 1024),
            "samples": {p.stem for p in SAMPLES.glob("*.csv")},
        }

    def create(self, request, form):
        batch, created = feed_upload_create(
            actor=request.user,
            department=form.cleaned_data["department"],
            kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["file"],
            inspected=form.inspected,
        )
        record(Action.IMPORT, request=request, target=batch, kind=batch.kind, new=created)
        if not created:
            messages.info(request, _("This file was received before; nothing was imported again."))
        return batch


@login_required
def feed_template(request, kind: str):
    _require_member(request)
    definition = FeedDefinition.objects.filter(code=kind, active=True).first()
    if definition is None:
        raise Http404
    return imports.template_response(spec_of(definition).columns(), f"{kind}-template.csv")


@login_required
def feed_sample(request, code: str):
    """A sample file of a feed the user delivers: a few realistic rows, with the
    header row the feed reads (apps/screening/samples/<code>.csv)."""
    _require_member(request)
    delivered = {definition.code for _d, definition in feeds_of(request.user)}
    path = SAMPLES / f"{code}.csv"
    if code not in delivered or not path.is_file():
        raise Http404
    response = HttpResponse(path.read_bytes(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{code}-sample.csv"'
    return response
