"""Point-to-point reminders (点对点督促): the responsible worker the working day before a
deadline, and on a breach the worker and the level above. Each reminder goes once per
(clock, kind): a sweeper claims clocks with SELECT … FOR UPDATE SKIP LOCKED and marks
them in the same transaction as it queues the SMS, so a second sweeper running at the
same time takes other rows or none. Reminders wait for the morning outside working
hours, except the green channel's.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.formats import date_format

from apps.core.identity import mask_name
from apps.deadlines.calendar import next_working_day
from apps.deadlines.models import Clock
from apps.deadlines.services import clocks_sweep
from apps.households.models import FollowUp, HelpPlan, LookBack, MonitoredHousehold, PlanState
from apps.households.services import (
    FOLLOW_UP_SUBJECT,
    LOOK_BACK_SUBJECT,
    NATIONAL_SUBJECT,
    PLAN_SUBJECT,
)
from apps.notifications.services import messages_enqueue, sms_to
from apps.regions.models import PREFIX_LENGTH, Level, Region, Role, StaffMembership
from apps.regions.services import notice_recipients

from ..models import Appeal, Declaration, State
from ..models import Level as DecidingLevel
from .intake import SUBJECT

BATCH = 500

# Who holds a case in each state, and who is above them.
HOLDER = {
    State.SUBMITTED: Level.VILLAGE,
    State.ACCEPTED: Level.VILLAGE,
    State.VERIFIED: Level.VILLAGE,
    State.IN_NOTICE: Level.VILLAGE,
    State.RETURNED: Level.VILLAGE,
    State.TOWNSHIP_REVIEW: Level.TOWNSHIP,
    State.COUNTY_REVIEW: Level.COUNTY,
}
PLAN_HOLDER = {
    PlanState.DRAFT: Level.VILLAGE,
    PlanState.TOWNSHIP_CHECK: Level.TOWNSHIP,
    PlanState.COUNTY_APPROVAL: Level.COUNTY,
}
# An appeal waits on the level that decides it.
APPEAL_HOLDER = {DecidingLevel.TOWNSHIP: Level.TOWNSHIP, DecidingLevel.COUNTY: Level.COUNTY}
# Who is reminded at each level above the village; the level above a level is the one
# numbered before it (a county's breach goes to the city).
ROLE_AT = {Level.TOWNSHIP: Role.TOWNSHIP, Level.COUNTY: Role.COUNTY, Level.CITY: Role.CITY}


@dataclass(frozen=True)
class Holder:
    """Whose clock it is: the case's village, the name in the SMS, the region."""

    village: Region
    name: str
    region_code: str
    group: str = ""  # the case's village group (村民小组), for its grid worker


def _phones(level: str, subject: Holder, on: dt.date | None = None) -> list[str]:
    if level == Level.VILLAGE:
        return notice_recipients(subject.village, group=subject.group, on=on)
    code = subject.region_code[: PREFIX_LENGTH[level]].ljust(12, "0")
    rows = StaffMembership.objects.filter(
        region__code=code, role=ROLE_AT[level], is_active=True, user__is_active=True
    ).values_list("user__mobile", flat=True)
    return [phone for phone in rows if phone]


def _declaration_holder(declaration: Declaration) -> Holder:
    return Holder(
        declaration.village, declaration.name, declaration.region_code, declaration.address_group
    )


def _household_holder(household: MonitoredHousehold) -> Holder:
    roster = household.roster_household
    return Holder(
        household.village,
        household.head_name,
        household.region_code,
        roster.address_group if roster else "",
    )


def clock_holders(clocks: list[Clock]) -> dict[Clock, tuple[Holder, str]]:
    """Each clock's case and the level that holds it for this clock: declarations,
    appeals and household work. A higher app that files clocks of its own passes a
    resolver that adds them (`resolve`); a clock nobody resolves gets no reminder."""
    ids: dict[str, set[int]] = {}
    for clock in clocks:
        ids.setdefault(clock.subject_type, set()).add(clock.subject_id)
    appeals = Appeal.objects.in_bulk(ids.get("appeal", set()))
    declaration_ids = ids.get(SUBJECT, set()) | {a.declaration_id for a in appeals.values()}
    declarations = Declaration.objects.select_related("village").in_bulk(declaration_ids)
    # Household work: plans wait on whoever holds them; visits and look-backs on the village.
    household_work = {
        subject_type: model.objects.select_related(
            "household__village", "household__roster_household"
        ).in_bulk(ids.get(subject_type, set()))
        for subject_type, model in (
            (PLAN_SUBJECT, HelpPlan),
            (FOLLOW_UP_SUBJECT, FollowUp),
            (LOOK_BACK_SUBJECT, LookBack),
        )
    }
    # The hand-over of a new household to the national system waits on the county.
    recorded = MonitoredHousehold.objects.select_related("village").in_bulk(
        ids.get(NATIONAL_SUBJECT, set())
    )
    found = {}
    for clock in clocks:
        if clock.subject_type == NATIONAL_SUBJECT:
            household = recorded.get(clock.subject_id)
            if household is not None:
                found[clock] = (_household_holder(household), Level.COUNTY)
        elif clock.subject_type == "appeal":
            appeal = appeals.get(clock.subject_id)
            if appeal:
                found[clock] = (
                    _declaration_holder(declarations[appeal.declaration_id]),
                    APPEAL_HOLDER[appeal.level],
                )
        elif clock.subject_type == SUBJECT:
            declaration = declarations.get(clock.subject_id)
            if declaration is not None:
                found[clock] = (
                    _declaration_holder(declaration),
                    HOLDER.get(declaration.state, Level.VILLAGE),
                )
        elif clock.subject_type in household_work:
            work = household_work[clock.subject_type].get(clock.subject_id)
            if work is not None:
                level = PLAN_HOLDER.get(getattr(work, "state", None), Level.VILLAGE)
                found[clock] = (_household_holder(work.household), level)
    return found


