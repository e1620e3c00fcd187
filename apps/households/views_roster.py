"""The population roster import pages: upload, the list of imports, one import's
progress and result. Every list and detail goes through `RosterImport.visible_to`."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.tabular import progress_json

from .forms_roster import RosterUploadForm
from .models import ImportStatus, RosterImport
from .roster import COLUMNS, roster_import_create, template_csv, upload_max_bytes


def _list(request, form: RosterUploadForm, status: int = 200):
    imports = RosterImport.objects.visible_to(request.user).select_related("region", "uploaded_by")
    page = Paginator(imports, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "households/roster/list.html",
        {
            "page": page,
            "form": form,
            "may_import": form.fields["region"].queryset.exists(),
            "columns": COLUMNS,
            "max_mb": upload_max_bytes() // (1024 * 1024),
        },
        status=status,
    )


@login_required
def roster_list(request):
    return _list(request, RosterUploadForm(user=request.user))


@login_required
@require_POST
def roster_upload(request):
    form = RosterUploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _list(request, form, status=400)
    roster_import = roster_import_create(
        actor=request.user,
        region=form.cleaned_data["region"],
        upload=form.cleaned_data["file"],
        inspected=form.inspected,
    )
    return redirect("roster:detail", pk=roster_import.pk)


def _import(request, pk) -> RosterImport:
    return get_object_or_404(
        RosterImport.objects.visible_to(request.user).select_related("region", "uploaded_by"),
        pk=pk,
    )


def _progress(roster_import: RosterImport) -> dict:
    finished = roster_import.status in (ImportStatus.DONE, ImportStatus.FAILED)
    return progress_json(roster_import, finished=finished)


@login_required
@never_cache
def roster_detail(request, pk: int):
    roster_import = _import(request, pk)
    return render(
        request,
        "households/roster/detail.html",
        {"imp": roster_import, "progress": _progress(roster_import)},
    )


@login_required
@never_cache
def roster_progress(request, pk: int):
    return JsonResponse(_progress(_import(request, pk)))


@login_required
def roster_template(request):
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="roster-template.csv"'
    return response
