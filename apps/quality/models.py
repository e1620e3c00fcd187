"""Data-quality items and self-check rounds.

A rule (`Rule`) looks over the stored data for one kind of problem; each of its hits is
an item (`QualityItem`) about one subject row (a household, a member, a measure, a
declaration), routed to that row's village, which corrects the data or confirms it is
right. One open item per rule and subject (a partial unique index); `facts` is a digest
of what the rule found, so that a confirmed item is not raised again for the same facts.

A self-check round (自查自纠) is opened by a province or city over its subtree with
chosen rules and a deadline; the items its run raises carry it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.models import HistoryEntry
from apps.declarations.models import DocumentKind
from apps.regions.models import PREFIX_LENGTH, Level, Region, ScopedQuerySet, user_region_prefixes


class Rule(models.TextChoices):
    INVALID_ID = "invalid_id", _("ID number fails its check")
    DUPLICATE_ID = "duplicate_id", _("one ID number held by different people")
    TWO_HOUSEHOLDS = "two_households", _("one person in two households")
    HOUSEHOLD_SIZE = "household_size", _("household size differs from the members recorded")
    DEAD_PERSON = "dead_person", _("a person who died is still a member or an applicant")
    BELOW_LINE_ELIMINATED = "below_line_eliminated", _("income below the line but risk eliminated")
    ABOVE_LINE_ENROLLED = (
        "above_line_enrolled",
        _("income above the line but monitored without a recorded reason"),
    )
    NO_PLAN = "no_plan", _("monitored household without a help plan")
    MEASURE_UNDELIVERED = (
        "measure_undelivered",
        _("measure past its date without evidence of delivery"),
    )
    MISSING_DOCUMENTS = "missing_documents", _("required documents missing")


class Subject(models.TextChoices):
    ROSTER_MEMBER = "roster_member", _("roster member")
    HOUSEHOLD_MEMBER = "household_member", _("household member")
    HOUSEHOLD = "household", _("monitored household")
    MEASURE = "measure", _("plan measure")
    DECLARATION = "declaration", _("declaration")


class ItemStatus(models.TextChoices):
    OPEN = "open", _("open")
    # The problem was no longer found by a later run: closed by the system.
    FIXED = "fixed", _("fixed (no longer found)")
    CORRECTED = "corrected", _("corrected by the village")
    CONFIRMED = "confirmed", _("confirmed as right by the village")


RESOLVED = [ItemStatus.FIXED, ItemStatus.CORRECTED, ItemStatus.CONFIRMED]


class RoundQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def visible_to(self, user):
        """A round is seen in its own subtree (as every row) and from the regions under
        it: a county follows the city's round it takes part in."""
        seen = super().visible_to(user)
        if not user or not user.is_authenticated or user.is_superuser:
            return seen
        above = {
            prefix[:n].ljust(12, "0")
            for prefix in user_region_prefixes(user)
            for n in (PREFIX_LENGTH[Level.PROVINCE], PREFIX_LENGTH[Level.CITY])
            if n < len(prefix)
        }
        return seen | self.filter(region_code__in=above)


class SelfCheckRound(models.Model):
    """自查自纠: a province or city has its subtree check chosen rules by a deadline."""

    region = protected_link(Region, _("region"))
    region_code = models.CharField(_("region code"), max_length=12, editable=False)
    title = models.CharField(_("title"), max_length=100)
    rules = models.JSONField(_("rules"), default=list)
    deadline = models.DateField(_("deadline"))
    opened_by = protected_link(settings.AUTH_USER_MODEL, _("opened by"))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)

    objects = RoundQuerySet.as_manager()

    class Meta:
        verbose_name = _("self-check round")
        verbose_name_plural = _("self-check rounds")
        ordering = ["-opened_at", "-pk"]

    def __str__(self):
        return self.title

    def get_rules_display(self) -> str:
        labels = dict(Rule.choices)
        return "、".join(str(labels.get(r, r)) for r in self.rules)


