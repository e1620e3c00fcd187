"""Pages of department screening warnings (部门筛查预警) and the civil-affairs linkage.

As on the case pages: every page loads its object through a scoped selector (404
outside one's region), every change is one service call, which checks role, region
and state again, and a refusal redirects back to the page (GET) with its message. The feed uploads have pages of their own (views_feeds.py).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.errors import ActionRefused
from apps.core.tabular import XLSX_TYPE
from apps.core.views import client_ip, private_download, refused
from apps.declarations.selectors import declarations_visible_to
from apps.regions.models import user_transitions

from . import selectors, services
from .forms import ExportForm, RouteForm, VerifyForm
from .models import CaseRouting, WarningState

PAGE_SIZE = 50


# --- the worklist and the warning ---------------------------------------------------------


@login_required
def worklist(request):
    page = Paginator(selectors.worklist(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "screening/worklist.html",
        {"page": page, "rows": selectors.marks_of(page.object_list)},
    )


def _warning_context(request, warning, form=None) -> dict:
    clock, mark = selectors.warning_clock(warning)
    can_verify = bool(user_transitions(warning, request.user))
    village_wide = selectors.is_village_wide(warning)
    return {
        "warning": warning,
        "sources": warning.sources.order_by("at", "pk"),
        "factors": selectors.score_rows(warning),
        "weights": selectors.score_weights(),
        "clock": clock,
        "mark": mark,
        "village_wide": village_wide,
        "can_verify": can_verify,
        "form": form or (VerifyForm(village_wide=village_wide) if can_verify else None),
        "closed_outcome": warning.state != WarningState.OPEN,
    }


@never_cache
@login_required
def warning(request, pk):
    """The warning, why it was raised and how its score is made, and its verification."""
    warning = get_object_or_404(
        selectors.warnings_visible_to(request.user).select_related("verified_by", "declaration"),
        pk=pk,
    )
    if request.method != "POST":
        record(Action.VIEW, request=request, target=warning)
        return render(request, "screening/warning.html", _warning_context(request, warning))
    form = VerifyForm(request.POST, village_wide=selectors.is_village_wide(warning))
    if not form.is_valid():
        context = _warning_context(request, warning, form)
        return render(request, "screening/warning.html", {**context, "form": form}, status=400)
    try:
        services.warning_verify(
            warning=warning,
            actor=request.user,
            method=form.cleaned_data["method"],
            outcome=form.cleaned_data["outcome"],
            reason=form.cleaned_data["reason"],
            applicant=form.applicant(),
        )
    except ActionRefused as exc:
        return refused(request, exc, "screening:warning", warning.pk)
    if warning.state == WarningState.CONVERTED:
        messages.success(request, _("The warning is converted into a declaration."))
        return redirect("staff:detail", warning.declaration.tracking_number)
    messages.success(request, _("The verification is recorded."))
    return redirect("screening:warning", warning.pk)


# --- routing a verified case --------------------------------------------------------------


@never_cache
@login_required
def route(request, tracking_number):
    """Township or county: the case to civil-affairs assistance, to monitoring, or both."""
    declaration = get_object_or_404(
        declarations_visible_to(request.user).select_related("village"),
        tracking_number=tracking_number,
    )
    current = CaseRouting.objects.filter(declaration=declaration).first()
    initial = {}
    if current:
        both = current.to_civil_affairs and current.to_monitoring
        initial = {
            "destination": "both"
            if both
            else ("civil_affairs" if current.to_civil_affairs else "monitoring"),
            "note": current.note,
        }
    form = RouteForm(request.POST or None, initial=initial)
    context = {"declaration": declaration, "form": form, "routing": current}
    if request.method != "POST":
        return render(request, "screening/route.html", context)
    if not form.is_valid():
        return render(request, "screening/route.html", context, status=400)
    try:
        services.declaration_route(
            declaration=declaration,
            actor=request.user,
            to_civil_affairs=form.to_civil_affairs,
            to_monitoring=form.to_monitoring,
            note=form.cleaned_data["note"],
        )
    except ActionRefused as exc:
        return refused(request, exc, "screening:route", declaration.tracking_number)
    messages.success(request, _("The routing of the case is recorded."))
    return redirect("staff:detail", declaration.tracking_number)


# --- civil affairs ------------------------------------------------------------------------


def _civil_prefixes(request) -> list[str]:
    """Civil-affairs department staff only (and superusers); everyone else: 404."""
    prefixes = selectors.civil_affairs_prefixes(request.user)
    if not prefixes and not request.user.is_superuser:
        raise Http404
    return prefixes


def _civil_context(request, prefixes, **extra) -> dict:
    counties = selectors.export_counties(request.user, prefixes)
    return {
        "routings": selectors.routed_to_civil_affairs(request.user),
        "referred": selectors.referred_warnings(request.user, prefixes),
        "exports": selectors.exports_visible_to(request.user)[:50],
        "export_form": ExportForm(counties=counties),
        "export_days": settings.RETENTION_EXPORT_FILE_DAYS,
        **extra,
    }


@never_cache
@login_required
def civil_affairs(request):
    prefixes = _civil_prefixes(request)
    return render(request, "screening/civil_affairs.html", _civil_context(request, prefixes))


def _civil_refused(request, prefixes, exc: ActionRefused):
    return refused(request, exc, "screening:civil_affairs")


@never_cache
@login_required
@require_POST
def routing_receive(request, pk):
    prefixes = _civil_prefixes(request)
    routing = get_object_or_404(selectors.routed_to_civil_affairs(request.user), pk=pk)
    try:
        services.routing_receive(routing=routing, actor=request.user)
    except ActionRefused as exc:
        return _civil_refused(request, prefixes, exc)
    messages.success(request, _("The case is marked received."))
    return redirect("screening:civil_affairs")


@never_cache
@login_required
@require_POST
def export_make(request):
    prefixes = _civil_prefixes(request)
    form = ExportForm(request.POST, counties=selectors.export_counties(request.user, prefixes))
    if not form.is_valid():
        context = _civil_context(request, prefixes)
        return render(
            request, "screening/civil_affairs.html", {**context, "export_form": form}, status=400
        )
    export = services.civil_affairs_export(county=form.cleaned_data["county"])
    record(Action.EXPORT, request=request, target=export, rows=export.rows)
    messages.success(
        request,
        _("The export of %(county)s is made: %(rows)d declarations.")
        % {"county": export.county.name, "rows": export.rows},
    )
    return redirect("screening:civil_affairs")


@login_required
def export_download(request, pk):
    """The file holds full ID numbers (the comparison needs them): each download is
    logged."""
    export = get_object_or_404(
        selectors.exports_visible_to(request.user), pk=pk, expired_at__isnull=True
    )
    services.export_downloaded(export=export, actor=request.user, ip=client_ip(request))
    return private_download(
        export,
        name=f"civil-affairs-{export.county.code}-{export.created_at:%Y%m%d}",
        content_type=XLSX_TYPE,
    )
