"""Supervision of what follows enrolment: help plans due within 10 days of enrolment,
green channels due within a month, follow-up visits and look-back reviews on their
schedules, and households monitored for over two years without their
risk eliminated. All from the one clock table, live: these are about now."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.deadlines.models import Clock, Stage
from apps.households.models import Category, FollowUp, HelpPlan, LookBack, MonitoredHousehold
from apps.households.services import (
    FOLLOW_UP_SUBJECT,
    LOOK_BACK_SUBJECT,
    NATIONAL_SUBJECT,
    PLAN_SUBJECT,
)
from apps.regions.models import Region
from apps.screening.models import Warning
from apps.screening.services import SUBJECT as WARNING_SUBJECT

from .selectors import first_clocks, overdue_clocks_of

# The stages shown in the monitoring panel, in order; follow-up visits of both
# schedules count together.
PANEL = [
    (Stage.WARNING, [Stage.WARNING]),
    (Stage.HELP_PLAN, [Stage.HELP_PLAN]),
    (Stage.GREEN_CHANNEL, [Stage.GREEN_CHANNEL]),
    (Stage.FOLLOW_UP, [Stage.FOLLOW_UP, Stage.FOLLOW_UP_CLOSE]),
    (Stage.LOOK_BACK, [Stage.LOOK_BACK]),
    (Stage.NATIONAL_RECORD, [Stage.NATIONAL_RECORD]),
]
# Household-side work, by the kind named in the URL of its list.
HOUSEHOLD_KINDS = {
    "plan": [Stage.HELP_PLAN],
    "visit": [Stage.FOLLOW_UP, Stage.FOLLOW_UP_CLOSE],
    "look_back": [Stage.LOOK_BACK],
}
SUBJECT_MODELS = {PLAN_SUBJECT: HelpPlan, FOLLOW_UP_SUBJECT: FollowUp, LOOK_BACK_SUBJECT: LookBack}


@dataclass(frozen=True)
class StageLoad:
    stage: str
    running: int
    overdue: int

    @property
    def label(self) -> str:
        return str(Stage(self.stage).label)


def monitoring_load(*, region: Region) -> list[StageLoad]:
    """Running and overdue clocks of each monitoring stage in the region: one query."""
    stages = [s for _shown, group in PANEL for s in group]
    counts = {
        row["stage"]: row
        for row in Clock.objects.filter(
            region_code__startswith=region.prefix, met_at__isnull=True, stage__in=stages
        )
        .values("stage")
        .annotate(running=Count("pk"), overdue=Count("pk", filter=Q(breached_at__isnull=False)))
    }
    return [
        StageLoad(
            shown,
            sum(counts.get(s, {}).get("running", 0) for s in group),
            sum(counts.get(s, {}).get("overdue", 0) for s in group),
        )
        for shown, group in PANEL
    ]


def long_monitored(*, region: Region, now: dt.datetime | None = None):
    """Households under monitoring for over two years (LONG_MONITORED_DAYS) without their
    risk eliminated, longest first: the policy asks for close attention to them."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.LONG_MONITORED_DAYS)
    return (
        MonitoredHousehold.objects.monitoring()
        .filter(region_code__startswith=region.prefix, monitoring_since__lt=since)
        .select_related("village")
        .order_by("monitoring_since", "pk")
    )


@dataclass(frozen=True)
class WorkRow:
    """A line of a named list of household work or warnings."""

    name: str
    village: str
    kind: str
    what: str
    due: dt.date | None
    url: str


def _url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


# What a line of a list shows of its household (the encrypted fields stay unread):
# household_row's columns.
HOUSEHOLD_ROW_FIELDS = ("pk", "head_name", "category", "village__name")


def household_row(values: tuple, what, due) -> WorkRow:
    pk, head_name, category, village = values[:4]
    return WorkRow(
        head_name,
        village,
        str(Category(category).label),
        str(what),
        due,
        _url("households:detail", pk),
    )


def late_work_clocks(kind: str):
    """The clocks behind a named list of household work, warnings or households not
    yet recorded nationally (for selectors.late_clocks_of_lists)."""
    if kind == "warning":
        return overdue_clocks_of(subject_type=WARNING_SUBJECT, stage=Stage.WARNING)
    if kind == "national":
        return Clock.objects.filter(
            met_at__isnull=True, stage=Stage.NATIONAL_RECORD, subject_type=NATIONAL_SUBJECT
        )
    return overdue_clocks_of(stage__in=HOUSEHOLD_KINDS[kind])


def work_rows(*, region: Region, kind: str, limit: int = 2000) -> list[WorkRow]:
    """The rows of a named list: household work ("plan", "visit", "look_back"), the
    households monitored for over two years ("long"), overdue warnings ("warning"), or
    the households enrolled and not yet recorded nationally ("national", the first due
    first)."""
    if kind == "long":
        return long_rows(region=region, limit=limit)
    return work_rows_of({kind: first_clocks(late_work_clocks(kind), region, limit)})[kind]


def long_rows(*, region: Region, limit: int) -> list[WorkRow]:
    return [
        household_row(
            values,
            _("Monitored since %(date)s") % {"date": timezone.localdate(values[-1])},
            None,
        )
        for values in long_monitored(region=region).values_list(
            *HOUSEHOLD_ROW_FIELDS, "monitoring_since"
        )[:limit]
    ]


def work_rows_of(lists: dict[str, list[tuple]]) -> dict[str, list[WorkRow]]:
    """The lines of named lists of household work, warnings and hand-overs from their
    clocks (CLOCK_COLUMNS, in the lists' order). Whatever the lists' length: one
    statement for the warnings, one for each kind of work's owner (help plans, visits,
    look-backs), one for the households of every list."""
    clocks = [clock for rows in lists.values() for clock in rows]
    warnings = {
        pk: row
        for pk, *row in Warning.objects.filter(
            pk__in=[pk for t, pk, _stage, _due in clocks if t == WARNING_SUBJECT]
        ).values_list("pk", "person_name", "score", "village__name")
    }
    owners = {(NATIONAL_SUBJECT, pk): pk for t, pk, _stage, _due in clocks if t == NATIONAL_SUBJECT}
    for subject_type, model in SUBJECT_MODELS.items():
        ids = [pk for t, pk, _stage, _due in clocks if t == subject_type]
        if ids:
            for pk, household_id in model.objects.filter(pk__in=ids).values_list(
                "pk", "household_id"
            ):
                owners[subject_type, pk] = household_id
    households = {}
    if owners:
        households = {
            values[0]: values
            for values in MonitoredHousehold.objects.filter(
                pk__in=set(owners.values())
            ).values_list(*HOUSEHOLD_ROW_FIELDS, "enrolled_at")
        }
    warning_label = str(Stage.WARNING.label)

    def line(subject_type, pk, stage, due_on) -> WorkRow | None:
        if subject_type == WARNING_SUBJECT:
            if pk not in warnings:
                return None
            person_name, score, village = warnings[pk]
            return WorkRow(
                person_name or village,
                village,
                _("risk score %(score)d") % {"score": score},
                warning_label,
                due_on,
                _url("screening:warning", pk),
            )
        household = households.get(owners.get((subject_type, pk)))
        if household is None:
            return None
        if subject_type == NATIONAL_SUBJECT:
            what = _("Enrolled on %(date)s") % {"date": timezone.localdate(household[-1])}
        else:
            what = Stage(stage).label
        return household_row(household, what, due_on)

    return {
        key: [row for clock in rows if (row := line(*clock)) is not None]
        for key, rows in lists.items()
    }
