"""The quality pages: the items of a region (the village resolves its own there), the
overview by rule and region with drill-down, and the self-check rounds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.errors import ActionRefused
from apps.core.views import REFUSAL_STATUS
from apps.regions.models import (
    VILLAGE_ROLES,
    Level,
    Region,
    roles_over,
    user_memberships,
    user_region_prefixes,
)

from .forms import ResolveForm, RoundForm
from .models import ItemStatus, QualityItem, Rule, SelfCheckRound
from .selectors import overview, round_progress
from .services import ROUND_ROLES, RUN_ROLES, item_resolve, round_open
from .tasks import run_data_quality, run_round

PAGE_SIZE = 50


def _home_region(user) -> Region | None:
    """The highest region the user works in (the province for a superuser)."""
    regions = (
        Region.objects.all()
        if user.is_superuser
        else Region.objects.filter(code__in=[p.ljust(12, "0") for p in user_region_prefixes(user)])
    )
    return regions.order_by("level", "code").first()


def _region(request) -> Region | None:
    code = request.GET.get("region") or request.POST.get("region")
    if code:
        return get_object_or_404(Region.objects.visible_to(request.user), code=code)
    return _home_region(request.user)


@login_required
def index(request):
    region = _region(request)
    items = QualityItem.objects.visible_to(request.user)
    context = {"region": region, "rules": Rule.choices, "statuses": ItemStatus.choices}
    if region is None:
        return render(request, "quality/index.html", {**context, "page": None})
    rule = request.GET.get("rule", "")
    status = request.GET.get("status", ItemStatus.OPEN)
    listed = items.filter(region_code__startswith=region.prefix).select_related("village")
    if rule in Rule.values:
        listed = listed.filter(rule=rule)
    if status in ItemStatus.values:
        listed = listed.filter(status=status)
    page = Paginator(listed.order_by("due_on", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    shown_rules, rows = overview(items, region) if region.level != Level.VILLAGE else ([], [])
    return render(
        request,
        "quality/index.html",
        {
            **context,
            "page": page,
            "rule": rule,
            "status": status,
            "shown_rules": shown_rules,
            "rows": rows,
            "ancestors": region.ancestors(),
            "can_run": bool(roles_over(request.user, region.code) & RUN_ROLES),
            "can_resolve": bool(roles_over(request.user, region.code) & VILLAGE_ROLES),
            "today": timezone.localdate(),
        },
    )


@login_required
def item(request, pk):
    found = get_object_or_404(
        QualityItem.objects.visible_to(request.user).select_related("village", "resolved_by"),
        pk=pk,
    )
    may_resolve = found.is_open and bool(
        roles_over(request.user, found.region_code) & VILLAGE_ROLES
    )
    form = ResolveForm(request.POST or None) if may_resolve else None
    status = 200
    if request.method == "POST":
        if form is None:
            return _refused(request, _("This item cannot be resolved by you now."), 403)
        if form.is_valid():
            try:
                item_resolve(
                    item=found,
                    actor=request.user,
                    outcome=form.cleaned_data["outcome"],
                    note=form.cleaned_data["note"],
                )
            except ActionRefused as exc:
                return _refused(request, exc.message, REFUSAL_STATUS.get(type(exc), 400))
            messages.success(request, _("The data-quality item is resolved."))
            return redirect(f"{reverse('quality:index')}?region={found.village.code}")
        status = 400
    events = found.events.select_related("actor").order_by("at", "pk")
    return render(
        request,
        "quality/item.html",
        {"item": found, "form": form, "events": events},
        status=status,
    )


@login_required
@require_POST
def run_now(request):
    region = _region(request)
    if region is None or not roles_over(request.user, region.code) & RUN_ROLES:
        return _refused(request, _("County staff and above may run the checks."), 403)
    run_data_quality.delay_on_commit(scope=region.prefix, user_id=request.user.pk)
    messages.success(request, _("The checks are running; the items appear when they are done."))
    return redirect(f"{reverse('quality:index')}?region={region.code}")


def _round_regions(user):
    """The provinces and cities over which the user may open a round."""
    regions = Region.objects.visible_to(user).filter(level__in=[Level.PROVINCE, Level.CITY])
    if user.is_superuser:
        return regions
    held = [p.ljust(12, "0") for p, role in user_memberships(user) if role in ROUND_ROLES]
    return regions.filter(code__in=held)


@login_required
def rounds(request):
    listed = SelfCheckRound.objects.visible_to(request.user).select_related("region")
    return render(
        request,
        "quality/rounds.html",
        {"rounds": listed, "can_open": _round_regions(request.user).exists()},
    )


@login_required
def round_new(request):
    regions = _round_regions(request.user)
    if not regions.exists():
        return _refused(request, _("Province and city staff open self-check rounds."), 403)
    form = RoundForm(request.POST or None, regions=regions)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                check_round = round_open(actor=request.user, **form.cleaned_data)
            except ActionRefused as exc:
                form.add_error(None, exc.message)
            else:
                run_round.delay_on_commit(check_round.pk)
                messages.success(
                    request, _("The self-check round is open; its checks are running.")
                )
                return redirect("quality:round", pk=check_round.pk)
        status = 400
    return render(request, "quality/round_form.html", {"form": form}, status=status)


@login_required
def round_detail(request, pk):
    check_round = get_object_or_404(
        SelfCheckRound.objects.visible_to(request.user).select_related("region", "opened_by"),
        pk=pk,
    )
    progress = round_progress(check_round, QualityItem.objects.visible_to(request.user))
    return render(
        request,
        "quality/round.html",
        {"round": check_round, "progress": progress, "today": timezone.localdate()},
    )


def _refused(request, message, status):
    return render(
        request, "error.html", {"title": _("Data quality"), "message": message}, status=status
    )
