"""Dashboards for supervisors: province down to each village, by period."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.replica import replica_reads
from apps.core.tabular import XLSX_TYPE
from apps.core.xlsx import period_line, workbook
from apps.deadlines.models import Stage
from apps.declarations.models import Channel
from apps.households.models import Difficulty
from apps.regions.models import Level, Region, user_region_prefixes

from .bulletins import may_issue
from .forms import parse_period
from .monitoring import (
    late_work_clocks,
    long_monitored,
    long_rows,
    monitoring_load,
    work_rows,
    work_rows_of,
)
from .page_figures import page_figures
from .selectors import (
    ONE_CLICK_GOAL,
    Period,
    late_case_clocks,
    late_cases,
    late_cases_of,
    late_clocks_of_lists,
    region_figures,
)
from .templatetags.staff_nav import staff_menu

LATE_KINDS = {"accept": Stage.VERIFY, "enrol": Stage.ENROL, "green": Stage.GREEN_CHANNEL}
LATE_TITLES = {
    "accept": _lazy("Over 5 days not accepted"),
    "enrol": _lazy("Over 15 days not enrolled"),
    "green": _lazy("Green channel: identification overdue"),
    "warning": _lazy("Department warnings not verified in time"),
    "plan": _lazy("Help plans overdue"),
    "visit": _lazy("Follow-up visits overdue"),
    "look_back": _lazy("Look-back reviews overdue"),
    "long": _lazy("Monitored for over two years"),
    "national": _lazy("Enrolled, not yet recorded nationally"),
}
SHORT_LIST = 20


def _region(request, code) -> Region:
    return get_object_or_404(Region.objects.visible_to(request.user), code=code)


@login_required
def staff_start(request):
    """Where a staff member lands after signing in: the first page of their menu (the
    village and the county their cases, the city and the province the dashboard,
    department staff their data, each administrator its duty)."""
    return redirect(staff_menu(request.user).landing)


@login_required
def start(request):
    """Land on the highest region the user supervises."""
    prefixes = user_region_prefixes(request.user)
    if request.user.is_superuser and not prefixes:
        region = Region.objects.filter(level=Level.PROVINCE).first()
    else:
        region = Region.objects.visible_to(request.user).order_by("level", "code").first()
    if region is None or not (prefixes or request.user.is_superuser):
        raise Http404
    return redirect("supervision:region", region.code)


def _percent(value):
    return None if value is None else round(value * 100, 1)


def _context(request, region):
    form, period = parse_period(request.GET)
    return {
        "region": region,
        "ancestors": region.ancestors(),
        "form": form,
        "period": period,
        **page_figures(region, period),
        "query": request.GET.urlencode(),
        # One tap for the usual periods (the worker computes their figures after each
        # refresh: page_figures.warm_page_figures).
        "presets": [(label, preset.query, preset == period) for label, preset in Period.presets()],
    }


# The named lists of the page, by the key of their rows in the context.
CASE_LISTS = {"late_accept": "accept", "late_enrol": "enrol", "late_green": "green"}
WORK_LISTS = {
    "late_warning": "warning",
    "late_plan": "plan",
    "late_visit": "visit",
    "late_look_back": "look_back",
    "late_national": "national",
}


def _short_lists(region) -> dict:
    """The page's named lists, SHORT_LIST rows each: their clocks in one statement,
    then the cases of the case lists in one, and the warnings and households of the
    others in a few (monitoring.work_rows_of)."""
    clocks = late_clocks_of_lists(
        region,
        SHORT_LIST,
        {
            **{key: late_case_clocks(LATE_KINDS[kind]) for key, kind in CASE_LISTS.items()},
            **{key: late_work_clocks(kind) for key, kind in WORK_LISTS.items()},
        },
    )
    shown = long_rows(region=region, limit=SHORT_LIST)
    return {
        **late_cases_of({key: clocks[key] for key in CASE_LISTS}),
        **work_rows_of({key: clocks[key] for key in WORK_LISTS}),
        "monitoring": monitoring_load(region=region),
        "long_monitored": shown,
        # A short list is the whole list: counted only when it is full.
        "long_count": len(shown)
        if len(shown) < SHORT_LIST
        else long_monitored(region=region).count(),
    }


@login_required
@replica_reads()
def region_view(request, code):
    region = _region(request, code)
    context = _context(request, region)
    context.update(_short_lists(region))
    context["named_lists"] = [
        {"kind": kind, "title": LATE_TITLES[kind], "cases": context[f"late_{kind}"]}
        for kind in ("accept", "enrol", "green")
    ] + [
        {"kind": kind, "title": LATE_TITLES[kind], "cases": None, "households": context[key]}
        for kind, key in (
            ("warning", "late_warning"),
            ("plan", "late_plan"),
            ("visit", "late_visit"),
            ("look_back", "late_look_back"),
            ("long", "long_monitored"),
            ("national", "late_national"),
        )
    ]
    return render(request, "supervision/region.html", context)


def _monitoring_context(region, *, limit: int = 2000) -> dict:
    return {
        "monitoring": monitoring_load(region=region),
        "late_green": late_cases(region=region, stage=Stage.GREEN_CHANNEL, limit=limit),
        "late_plan": work_rows(region=region, kind="plan", limit=limit),
        "late_visit": work_rows(region=region, kind="visit", limit=limit),
        "late_look_back": work_rows(region=region, kind="look_back", limit=limit),
        "long_count": long_monitored(region=region).count(),
        "long_monitored": work_rows(region=region, kind="long", limit=limit),
        "late_warning": work_rows(region=region, kind="warning", limit=limit),
        "late_national": work_rows(region=region, kind="national", limit=limit),
    }


def bulletin_context(request, region) -> dict:
    """The bulletin's figures and lists (the live page, and an issued bulletin's
    snapshot: views_bulletins)."""
    context = _context(request, region)
    context["late_accept"] = late_cases(region=region, stage=Stage.VERIFY)
    context["late_enrol"] = late_cases(region=region, stage=Stage.ENROL)
    context.update(_monitoring_context(region))
    return context


@login_required
@replica_reads()
def bulletin(request, code):
    region = _region(request, code)
    context = bulletin_context(request, region)
    context["may_issue"] = may_issue(request.user, region)
    return render(request, "supervision/bulletin.html", context)


@login_required
@replica_reads()
def late(request, code, kind):
    if kind not in LATE_TITLES:
        raise Http404
    region = _region(request, code)
    context = {"region": region, "kind": kind, "title": LATE_TITLES[kind]}
    if kind in LATE_KINDS:
        context["cases"] = late_cases(region=region, stage=LATE_KINDS[kind])
    else:
        context["households"] = work_rows(region=region, kind=kind)
    return render(request, "supervision/late.html", context)


def _xlsx(
    request,
    name: str,
    region: Region,
    header: list,
    rows: list,
    *,
    title: str,
    period: str,
    more=(),
) -> HttpResponse:
    record(Action.EXPORT, request=request, target=region, file=name, rows=len(rows))
    content = workbook(title, period, header, rows, sheet_name=region.name, more=more)
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response


def _enrolled_cells(f) -> list:
    return [
        f.enrolled,
        f.one_click,
        _percent(f.one_click_share),
        *f.enrolled_by_channel.values(),
        *f.enrolled_by_cause.values(),
    ]


def _enrolled_header() -> list:
    return [
        _("New monitored households"),
        _("Of which one-click (QR and on someone's behalf)"),
        _("One-click share %% (goal: more than %(goal)s%%)")
        % {"goal": round(ONE_CLICK_GOAL * 100)},
        *(_("New monitored: %(channel)s") % {"channel": label} for label in Channel.labels),
        *(_("New monitored for: %(kind)s") % {"kind": label} for label in Difficulty.labels),
    ]


def _figure_row(name, f):
    pct = _percent
    return [
        name,
        f.received,
        f.closed,
        pct(f.completion_rate),
        f.accepted_in_time,
        f.enrolled_in_time,
        f.clocks_due,
        f.clocks_breached,
        pct(f.overdue_rate),
        f.currently_overdue,
        None if f.avg_days_to_accept is None else round(f.avg_days_to_accept, 1),
        None if f.avg_days_to_enrol is None else round(f.avg_days_to_enrol, 1),
        *f.by_channel.values(),
        *_enrolled_cells(f),
    ]


def figure_header():
    return [
        _("Region"),
        _("Received"),
        _("Closed"),
        _("Completion rate %"),
        _("Accepted within 5 days"),
        _("Enrolled within 15 days"),
        _("Deadlines due"),
        _("Deadlines breached"),
        _("Overdue rate %"),
        _("Currently overdue"),
        _("Average working days to accept"),
        _("Average working days to enrol"),
        *(_("Received: %(channel)s") % {"channel": label} for label in Channel.labels),
        *_enrolled_header(),
    ]


@login_required
@replica_reads()
def export_region(request, code):
    region = _region(request, code)
    _form, period = parse_period(request.GET)
    total, rows = region_figures(region=region, period=period)
    data = [_figure_row(r.region.name, r.figures) for r in rows] + [_figure_row(_("Total"), total)]
    months = [[f"{month:%Y-%m}", *_enrolled_cells(f)] for month, f in total.by_month.items()]
    return _xlsx(
        request,
        f"supervision-{region.code}-{period.start}-{period.end}",
        region,
        figure_header(),
        data,
        title=_("One-Click Declaration handling in %(region)s") % {"region": region.name},
        period=period_line(region=region.full_name(), start=period.start, end=period.end),
        more=[(_("New monitored households by month"), [_("Month"), *_enrolled_header()], months)],
    )


@login_required
@replica_reads()
def export_late(request, code, kind):
    if kind not in LATE_TITLES:
        raise Http404
    region = _region(request, code)
    if kind not in LATE_KINDS:
        header = [_("Name"), _("Village"), _("Category"), _("What"), _("Due by")]
        data = [
            [r.name, r.village, r.kind, r.what, r.due.isoformat() if r.due else ""]
            for r in work_rows(region=region, kind=kind)
        ]
        return _late_xlsx(request, kind, region, header, data)
    header = [
        _("Tracking number"),
        _("Name"),
        _("Village"),
        _("Stage"),
        _("Submitted"),
        _("Due by"),
    ]
    data = [
        [
            r.tracking_number,
            r.name,
            r.village,
            r.stage,
            r.submitted.isoformat(),
            r.due.isoformat() if r.due else "",
        ]
        for r in late_cases(region=region, stage=LATE_KINDS[kind])
    ]
    return _late_xlsx(request, kind, region, header, data)


def _late_xlsx(request, kind, region, header, data) -> HttpResponse:
    return _xlsx(
        request,
        f"late-{kind}-{region.code}",
        region,
        header,
        data,
        title=f"{region.name} · {LATE_TITLES[kind]}",
        period=period_line(region=region.full_name(), at=timezone.now()),
    )
