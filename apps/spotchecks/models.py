"""Routine spot checks of decided cases (常态化抽验复核).

Each month a share of the cases decided in the month (enrolled, not enrolled, risk
eliminated) is drawn in each county, at least one per township that decided any; a
city or the province may draw its own over its subtree. Someone who took no part in the
decision re-verifies each drawn case by phone or on a visit and agrees or disagrees;
a disagreement is a flag the county answers within a deadline (a clock), reopening a
rejected case for its review again or recording what it did.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.models import HistoryEntry
from apps.declarations.models import Declaration, format_tracking_number
from apps.households.models import EliminationProposal
from apps.regions.models import Region, ScopedQuerySet


class Kind(models.TextChoices):
    ENROLLED = "enrolled", _("enrolled for monitoring")
    REJECTED = "rejected", _("not enrolled")
    ELIMINATED = "eliminated", _("risk eliminated")


class Method(models.TextChoices):
    PHONE = "phone", _("by phone")
    VISIT = "visit", _("on a visit")


class Outcome(models.TextChoices):
    AGREE = "agree", _("agrees with the decision")
    DISAGREE = "disagree", _("disagrees with the decision")


class Resolution(models.TextChoices):
    REOPENED = "reopened", _("case reopened for county review")
    UPHELD = "upheld", _("decision upheld")
    HANDLED = "handled", _("handled otherwise (recorded)")


class DrawQuerySet(ScopedQuerySet):
    # The drawing region's code: a draw is seen at its region and above.
    region_code_field = "region_code"


class Draw(models.Model):
    """One month's sample of a region's subtree. Reproducible: the candidates, sorted
    by kind and id, shuffled by Python's `random.Random(seed)` as `services.pick` does,
    give the same sample again (`services.redraw` checks it)."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(_("region code"), max_length=12, editable=False)
    # The month whose decisions were sampled, "2026-11".
    round = models.CharField(_("month"), max_length=7)
    share = models.DecimalField(_("share drawn"), max_digits=5, decimal_places=4)
    seed = models.BigIntegerField(_("random seed"))
    candidates = models.PositiveIntegerField(_("decided cases"))
    drawn = models.PositiveIntegerField(_("drawn"))
    drawn_by = protected_link(settings.AUTH_USER_MODEL, _("drawn by"), optional=True)
    drawn_at = models.DateTimeField(_("drawn at"), default=timezone.now)

    objects = DrawQuerySet.as_manager()

    class Meta:
        verbose_name = _("spot-check draw")
        verbose_name_plural = _("spot-check draws")
        ordering = ["-round", "region_code"]
        constraints = [
            # Once per region and month, whoever draws first (the monthly job or a button).
            models.UniqueConstraint(fields=["region", "round"], name="one_draw_per_region_month")
        ]

    def __str__(self):
        return f"{self.region} {self.round}"


class SpotCheckQuerySet(ScopedQuerySet):
    # The case's village code: scoping and the rates by region are prefix matches.
    region_code_field = "region_code"

    def open_flags(self):
        return self.filter(outcome=Outcome.DISAGREE, resolution="")


class SpotCheck(models.Model):
    """One drawn case: a declaration decided (enrolled or not) or a risk elimination."""

    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="checks")
    kind = models.CharField(_("decision"), max_length=16, choices=Kind.choices)
    declaration = models.ForeignKey(
        Declaration,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("declaration"),
    )
    elimination = models.ForeignKey(
        EliminationProposal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("risk elimination"),
    )
    region_code = models.CharField(_("region code"), max_length=12, editable=False)
    decided_at = models.DateTimeField(_("decided"))

    checker = protected_link(settings.AUTH_USER_MODEL, _("checker"), optional=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    method = models.CharField(_("checked"), max_length=16, choices=Method.choices, blank=True)
    checked_on = models.DateField(_("checked on"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    reason = EncryptedTextField(_("checker's reason"), blank=True)
    recorded_at = models.DateTimeField(_("recorded"), null=True, blank=True)

    # A disagreement: the county's answer.
    resolution = models.CharField(
        _("county's answer"), max_length=16, choices=Resolution.choices, blank=True
    )
    resolution_reason = EncryptedTextField(_("county's reason"), blank=True)
    resolved_by = protected_link(settings.AUTH_USER_MODEL, _("answered by"), optional=True)
    resolved_at = models.DateTimeField(_("answered"), null=True, blank=True)

    objects = SpotCheckQuerySet.as_manager()

    class Meta:
        verbose_name = _("spot check")
        verbose_name_plural = _("spot checks")
        ordering = ["region_code", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(declaration__isnull=True) ^ Q(elimination__isnull=True),
                name="spot_check_one_subject",
            ),
            models.UniqueConstraint(
                fields=["draw", "declaration"], name="one_check_per_declaration_and_draw"
            ),
            models.UniqueConstraint(
                fields=["draw", "elimination"], name="one_check_per_elimination_and_draw"
            ),
        ]
        indexes = [
            models.Index(
                fields=["region_code"],
                opclasses=["varchar_pattern_ops"],
                name="spot_check_region_idx",
            )
        ]

    def __str__(self):
        return f"{self.draw.round} {self.subject_label}"

    @property
    def subject_label(self) -> str:
        if self.declaration_id:
            return format_tracking_number(self.declaration.tracking_number)
        return str(self.elimination.household)

    @property
    def is_open_flag(self) -> bool:
        return self.outcome == Outcome.DISAGREE and not self.resolution


class SpotCheckEvent(HistoryEntry):
    """The history of draws and checks: drawn, assigned, recorded, answered."""

    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="events")
    spot_check = models.ForeignKey(
        SpotCheck, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )

    class Meta(HistoryEntry.Meta):
        verbose_name = _("spot-check event")
        verbose_name_plural = _("spot-check events")

    def __str__(self):
        return f"{self.kind} {self.at:%Y-%m-%d}"