class QualityRun(models.Model):
    """One run of the rules (nightly, on demand, or a round's), and the high-water marks
    of the ID-number check: rows up to these keys were checked by an earlier run."""

    region_code = models.CharField(max_length=12)  # the scope's code; "" for everything
    rules = models.JSONField(default=list)
    round = models.ForeignKey(
        SelfCheckRound, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    started_by = protected_link(settings.AUTH_USER_MODEL, optional=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    roster_member_checked_upto = models.BigIntegerField(default=0)
    household_member_checked_upto = models.BigIntegerField(default=0)
    # Per rule: items raised, still open (seen again), closed as fixed.
    counts = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("data-quality run")
        verbose_name_plural = _("data-quality runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.region_code or '*'} {self.started_at:%Y-%m-%d %H:%M}"


class ItemQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def open(self):
        return self.filter(status=ItemStatus.OPEN)


class QualityItem(models.Model):
    rule = models.CharField(_("rule"), max_length=32, choices=Rule.choices)
    subject_type = models.CharField(_("kind of record"), max_length=20, choices=Subject.choices)
    subject_id = models.BigIntegerField()
    village = protected_link(Region, _("village"))
    region_code = models.CharField(_("region code"), max_length=12, editable=False)
    # A digest of what the rule found (`details`), to recognise the same facts again.
    facts = models.CharField(max_length=32)
    # What the rule found, shown to the village: names, counts, dates; never an ID number.
    details = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN
    )
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last found"), default=timezone.now)
    due_on = models.DateField(_("due on"))
    round = models.ForeignKey(
        SelfCheckRound,
        verbose_name=_("self-check round"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="items",
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    resolved_by = protected_link(settings.AUTH_USER_MODEL, _("resolved by"), optional=True)
    resolution = EncryptedTextField(_("what was corrected, or why it is right"), blank=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("data-quality item")
        verbose_name_plural = _("data-quality items")
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id"],
                condition=Q(status="open"),
                name="one_open_quality_item",
            )
        ]
        indexes = [
            # A run's look-up of a batch's earlier items (open or confirmed).
            models.Index(fields=["subject_type", "subject_id"], name="quality_subject_idx"),
            # The pages: a region's items by code prefix.
            models.Index(
                fields=["region_code", "status"],
                opclasses=["varchar_pattern_ops", "text_ops"],
                name="quality_region_idx",
            ),
            models.Index(
                fields=["round", "region_code"],
                condition=Q(round__isnull=False),
                name="quality_round_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_rule_display()} · {self.village}"

    @property
    def is_open(self) -> bool:
        return self.status == ItemStatus.OPEN

    def describe(self) -> str:
        """What the rule found, in a line for the village."""
        d = self.details
        who = d.get("name") or d.get("household") or ""
        if self.rule == Rule.HOUSEHOLD_SIZE:
            return gettext(
                "%(who)s: household size %(recorded)s in the latest income record, "
                "%(members)s members recorded"
            ) % {"who": who, "recorded": d.get("recorded"), "members": d.get("members")}
        if self.rule in (Rule.BELOW_LINE_ELIMINATED, Rule.ABOVE_LINE_ENROLLED):
            return gettext("%(who)s: per-capita income %(income)s, line %(line)s") % {
                "who": who,
                "income": d.get("income"),
                "line": d.get("line"),
            }
        if self.rule == Rule.MEASURE_UNDELIVERED:
            return gettext("%(who)s: %(measure)s, ended %(end)s") % {
                "who": who,
                "measure": d.get("measure"),
                "end": d.get("end_on"),
            }
        if self.rule == Rule.MISSING_DOCUMENTS:
            labels = dict(DocumentKind.choices)
            missing = "、".join(str(labels.get(k, k)) for k in d.get("documents", []))
            return gettext("%(who)s: missing %(documents)s") % {"who": who, "documents": missing}
        if self.rule in (Rule.DUPLICATE_ID, Rule.TWO_HOUSEHOLDS) and d.get("household"):
            return gettext("%(who)s (household of %(head)s)") % {
                "who": who,
                "head": d["household"],
            }
        return who


class ItemEvent(HistoryEntry):
    """The item's log: raised, resolved (who, when, what), closed as fixed."""

    item = models.ForeignKey(QualityItem, on_delete=models.PROTECT, related_name="events")

    class Meta(HistoryEntry.Meta):
        verbose_name = _("data-quality item event")
        verbose_name_plural = _("data-quality item events")

    def __str__(self):
        return f"{self.item_id} {self.kind} {self.at:%Y-%m-%d}"
