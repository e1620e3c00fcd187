"""Summary tables behind the dashboards (docs/rates.md, "Where the numbers come from").

`DailyFigures` holds additive counters per region and day, at three levels: village
(the codes cases carry), township and county (sums of the villages below them). A
dashboard for a region and a period sums the rows of the level just finer than the one
it groups by, instead of aggregating every declaration and clock of the period. The
rows are recomputed from the cases by `figures_refresh` (apps/supervision/summaries.py),
run by Celery; `FiguresRefresh` records when, so the page can say how fresh it is.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import protected_link
from apps.core.models import HistoryEntry
from apps.regions.models import Level, Role, ScopedQuerySet, user_memberships

# City rows too: a province's dashboard sums 14 cities' rows, not 86 counties'.
SUMMARY_LEVELS = (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY)


class Span(models.IntegerChoices):
    """What a summary row counts: one day, or a whole month (the sum of its day rows,
    keyed by the month's first day). A period of 12 months reads 12 month rows per
    region and the day rows of its two partial months, not 365 day rows."""

    DAY = 1, _("day")
    MONTH = 2, _("month")


def _counter(verbose_name):
    # db_default: the refresh's INSERT … SELECT names only the columns it fills.
    return models.PositiveIntegerField(verbose_name, default=0, db_default=0)


class FigureCounters(models.Model):
    """The counters of a summary row (DailyFigures, FiguresStaging)."""

    received = _counter(_("received"))
    closed = _counter(_("closed"))
    accepted_in_time = _counter(_("accepted within 5 days"))
    enrolled_in_time = _counter(_("enrolled within 15 days"))
    accept_days_sum = _counter(_("working days to accept, sum"))
    accept_days_count = _counter(_("working days to accept, count"))
    enrol_days_sum = _counter(_("working days to enrol, sum"))
    enrol_days_count = _counter(_("working days to enrol, count"))
    clocks_due = _counter(_("deadlines due"))
    clocks_breached = _counter(_("deadlines breached"))
    # `received` by channel (declarations.Channel): one counter per channel.
    received_qr = _counter(_("received by QR self-declaration"))
    received_proxy = _counter(_("received on someone's behalf"))
    received_visit = _counter(_("received on a cadre visit"))
    received_hotline = _counter(_("received on the 12317 hotline"))
    received_paper = _counter(_("received on paper"))
    received_warning = _counter(_("received from a department warning"))
    # Clocks breached on the day (the weekly chart).
    breached = _counter(_("deadlines breached on the day"))
    # New monitored households enrolled on the day, by channel (one counter per
    # declarations.Channel) and by cause (one per households.Difficulty).
    enrolled = _counter(_("households enrolled"))
    enrolled_qr = _counter(_("enrolled from QR self-declaration"))
    enrolled_proxy = _counter(_("enrolled from a declaration on someone's behalf"))
    enrolled_visit = _counter(_("enrolled from a cadre visit"))
    enrolled_hotline = _counter(_("enrolled from the 12317 hotline"))
    enrolled_paper = _counter(_("enrolled from a paper application"))
    enrolled_warning = _counter(_("enrolled from a department warning"))
    cause_illness = _counter(_("enrolled for illness"))
    cause_disability = _counter(_("enrolled for disability"))
    cause_schooling = _counter(_("enrolled for schooling costs"))
    cause_disaster = _counter(_("enrolled for a natural disaster"))
    cause_accident = _counter(_("enrolled for an accident"))
    cause_unstable_work = _counter(_("enrolled for unstable work"))
    cause_business_failure = _counter(_("enrolled for failed farming or business"))
    cause_income_shock = _counter(_("enrolled for a sudden loss of income"))
    cause_other = _counter(_("enrolled for another difficulty"))

    class Meta:
        abstract = True


class DailyFigures(FigureCounters):
    """Counters of one region (`code`: its prefix, 12, 9, 6 or 4 digits) for one day,
    or (span MONTH) for the month starting on `day`: the sum of that month's day rows.

    By submission day (declarations not merged into a twin): received, closed,
    accepted_in_time, enrolled_in_time, and the sums and counts behind the average
    working days to accept / to enrol; received by channel (received_<channel>). By due
    day (every clock of the region, except those stopped before they ran out):
    clocks_due, clocks_breached. By breach day (every clock): breached, for the weekly
    chart. By enrolment day (the day the enrolment clock of an enrolled declaration was
    met, i.e. the county approved): enrolled, the new monitored households, by channel
    (enrolled_<channel>) and by kind of difficulty declared (cause_<kind>; a household
    declaring two kinds counts under both).
    """

    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    span = models.PositiveSmallIntegerField(
        _("span"), choices=Span.choices, default=Span.DAY, db_default=Span.DAY
    )
    code = models.CharField(_("region code prefix"), max_length=12)
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        constraints = [
            models.UniqueConstraint(
                fields=["level", "span", "code", "day"], name="daily_figures_key"
            ),
            models.CheckConstraint(
                condition=Q(level__in=[int(x) for x in SUMMARY_LEVELS]),
                name="daily_figures_level",
            ),
        ]
        indexes = [
            # A region's rows (a prefix of `code`) at one level and span, in a period.
            models.Index(
                fields=["level", "span", "code", "day"],
                opclasses=["int2_ops", "int2_ops", "varchar_pattern_ops", "date_ops"],
                name="daily_figures_prefix_idx",
            ),
            # The refresh's window of days, whatever the region (its comparison).
            models.Index(fields=["day"], name="daily_figures_day_idx"),
        ]

    def __str__(self):
        return (
            f"{self.code} {self.day:%Y-%m}"
            if self.span == Span.MONTH
            else f"{self.code} {self.day}"
        )


class OverdueFigures(models.Model):
    """Clocks of one region (`code`: its prefix at `level`) running past their due time
    when `figures_refresh` last ran: the dashboards' "currently overdue", as fresh as
    the other figures. Every refresh rewrites the whole table (a count over the partial
    index of running breached clocks)."""

    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    code = models.CharField(_("region code prefix"), max_length=12)
    overdue = _counter(_("currently overdue"))

    class Meta:
        verbose_name = _("overdue figures")
        verbose_name_plural = _("overdue figures")
        constraints = [
            models.UniqueConstraint(fields=["level", "code"], name="overdue_figures_key"),
        ]
        indexes = [
            models.Index(
                fields=["level", "code"],
                opclasses=["int2_ops", "varchar_pattern_ops"],
                name="overdue_figures_prefix_idx",
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.overdue}"


class FiguresStaging(FigureCounters):
    """Where `figures_refresh` computes a window of DailyFigures rows before writing to
    DailyFigures only those that differ. Emptied at each window; UNLOGGED on
    PostgreSQL (a scratch table: nothing in it outlives the refresh's transaction)."""

    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    span = models.PositiveSmallIntegerField(
        _("span"), choices=Span.choices, default=Span.DAY, db_default=Span.DAY
    )
    code = models.CharField(_("region code prefix"), max_length=12)
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("figures staging row")
        verbose_name_plural = _("figures staging rows")

    def __str__(self):
        return f"{self.code} {self.day}"


class FiguresRefresh(models.Model):
    """One run of `figures_refresh`: the dashboards show the latest one's time."""

    finished_at = models.DateTimeField(_("finished at"), db_index=True)
    since = models.DateField(_("recomputed from"), null=True, blank=True)  # None: all days
    seconds = models.FloatField(_("seconds"))
    rows = models.PositiveIntegerField(_("rows written"))

    class Meta:
        verbose_name = _("figures refresh")
        verbose_name_plural = _("figures refreshes")
        ordering = ["-finished_at"]

    def __str__(self):
        return f"{self.finished_at:%Y-%m-%d %H:%M} ({self.since or 'full'})"


# --- anomaly alerts (apps/supervision/anomalies.py, docs/anomalies.md) ---------------------

# Who sees alerts: township staff and above, over their own subtree.
ALERT_ROLES = frozenset({Role.TOWNSHIP, Role.COUNTY, Role.CITY, Role.PROVINCE})


class AlertQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def visible_to(self, user):
        """The alerts of the regions the user supervises: only the memberships of
        township staff and above count (village staff and grid workers see none)."""
        if not user or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        prefixes = sorted({p for p, role in user_memberships(user) if role in ALERT_ROLES})
        if not prefixes:
            return self.none()
        condition = Q()
        for prefix in prefixes:
            condition |= Q(region_code__startswith=prefix)
        return self.filter(condition)

    def open(self):
        return self.filter(state=Alert.State.OPEN)


class Alert(models.Model):
    """Something a rule found that a supervisor should look at: which rule, where, what
    it found (in words), the cases behind it and whether someone has looked.

    `subject` names what the rule found it about (a village, a user, a phone hash, with
    the day or month of the episode, e.g. "621102100201:2026-12-01"): a rule finds a
    subject once while its alert is open (the partial unique constraint), and running
    again updates that alert instead of adding another."""

    class Rule(models.TextChoices):
        QUIET_VILLAGE = "quiet_village", _("Village without declarations")
        FAST_CLOSING = "fast_closing", _("Cases closed suspiciously fast")
        BULK_REJECTION = "bulk_rejection", _("Rejections in bulk")
        REJECTION_RATE = "rejection_rate", _("Rejection rate far above the county's")
        WORKER_LOAD = "worker_load", _("Worker with too many open cases")
        SURGE = "surge", _("Surge of declarations")
        SHARED_PHONE = "shared_phone", _("One phone, many applicants")

    class State(models.TextChoices):
        OPEN = "open", _("open")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")

    rule = models.CharField(_("rule"), max_length=32, choices=Rule.choices)
    subject = models.CharField(_("subject"), max_length=100)
    region_code = models.CharField(_("region code"), max_length=12)
    finding = models.TextField(_("what was found"))
    # The declarations behind the finding (their ids); shown as links to the case pages.
    case_ids = models.JSONField(_("cases"), default=list, blank=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last found"), default=timezone.now)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    acknowledged_by = protected_link(settings.AUTH_USER_MODEL, _("acknowledged by"), optional=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=Q(state="open"),
                name="one_open_alert_per_rule_subject",
            ),
        ]
        indexes = [
            models.Index(
                fields=["region_code"], opclasses=["varchar_pattern_ops"], name="alert_region_idx"
            ),
        ]

    def __str__(self):
        return f"{self.get_rule_display()} {self.subject}"


class AlertEvent(HistoryEntry):
    """The alert's log: raised, found again with other cases, acknowledged."""

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="events")

    class Meta(HistoryEntry.Meta):
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")

    def __str__(self):
        return f"{self.alert} {self.kind} {self.at:%Y-%m-%d}"


# Issued bulletins: their own module.
from .models_bulletins import Bulletin, BulletinSequence  # noqa: E402, F401
