"""Staff pages of the spot checks: the rates by region with the draws and the work
waiting, a draw's checks, and a check's page with its forms (assign, record, answer).

Every row is read through `visible_to` (404 outside one's region); each change is one
service call, which checks roles and state again; a refusal comes back as the page with
its message and a 4xx status, a success as a redirect (PRG).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.core.errors import ActionRefused
from apps.core.views import REFUSAL_STATUS
from apps.regions.models import COUNTY_ROLES, Region, roles_over

from . import services
from .forms import AssignForm, DrawForm, PeriodForm, RecordForm, ResolveForm
from .models import Draw, SpotCheck
from .selectors import rates_by_child, rates_total
from .services import VIEWER_ROLES, round_of

LIST_LIMIT = 100


def _home_region(user) -> Region:
    """The highest region where the user holds a role that sees spot checks."""
    region = (
        Region.objects.visible_to(user)
        .filter(
            memberships__user=user,
            memberships__is_active=True,
            memberships__role__in=VIEWER_ROLES,
        )
        .order_by("level", "code")
        .first()
    )
    if region is None:
        raise PermissionDenied
    return region


def _region(request) -> Region:
    home = _home_region(request.user)
    code = request.GET.get("code")
    if not code:
        return home
    region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
    if not roles_over(request.user, region.code) & VIEWER_ROLES:
        raise Http404
    return region


def _check(request, pk) -> SpotCheck:
    check = get_object_or_404(
        SpotCheck.objects.visible_to(request.user).select_related(
            "draw__region", "declaration", "elimination__household", "checker"
        ),
        pk=pk,
    )
    if not roles_over(request.user, check.region_code) & VIEWER_ROLES:
        raise Http404
    return check


def _period(request) -> tuple[PeriodForm, str, str]:
    today = timezone.localdate()
    initial = {"first": f"{today.year:04d}-01", "last": round_of(today)}
    form = PeriodForm(request.GET if "first" in request.GET else initial)
    if form.is_valid():
        return form, form.cleaned_data["first"], form.cleaned_data["last"]
    return form, initial["first"], initial["last"]


def _index_page(request, region, period, first, last, draw_form=None, status=200):
    user = request.user
    if draw_form is None:
        regions = services.drawable_regions(user)
        draw_form = DrawForm(regions=regions) if regions.exists() else None
    checks = SpotCheck.objects.visible_to(user).select_related(
        "draw", "declaration", "elimination__household", "checker"
    )
    context = {
        "region": region,
        "period": period,
        "first": first,
        "last": last,
        "total": rates_total(user, region, first, last),
        "rows": rates_by_child(user, region, first, last),
        "draw_form": draw_form,
        "draws": Draw.objects.visible_to(user)
        .filter(region_code__startswith=region.prefix)
        .select_related("region")[:24],
        "mine": checks.filter(checker=user, outcome="")[:LIST_LIMIT],
        "flags": checks.open_flags().filter(region_code__startswith=region.prefix)[:LIST_LIMIT],
    }
    return render(request, "spotchecks/index.html", context, status=status)


@login_required
def index(request):
    region = _region(request)
    period, first, last = _period(request)
    return _index_page(request, region, period, first, last)


@require_POST
@login_required
def draw(request):
    regions = services.drawable_regions(request.user)
    if not regions.exists():
        raise PermissionDenied
    form = DrawForm(request.POST, regions=regions)
    if not form.is_valid():
        period, first, last = _period(request)
        region = _home_region(request.user)
        return _index_page(request, region, period, first, last, draw_form=form, status=400)
    try:
        made, created = services.draw_sample(
            region=form.cleaned_data["region"],
            round_=form.cleaned_data["month"],
            actor=request.user,
        )
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect("spotchecks:index")
    if created:
        messages.success(
            request,
            _("%(drawn)d of %(candidates)d decided cases drawn.")
            % {"drawn": made.drawn, "candidates": made.candidates},
        )
    else:
        messages.info(request, _("This month's sample was already drawn; here it is."))
    return redirect("spotchecks:draw_detail", made.pk)


@login_required
def draw_detail(request, pk):
    made = get_object_or_404(Draw.objects.visible_to(request.user).select_related("region"), pk=pk)
    checks = (
        SpotCheck.objects.visible_to(request.user)
        .filter(draw=made)
        .select_related("declaration", "elimination__household", "checker")
    )
    return render(
        request,
        "spotchecks/draw.html",
        {"draw": made, "checks": checks, "events": made.events.filter(spot_check=None)},
    )


def _check_page(request, check, *, status=200, **forms):
    user = request.user
    can_assign = services.can_assign(user, check)
    deciders = services.deciders(check)
    checkers = services.eligible_checkers(check)
    may_take = (
        not check.outcome
        and user.pk not in deciders
        and bool(roles_over(user, check.region_code) & VIEWER_ROLES)
        and check.checker_id != user.pk
    )
    may_answer = (
        check.is_open_flag
        and bool(roles_over(user, check.region_code) & COUNTY_ROLES)
        and user.pk not in deciders
        and user.pk != check.checker_id
    )
    context = {
        "check": check,
        "events": check.events.select_related("actor"),
        "assign_form": forms.get("assign")
        or (AssignForm(checkers=checkers) if can_assign and not check.outcome else None),
        "may_take": may_take,
        "record_form": forms.get("record")
        or (
            RecordForm(initial={"checked_on": timezone.localdate()})
            if check.checker_id == user.pk and not check.outcome
            else None
        ),
        "resolve_form": forms.get("resolve")
        or (ResolveForm(allowed=services.resolutions_for(check)) if may_answer else None),
        "refusal": forms.get("refusal"),
    }
    return render(request, "spotchecks/check.html", context, status=status)


def _act(request, check, form_name, form, call, done):
    if not form.is_valid():
        return _check_page(request, check, status=400, **{form_name: form})
    try:
        call(form.cleaned_data)
    except ActionRefused as exc:
        return _check_page(
            request,
            check,
            status=REFUSAL_STATUS.get(type(exc), 400),
            refusal=exc.message,
            **{form_name: form},
        )
    messages.success(request, done)
    return redirect("spotchecks:check", check.pk)


@login_required
def check_detail(request, pk):
    return _check_page(request, _check(request, pk))


@require_POST
@login_required
def assign(request, pk):
    check = _check(request, pk)
    # Anyone may be named here: the service says why someone cannot check the case.
    data = {"checker": request.user.pk} if request.POST.get("take") else request.POST
    form = AssignForm(data, checkers=User.objects.filter(is_active=True))
    return _act(
        request,
        check,
        "assign",
        form,
        lambda d: services.spot_check_assign(check=check, actor=request.user, checker=d["checker"]),
        _("The checker is assigned."),
    )


@require_POST
@login_required
def record(request, pk):
    check = _check(request, pk)
    return _act(
        request,
        check,
        "record",
        RecordForm(request.POST),
        lambda d: services.spot_check_record(check=check, actor=request.user, **d),
        _("The check is recorded."),
    )


@require_POST
@login_required
def resolve(request, pk):
    check = _check(request, pk)
    form = ResolveForm(request.POST, allowed=services.resolutions_for(check))
    return _act(
        request,
        check,
        "resolve",
        form,
        lambda d: services.spot_check_resolve(check=check, actor=request.user, **d),
        _("The answer is recorded."),
    )
