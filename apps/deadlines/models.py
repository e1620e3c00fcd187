"""Working days, deadline policy and the one clock table for every kind of case.

A clock is a row: what it times (subject), which stage, the region (for scoping and
dashboards), when it started, when it is due, when it was met, when it was breached.
Due dates are fixed when a clock starts; a change of policy applies to clocks started
after it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import protected_link
from apps.regions.models import ScopedQuerySet


class CalendarYear(models.Model):
    """A year's official calendar, confirmed once the State Council has published it."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    confirmed = models.BooleanField(_("confirmed"), default=False)
    source = models.CharField(_("source"), max_length=200, blank=True)
    confirmed_by = protected_link(settings.AUTH_USER_MODEL, _("confirmed by"), optional=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self):
        return str(self.year)


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("public holiday (day off)")
    WORKDAY = "workday", _("make-up working day")


class CalendarDay(models.Model):
    """An exception to Monday–Friday: a holiday on a weekday or a working weekend day."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()}"


class Stage(models.TextChoices):
    VERIFY = "verify", _("acceptance and home visit")
    FEEDBACK = "feedback", _("feedback to the applicant")
    ENROL = "enrol", _("enrolment")
    APPEAL = "appeal", _("appeal decision")
    HELP_PLAN = "help_plan", _("help plan")
    GREEN_CHANNEL = "green_channel", _("green-channel identification")
    WARNING = "warning", _("department warning verified")
    FOLLOW_UP = "follow_up", _("follow-up visit")
    FOLLOW_UP_CLOSE = "follow_up_close", _("follow-up visit (household not yet stable)")
    LOOK_BACK = "look_back", _("look-back review")
    NATIONAL_RECORD = "national_record", _("recorded in the national system")
    SPOT_CHECK = "spot_check", _("spot-check disagreement answered")
    DATA_QUALITY = "data_quality", _("data-quality item resolved by the village")


class Unit(models.TextChoices):
    WORKING_DAYS = "working_days", _("working days")
    DAYS = "days", _("days")
    MONTHS = "months", _("months")


class DeadlinePolicy(models.Model):
    """How long a stage may take. Policy, so in data: provincial admins edit it."""

    stage = models.CharField(_("stage"), max_length=32, choices=Stage.choices, unique=True)
    limit = models.PositiveSmallIntegerField(_("limit"))
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)
    starts_on = models.CharField(_("the clock starts on"), max_length=100)
    source = models.CharField(_("policy source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        ordering = ["stage"]

    def __str__(self):
        return f"{self.get_stage_display()}: {self.limit} {self.get_unit_display()}"


class ClockQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def running(self):
        return self.filter(met_at__isnull=True)

    def for_subject(self, subject_type: str, subject_id: int):
        return self.filter(subject_type=subject_type, subject_id=subject_id)


class Clock(models.Model):
    subject_type = models.CharField(_("kind of case"), max_length=32)  # e.g. "declaration"
    subject_id = models.BigIntegerField(_("case"))
    stage = models.CharField(_("stage"), max_length=32, choices=Stage.choices)
    # Indexed by clock_region_due_idx (a prefix, or equal) and the partial indexes below.
    region_code = models.CharField(_("region code"), max_length=12)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    due_on = models.DateField(_("due on"))
    # The end of the due date, local time: past this the clock is breached.
    due_at = models.DateTimeField(_("due at"))
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    # The due date was computed Monday–Friday because a year had no confirmed calendar.
    provisional = models.BooleanField(_("provisional due date"), default=False)
    # The green channel is urgent enough to send reminders at night.
    urgent = models.BooleanField(default=False)
    # Stopped because the case closed without the stage being done (withdrawn, merged):
    # neither met nor, unless it had already run out, overdue.
    cancelled = models.BooleanField(_("stopped"), default=False)
    # Working days from start to met, kept for the dashboards' averages.
    working_days_taken = models.PositiveSmallIntegerField(
        _("working days taken"), null=True, blank=True
    )
    # Each reminder goes once: claimed by a conditional update before it is queued.
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    breach_notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ClockQuerySet.as_manager()

    class Meta:
        verbose_name = _("deadline clock")
        verbose_name_plural = _("deadline clocks")
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "stage"], name="one_clock_per_stage"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(met_at__isnull=True, breached_at__isnull=True),
                name="clock_sweep_idx",
            ),
            # A case's clocks: one_clock_per_stage's index, whose first columns these are.
            # The named lists (over 5 days not accepted, over 15 not enrolled): running
            # clocks past due, by stage, oldest first.
            models.Index(
                fields=["stage", "due_on"],
                include=["region_code", "subject_type", "subject_id"],
                condition=Q(met_at__isnull=True, breached_at__isnull=False),
                name="clock_late_idx",
            ),
            # The same lists for a county or below: its overdue clocks of a stage, read
            # from the index alone and the first by due day sorted out (walking
            # clock_late_idx would pass every other county's clocks first).
            models.Index(
                fields=["stage", "region_code"],
                opclasses=["text_ops", "varchar_pattern_ops"],
                include=["due_on", "subject_type", "subject_id", "id"],
                condition=Q(met_at__isnull=True, breached_at__isnull=False),
                name="clock_late_region_idx",
            ),
            # The dashboards (apps/supervision/selectors.py), scoped by a prefix of the
            # region code: clocks due in a period, covering the breached/stopped test;
            # clocks running and breached now; clocks breached per week.
            models.Index(
                fields=["region_code", "due_on"],
                opclasses=["varchar_pattern_ops", "date_ops"],
                include=["breached_at", "cancelled"],
                name="clock_region_due_idx",
            ),
            models.Index(
                fields=["region_code"],
                opclasses=["varchar_pattern_ops"],
                condition=Q(met_at__isnull=True, breached_at__isnull=False),
                name="clock_overdue_idx",
            ),
            # The monitoring panel: running clocks of a stage in a region.
            models.Index(
                fields=["stage", "region_code"],
                opclasses=["text_ops", "varchar_pattern_ops"],
                condition=Q(met_at__isnull=True),
                name="clock_running_stage_idx",
            ),
            models.Index(
                fields=["breached_at", "region_code"],
                condition=Q(breached_at__isnull=False),
                name="clock_breached_idx",
            ),
        ]

    def __str__(self):
        return f"{self.subject_type}:{self.subject_id} {self.stage} → {self.due_on}"
