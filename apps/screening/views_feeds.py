"""The department users' pages: upload a file of one of their feeds, the list of their
department's batches, one batch's progress and result. Department members only: for
anyone else these pages do not exist (404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.tabular import progress_json

from .feeds import SCHEMAS, feed_upload_create, template_csv, upload_max_bytes
from .forms_feeds import FeedUploadForm, feeds_of
from .models import BatchStatus, DepartmentMember, FeedBatch, FeedKind


def _require_member(request) -> None:
    user = request.user
    if not (user.is_superuser or DepartmentMember.objects.filter(user=user).exists()):
        raise Http404


def _list(request, form: FeedUploadForm, status: int = 200):
    batches = FeedBatch.objects.for_department_user(request.user).select_related(
        "department", "created_by"
    )
    page = Paginator(batches, 30).get_page(request.GET.get("page"))
    kinds = sorted({k for _d, k in feeds_of(request.user)})
    return render(
        request,
        "screening/feeds/list.html",
        {
            "page": page,
            "form": form,
            "schemas": [(FeedKind(k), SCHEMAS[k]) for k in kinds],
            "max_mb": upload_max_bytes() // (1024 * 1024),
        },
        status=status,
    )


@login_required
def feed_list(request):
    _require_member(request)
    return _list(request, FeedUploadForm(user=request.user))


@login_required
@require_POST
def feed_upload(request):
    _require_member(request)
    form = FeedUploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _list(request, form, status=400)
    batch, created = feed_upload_create(
        actor=request.user,
        department=form.cleaned_data["department"],
        kind=form.cleaned_data["kind"],
        upload=form.cleaned_data["file"],
        inspected=form.inspected,
    )
    if not created:
        messages.info(request, _("This file was received before; nothing was imported again."))
    return redirect("feeds:detail", pk=batch.pk)


def _batch(request, pk) -> FeedBatch:
    _require_member(request)
    return get_object_or_404(
        FeedBatch.objects.for_department_user(request.user).select_related(
            "department", "created_by"
        ),
        pk=pk,
    )


def _progress(batch: FeedBatch) -> dict:
    finished = batch.status in (BatchStatus.DONE, BatchStatus.FAILED)
    return progress_json(batch, finished=finished)


@login_required
@never_cache
def feed_detail(request, pk: int):
    batch = _batch(request, pk)
    return render(
        request, "screening/feeds/detail.html", {"batch": batch, "progress": _progress(batch)}
    )


@login_required
@never_cache
def feed_progress(request, pk: int):
    return JsonResponse(_progress(_batch(request, pk)))


@login_required
def feed_template(request, kind: str):
    _require_member(request)
    if kind not in SCHEMAS:
        raise Http404
    response = HttpResponse(template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response