clock_holders.subject_types = frozenset(
    {SUBJECT, "appeal", PLAN_SUBJECT, FOLLOW_UP_SUBJECT, LOOK_BACK_SUBJECT, NATIONAL_SUBJECT}
)


def _queue(clock: Clock, subject: Holder, template: str, phones: list[str]) -> None:
    params = {
        "village": subject.village.name,
        "name": mask_name(subject.name),
        "stage": str(clock.get_stage_display()),
        "due": date_format(clock.due_on, "MONTH_DAY_FORMAT"),
    }
    messages_enqueue(
        subject=f"clock:{clock.pk}:{template}",
        region_code=clock.region_code,
        messages=sms_to(phones, template, **params),
        respect_quiet_hours=not clock.urgent,
    )


def _claim(queryset, field: str, now, resolve) -> list[Clock]:
    """Claim clocks of the kinds `resolve` knows: a clock is marked reminded only by a
    sweep that can say whose it is."""
    queryset = queryset.filter(subject_type__in=resolve.subject_types)
    clocks = list(queryset.select_for_update(skip_locked=True).order_by("due_at")[:BATCH])
    Clock.objects.filter(pk__in=[c.pk for c in clocks]).update(**{field: now})
    return clocks


def _remind(clocks, field: str, now, resolve, template: str, above: str = "") -> int:
    """Claim and remind in batches until none is left: each clock's holder hears of it,
    and with an `above` template the level above too."""
    resolve = resolve or clock_holders
    today = timezone.localdate(now)
    sent = 0
    while True:
        with transaction.atomic():
            claimed = _claim(clocks, field, now, resolve)
            for clock, (subject, level) in resolve(claimed).items():
                _queue(clock, subject, template, _phones(level, subject, today))
                if above:
                    _queue(clock, subject, above, _phones(Level(level - 1), subject, today))
        sent += len(claimed)
        if len(claimed) < BATCH:
            return sent


def reminders_due_tomorrow(*, now: dt.datetime | None = None, resolve=None) -> int:
    now = now or timezone.now()
    tomorrow = next_working_day(timezone.localdate(now))
    due = Clock.objects.filter(
        met_at__isnull=True,
        breached_at__isnull=True,
        reminded_at__isnull=True,
        due_on__lte=tomorrow,
        due_at__gt=now,
    )
    return _remind(due, "reminded_at", now, resolve, "deadline_tomorrow")


def reminders_breached(*, now: dt.datetime | None = None, resolve=None) -> int:
    now = now or timezone.now()
    breached = Clock.objects.filter(
        met_at__isnull=True, breached_at__isnull=False, breach_notified_at__isnull=True
    )
    return _remind(
        breached, "breach_notified_at", now, resolve, "deadline_breached", "deadline_breached_above"
    )


def deadlines_sweep(*, now: dt.datetime | None = None, resolve=None) -> dict[str, int]:
    """The periodic step: flag breaches, then remind. Idempotent."""
    now = now or timezone.now()
    return {
        "breached": clocks_sweep(now=now),
        "reminded": reminders_due_tomorrow(now=now, resolve=resolve),
        "escalated": reminders_breached(now=now, resolve=resolve),
    }


def morning_digest(*, now: dt.datetime | None = None) -> int:
    """One SMS to each township's and county's staff: what falls due today and what is
    overdue across their villages. Once per region and day."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    running = Clock.objects.filter(met_at__isnull=True, due_on__lte=today)
    sent = 0
    for level in (Level.TOWNSHIP, Level.COUNTY):
        counts = {
            row["prefix"]: row
            for row in running.annotate(prefix=Substr("region_code", 1, PREFIX_LENGTH[level]))
            .values("prefix")
            .annotate(
                due_today=Count("pk", filter=Q(due_on=today)),
                overdue=Count("pk", filter=Q(due_on__lt=today)),
            )
        }
        codes = {prefix.ljust(12, "0"): prefix for prefix in counts}
        staff: dict[str, list[str]] = {}
        members = StaffMembership.objects.filter(
            region__code__in=codes, role=ROLE_AT[level], is_active=True, user__is_active=True
        ).values_list("region__code", "region__name", "user__mobile")
        names = {}
        for code, name, phone in members:
            names[code] = name
            if phone:
                staff.setdefault(code, []).append(phone)
        with transaction.atomic():
            for code, phones in staff.items():
                count = counts[codes[code]]
                messages_enqueue(
                    subject=f"digest:{code}:{today.isoformat()}",
                    region_code=code,
                    messages=sms_to(
                        phones,
                        "deadline_digest",
                        region=names[code],
                        due_today=str(count["due_today"]),
                        overdue=str(count["overdue"]),
                    ),
                    ignore_existing=True,
                )
                sent += 1
    return sent
