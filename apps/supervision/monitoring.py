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
from apps.households.models import FollowUp, HelpPlan, LookBack, MonitoredHousehold
from apps.households.services import (
    FOLLOW_UP_SUBJECT,
    LOOK_BACK_SUBJECT,
    NATIONAL_SUBJECT,
    PLAN_SUBJECT,
)
from apps.regions.models import Region
from apps.screening.models import Warning
from apps.screening.services import SUBJECT as WARNING_SUBJECT

from .selectors import late_clocks

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


# What a line of a list shows of its household: the encrypted fields stay unread (the
# state machine's field is always loaded: django-fsm reads it on every instance).
HOUSEHOLD_ROW_FIELDS = ("head_name", "category", "status", "village", "village__name")


def household_row(household: MonitoredHousehold, what: str, due) -> WorkRow:
    return WorkRow(
        household.head_name,
        household.village.name,
        str(household.get_category_display()),
        str(what),
        due,
        _url("households:detail", household.pk),
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


def overdue_clocks_of(**conditions):
    return Clock.objects.filter(met_at__isnull=True, breached_at__isnull=False, **conditions)


def work_rows(
    *, region: Region, kind: str, limit: int = 2000, clocks: list[tuple] | None = None
) -> list[WorkRow]:
    """The rows of a named list: household work ("plan", "visit", "look_back"), the
    households monitored for over two years ("long"), overdue warnings ("warning"), or
    the households enrolled and not yet recorded nationally ("national")."""
    if kind == "long":
        return [
            household_row(
                h,
                _("Monitored since %(date)s") % {"date": timezone.localdate(h.monitoring_since)},
                None,
            )
            for h in long_monitored(region=region).only(*HOUSEHOLD_ROW_FIELDS, "monitoring_since")[
                :limit
            ]
        ]
    if kind == "warning":
        return late_warnings(region=region, limit=limit, clocks=clocks)
    if kind == "national":
        return unrecorded(region=region, limit=limit, clocks=clocks)
    if clocks is None:
        clocks = late_clocks(
            region,
            limit,
            "subject_type",
            "subject_id",
            "stage",
            "due_on",
            stage__in=HOUSEHOLD_KINDS[kind],
        )
    owners = {}  # (subject type, subject id) -> household id
    for subject_type, model in SUBJECT_MODELS.items():
        ids = [pk for t, pk, _stage, _due in clocks if t == subject_type]
        if ids:
            for pk, household_id in model.objects.filter(pk__in=ids).values_list(
                "pk", "household_id"
            ):
                owners[subject_type, pk] = household_id
    households = (
        MonitoredHousehold.objects.select_related("village")
        .only(*HOUSEHOLD_ROW_FIELDS)
        .in_bulk(set(owners.values()))
    )
    return [
        household_row(households[owners[t, pk]], Stage(stage).label, due_on)
        for t, pk, stage, due_on in clocks
        if owners.get((t, pk)) in households
    ]


def late_warnings(
    *, region: Region, limit: int = 2000, clocks: list[tuple] | None = None
) -> list[WorkRow]:
    """Warnings not verified within their 5 days, longest overdue first."""
    if clocks is None:
        clocks = late_clocks(
            region, limit, "subject_id", "due_on", subject_type=WARNING_SUBJECT, stage=Stage.WARNING
        )
    else:  # (subject_type, subject_id, stage, due_on), from late_clocks_of_lists
        clocks = [(pk, due_on) for _type, pk, _stage, due_on in clocks]
    warnings = (
        Warning.objects.select_related("village")
        .only("person_name", "score", "state", "village", "village__name")
        .in_bulk([pk for pk, _due in clocks])
    )
    label = str(Stage.WARNING.label)
    return [
        WorkRow(
            warnings[pk].person_name or warnings[pk].village.name,
            warnings[pk].village.name,
            _("risk score %(score)d") % {"score": warnings[pk].score},
            label,
            due_on,
            _url("screening:warning", pk),
        )
        for pk, due_on in clocks
        if pk in warnings
    ]


def unrecorded(
    *, region: Region, limit: int = 2000, clocks: list[tuple] | None = None
) -> list[WorkRow]:
    """Households enrolled and not yet recorded in the national system (录入国家系统):
    the running clocks of their hand-over, the first due (the overdue) first."""
    if clocks is None:
        clocks = list(
            late_work_clocks("national")
            .filter(region_code__startswith=region.prefix)
            .order_by("due_on", "subject_id")
            .values_list("subject_id", "due_on")[:limit]
        )
    else:  # (subject_type, subject_id, stage, due_on), from late_clocks_of_lists
        clocks = [(pk, due_on) for _type, pk, _stage, due_on in clocks]
    households = (
        MonitoredHousehold.objects.select_related("village")
        .only(*HOUSEHOLD_ROW_FIELDS, "enrolled_at")
        .in_bulk([pk for pk, _due in clocks])
    )
    return [
        household_row(
            households[pk],
            _("Enrolled on %(date)s") % {"date": timezone.localdate(households[pk].enrolled_at)},
            due_on,
        )
        for pk, due_on in clocks
        if pk in households
    ]
