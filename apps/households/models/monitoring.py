"""Dynamic management (动态管理): follow-up visits on a schedule, risk elimination
(风险消除) with its review chain, and the look-back reviews (回头看) after it."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core.fields import EncryptedTextField, protected_link
from apps.regions.models import COUNTY_ROLES, TOWNSHIP_ROLES, ScopedQuerySet

from .households import HouseholdDocument, MonitoredHousehold


class Stability(models.TextChoices):
    STABLE = "stable", _("stable")
    UNSTABLE = "unstable", _("not stable")
    NEW_RISK = "new_risk", _("a new risk has appeared")


class ScopedByHousehold(ScopedQuerySet):
    region_code_field = "region_code"

    def pending(self):
        return self.filter(done_on__isnull=True)


class FollowUp(models.Model):
    """One scheduled follow-up visit (走访): created when the previous one is done (or
    at enrolment), due by its schedule, done when the village records what it found."""

    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="follow_ups"
    )
    region_code = models.CharField(max_length=12, editable=False, db_index=True)
    scheduled_at = models.DateTimeField(default=timezone.now)
    due_on = models.DateField(_("due by"))
    done_on = models.DateField(_("visited on"), null=True, blank=True)
    findings = EncryptedTextField(_("findings"), max_length=2000, blank=True)
    stability = models.CharField(
        _("assessment"), max_length=16, choices=Stability.choices, blank=True
    )
    new_risk_types = models.JSONField(_("new risks"), default=list, blank=True)
    recorded_by = protected_link(settings.AUTH_USER_MODEL, _("recorded by"), optional=True)
    # No longer needed: the household's risk was eliminated before the visit fell due.
    cancelled = models.BooleanField(default=False)

    objects = ScopedByHousehold.as_manager()

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["-due_on", "-pk"]
        constraints = [
            # At most one visit waiting per household.
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(done_on__isnull=True, cancelled=False),
                name="one_pending_follow_up",
            )
        ]

    def __str__(self):
        return f"{self.household} {self.due_on}"


class EliminationState(models.TextChoices):
    PROPOSED = "proposed", _("proposed by the village")
    TOWNSHIP_CHECKED = "township_checked", _("checked by the township")
    APPROVED = "approved", _("approved: risk eliminated")
    REFUSED = "refused", _("refused")


class EliminationQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def open(self):
        return self.filter(state__in=[EliminationState.PROPOSED, EliminationState.TOWNSHIP_CHECKED])


class EliminationProposal(ConcurrentTransitionMixin, models.Model):
    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="eliminations"
    )
    region_code = models.CharField(max_length=12, editable=False, db_index=True)
    state = FSMField(
        _("state"),
        default=EliminationState.PROPOSED,
        choices=EliminationState.choices,
        protected=True,
    )
    # The evidence: income over the period against the county's line, the risk gone,
    # the measures in place.
    period_start = models.DateField(_("income period from"))
    period_end = models.DateField(_("income period to"))
    per_capita_income = models.DecimalField(
        _("per-capita net income (yuan a year)"), max_digits=12, decimal_places=2
    )
    threshold = models.DecimalField(
        _("monitoring line (yuan a year)"),
        max_digits=10,
        decimal_places=2,
        default=Decimal(0),
    )
    risk_removed = models.TextField(_("how the risk was removed"), max_length=1000)
    measures_in_place = models.TextField(_("measures in place"), max_length=1000)
    evidence = protected_link(HouseholdDocument, _("evidence document"), optional=True)
    proposed_by = protected_link(settings.AUTH_USER_MODEL)
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = protected_link(settings.AUTH_USER_MODEL, optional=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = EncryptedTextField(_("reason for refusing"), blank=True)
    # The county approved although measures were still undelivered, and wrote why.
    override_reason = EncryptedTextField(_("county's reason for overriding"), blank=True)

    objects = EliminationQuerySet.as_manager()

    class Meta:
        verbose_name = _("risk elimination")
        verbose_name_plural = _("risk eliminations")
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(state__in=["proposed", "township_checked"]),
                name="one_open_elimination",
            )
        ]

    def __str__(self):
        return f"{self.household} · {self.get_state_display()}"

    # Who may make each transition: roles over the proposal's region.

    @transition(
        field=state,
        source=EliminationState.PROPOSED,
        target=EliminationState.TOWNSHIP_CHECKED,
        permission=TOWNSHIP_ROLES,
    )
    def township_pass(self):
        pass

    @transition(
        field=state,
        source=EliminationState.PROPOSED,
        target=EliminationState.REFUSED,
        permission=TOWNSHIP_ROLES,
    )
    @transition(
        field=state,
        source=EliminationState.TOWNSHIP_CHECKED,
        target=EliminationState.REFUSED,
        permission=COUNTY_ROLES,
    )
    def refuse(self):
        """With why; the household stays under monitoring."""

    @transition(
        field=state,
        source=EliminationState.TOWNSHIP_CHECKED,
        target=EliminationState.APPROVED,
        permission=COUNTY_ROLES,
    )
    def approve(self):
        """Marks the household's risk eliminated."""


class LookBackOutcome(models.TextChoices):
    STABLE = "stable", _("stable: the risk stays eliminated")
    UNSTABLE = "unstable", _("not stable: back to monitoring")


class LookBackQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def pending(self):
        return self.filter(outcome="")


class LookBack(models.Model):
    """A 回头看 review of a household whose risk was eliminated, drawn by sampling."""

    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="look_backs"
    )
    region_code = models.CharField(max_length=12, editable=False, db_index=True)
    # The sampling round, e.g. "2026-12": a household is drawn at most once a round.
    round = models.CharField(_("round"), max_length=7)
    sampled_at = models.DateTimeField(_("sampled"), default=timezone.now)
    due_on = models.DateField(_("due by"))
    reviewed_on = models.DateField(_("reviewed on"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=LookBackOutcome.choices, blank=True
    )
    findings = EncryptedTextField(_("findings"), max_length=2000, blank=True)
    reviewed_by = protected_link(settings.AUTH_USER_MODEL, optional=True)

    objects = LookBackQuerySet.as_manager()

    class Meta:
        verbose_name = _("look-back review")
        verbose_name_plural = _("look-back reviews")
        ordering = ["-sampled_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["household", "round"], name="one_look_back_per_round")
        ]

    def __str__(self):
        return f"{self.household} {self.round}"
