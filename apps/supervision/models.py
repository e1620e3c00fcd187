"""Summary tables behind the dashboards (docs/rates.md, "Where the numbers come from").

`DailyFigures` holds additive counters per region and day, at three levels: village
(the codes cases carry), township and county (sums of the villages below them). A
dashboard for a region and a period sums the rows of the level just finer than the one
it groups by, instead of aggregating every declaration and clock of the period. The
rows are recomputed from the cases by `figures_refresh` (apps/supervision/summaries.py),
run by Celery; `FiguresRefresh` records when, so the page can say how fresh it is.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.regions.models import Level

# City rows too: a province's dashboard sums 14 cities' rows, not 86 counties'.
SUMMARY_LEVELS = (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY)


def _counter(verbose_name):
    # db_default: the refresh's INSERT … SELECT names only the columns it fills.
    return models.PositiveIntegerField(verbose_name, default=0, db_default=0)


class DailyFigures(models.Model):
    """Counters of one region (`code`: its prefix, 12, 9, 6 or 4 digits) for one day.

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
    code = models.CharField(_("region code prefix"), max_length=12)
    day = models.DateField(_("day"))

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
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        constraints = [
            models.UniqueConstraint(fields=["level", "code", "day"], name="daily_figures_key"),
            models.CheckConstraint(
                condition=Q(level__in=[int(x) for x in SUMMARY_LEVELS]),
                name="daily_figures_level",
            ),
        ]
        indexes = [
            # A region's rows (a prefix of `code`) at one level, in a period.
            models.Index(
                fields=["level", "code", "day"],
                opclasses=["int2_ops", "varchar_pattern_ops", "date_ops"],
                name="daily_figures_prefix_idx",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.day}"


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


# Issued bulletins: their own module.
from .models_bulletins import Bulletin, BulletinSequence  # noqa: E402, F401
