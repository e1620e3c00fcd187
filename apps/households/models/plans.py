"""The county's help-policy list (帮扶政策清单, the "toolbox") and each household's
help plan drawn from it (一户一策): drafted by the village within 10 days of enrolment,
checked by the township, approved by the county."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core.fields import EncryptedTextField, protected_link
from apps.regions.models import (
    COUNTY_ROLES,
    TOWNSHIP_ROLES,
    VILLAGE_ROLES,
    Region,
    ScopedQuerySet,
)

from .households import HouseholdDocument, MonitoredHousehold


class PolicyKind(models.TextChoices):
    INDUSTRY = "industry", _("industry support")
    EMPLOYMENT = "employment", _("employment help")
    SKILLS = "skills", _("skills training")
    BACKSTOP = "backstop", _("social-security backstop")
    MEDICAL = "medical", _("medical assistance")
    EDUCATION = "education", _("education aid")
    HOUSING = "housing", _("housing safety")
    WATER = "water", _("drinking-water safety")
    MICRO_CREDIT = "micro_credit", _("micro-credit")
    WELFARE_JOB = "welfare_job", _("public-welfare job")
    RAIN_DEW = "rain_dew", _("Rain and Dew Plan vocational subsidy")
    TEMPORARY = "temporary", _("temporary assistance")
    OTHER = "other", _("other")


class PolicyQuerySet(ScopedQuerySet):
    region_code_field = "county__code"

    def active(self):
        return self.filter(active=True)

    def for_county(self, county_code: str):
        return self.filter(county__code=county_code)


class PolicyMeasure(models.Model):
    """One measure of a county's help-policy list."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": 3},
    )
    name = models.CharField(_("measure"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=PolicyKind.choices)
    eligibility = models.TextField(_("who is eligible"), max_length=1000, blank=True)
    department = models.CharField(_("responsible department"), max_length=50)
    # Runs for a fixed period (micro-credit, public-welfare jobs, 雨露计划): it keeps
    # running after the household's risk is eliminated, until its end date.
    time_bound = models.BooleanField(_("time-bound"), default=False)
    active = models.BooleanField(_("in force"), default=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("help policy")
        verbose_name_plural = _("help-policy list")
        ordering = ["county", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["county", "name"], name="policy_name_per_county")
        ]

    def __str__(self):
        return self.name


class PlanState(models.TextChoices):
    DRAFT = "draft", _("being drafted by the village")
    TOWNSHIP_CHECK = "township_check", _("with the township for checking")
    COUNTY_APPROVAL = "county_approval", _("awaiting county approval")
    APPROVED = "approved", _("approved")


class PlanQuerySet(ScopedQuerySet):
    region_code_field = "region_code"


class HelpPlan(ConcurrentTransitionMixin, models.Model):
    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="plans"
    )
    region_code = models.CharField(max_length=12, editable=False, db_index=True)
    state = FSMField(_("state"), default=PlanState.DRAFT, choices=PlanState.choices, protected=True)
    # The last word of the township or county when it sent the plan back.
    returned_reason = EncryptedTextField(_("sent back because"), blank=True)
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = protected_link(settings.AUTH_USER_MODEL, _("approved by"), optional=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        verbose_name = _("help plan")
        verbose_name_plural = _("help plans")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.household} · {self.get_state_display()}"

    # Guards, state and who may make each transition (roles over the plan's region):
    # services check them and hold the log, clocks and SMS.

    def has_measures(self) -> bool:
        return self.measures.exists()

    @transition(
        field=state,
        source=PlanState.DRAFT,
        target=PlanState.TOWNSHIP_CHECK,
        conditions=[has_measures],
        permission=VILLAGE_ROLES,
    )
    def submit(self):
        self.returned_reason = ""

    @transition(
        field=state,
        source=PlanState.TOWNSHIP_CHECK,
        target=PlanState.COUNTY_APPROVAL,
        permission=TOWNSHIP_ROLES,
    )
    def township_pass(self):
        pass

    @transition(
        field=state,
        source=PlanState.TOWNSHIP_CHECK,
        target=PlanState.DRAFT,
        permission=TOWNSHIP_ROLES,
    )
    @transition(
        field=state,
        source=PlanState.COUNTY_APPROVAL,
        target=PlanState.DRAFT,
        permission=COUNTY_ROLES,
    )
    def send_back(self):
        """With why; the village hears by SMS."""

    @transition(
        field=state,
        source=PlanState.COUNTY_APPROVAL,
        target=PlanState.APPROVED,
        permission=COUNTY_ROLES,
    )
    def approve(self):
        self.approved_at = timezone.now()

    @transition(
        field=state, source=PlanState.APPROVED, target=PlanState.DRAFT, permission=VILLAGE_ROLES
    )
    def revise(self):
        """Circumstances changed: the village amends an approved plan, which is checked
        and approved again. Measures already delivered stay as they are."""


class MeasureStatus(models.TextChoices):
    PLANNED = "planned", _("not yet delivered")
    RUNNING = "running", _("in place, running")
    DELIVERED = "delivered", _("delivered")
    ENDED = "ended", _("ended at its end date")
    STOPPED = "stopped", _("stopped")


# Measures that still have to reach the household: elimination waits for them.
UNDELIVERED = [MeasureStatus.PLANNED]


class MeasureQuerySet(ScopedQuerySet):
    region_code_field = "plan__region_code"

    def undelivered(self):
        return self.filter(status__in=UNDELIVERED)


class HelpGiven(models.Model):
    """What a measure of help is, wherever it is recorded: in a plan, or given through
    the green channel before the household was identified."""

    policy = protected_link(PolicyMeasure, _("policy"), optional=True)
    kind = models.CharField(_("kind"), max_length=16, choices=PolicyKind.choices)
    title = models.CharField(_("measure"), max_length=100)
    details = models.TextField(_("details"), max_length=1000, blank=True)
    responsible = models.CharField(_("responsible person"), max_length=30)
    amount = models.DecimalField(
        _("amount (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )

    class Meta:
        abstract = True


class PlanMeasure(HelpGiven):
    plan = models.ForeignKey(HelpPlan, on_delete=models.CASCADE, related_name="measures")
    time_bound = models.BooleanField(_("time-bound"), default=False)
    start_on = models.DateField(_("from"), null=True, blank=True)
    end_on = models.DateField(_("until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MeasureStatus.choices, default=MeasureStatus.PLANNED
    )
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    evidence_note = models.CharField(_("evidence of delivery"), max_length=300, blank=True)
    evidence = protected_link(HouseholdDocument, _("evidence document"), optional=True)
    # Given through the green channel before the household was identified.
    green_channel = models.BooleanField(_("green-channel help"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MeasureQuerySet.as_manager()

    class Meta:
        verbose_name = _("plan measure")
        verbose_name_plural = _("plan measures")
        ordering = ["pk"]
        indexes = [
            # The daily step that ends time-bound measures past their end date.
            models.Index(
                fields=["end_on"], condition=models.Q(status="running"), name="measure_running_idx"
            )
        ]

    def __str__(self):
        return self.title
