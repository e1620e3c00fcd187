"""Monitored households and the facts about people that every stage shares.

A household becomes monitored when the county approves its declaration (纳入监测对象).
It stays under monitoring, with its help plan and follow-up visits, until its risk is
eliminated (风险消除); a look-back review (回头看) or a new risk can put it back.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.identity import mask_id_number
from apps.core.models import HistoryEntry
from apps.regions.models import Region, ScopedQuerySet


class Difficulty(models.TextChoices):
    """Kinds of difficulty a household declares, and so its risk types."""

    ILLNESS = "illness", _("illness")
    DISABILITY = "disability", _("disability")
    SCHOOLING = "schooling", _("schooling costs")
    DISASTER = "disaster", _("natural disaster")
    ACCIDENT = "accident", _("accident")
    UNSTABLE_WORK = "unstable_work", _("unstable work or employment")
    BUSINESS_FAILURE = "business_failure", _("failed farming or business")
    INCOME_SHOCK = "income_shock", _("sudden loss of income or rise in spending")
    OTHER = "other", _("other")


def difficulty_labels(values) -> str:
    """Kinds of difficulty or risk types, stored as their values, as a person reads
    them ("因病、因残"); a value no longer known shows as itself."""
    labels = dict(Difficulty.choices)
    return "、".join(str(labels.get(v, v)) for v in values or ())


class LabourCapacity(models.TextChoices):
    FULL = "full", _("full labour capacity")
    PARTIAL = "partial", _("partial labour capacity")
    NONE = "none", _("no labour capacity")


class Schooling(models.TextChoices):
    NONE = "none", _("not in school")
    PRESCHOOL = "preschool", _("preschool")
    COMPULSORY = "compulsory", _("compulsory education")
    HIGH_SCHOOL = "high_school", _("high school or vocational school")
    COLLEGE = "college", _("college or university")


class Category(models.TextChoices):
    """The monitoring categories of the national rules."""

    UNSTABLE = "unstable", _("formerly poor, not yet stable")  # 脱贫不稳定户
    MARGINAL = "marginal", _("marginal, at risk of poverty")  # 边缘易致贫户
    SUDDEN = "sudden", _("in sudden severe hardship")  # 突发严重困难户


class HouseholdStatus(models.TextChoices):
    MONITORING = "monitoring", _("under monitoring")
    ELIMINATED = "eliminated", _("risk eliminated")
    # Absorbed by another monitored household (two households merged): closed, with
    # `merged_into` naming the household that continues.
    MERGED = "merged", _("merged into another household")


class ThresholdQuerySet(ScopedQuerySet):
    region_code_field = "county__code"

    def for_county(self, county_code: str, year: int):
        return self.filter(county__code=county_code, year=year).first()


class MonitoringThreshold(models.Model):
    """The county's per-capita annual net income line for monitoring, per year."""

    county = models.ForeignKey(
        Region,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": 3},
    )
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(
        _("per-capita net income line (yuan a year)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )

    objects = ThresholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("monitoring threshold")
        verbose_name_plural = _("monitoring thresholds")
        constraints = [
            models.UniqueConstraint(fields=["county", "year"], name="threshold_per_county_year")
        ]

    def __str__(self):
        return f"{self.county} {self.year}: {self.amount}"


class MonitoredHouseholdQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def monitoring(self):
        return self.filter(status=HouseholdStatus.MONITORING)

    def eliminated(self):
        return self.filter(status=HouseholdStatus.ELIMINATED)


class MonitoredHousehold(ConcurrentTransitionMixin, models.Model):
    village = protected_link(Region, _("village"))
    region_code = models.CharField(_("region code"), max_length=12, db_index=True, editable=False)
    head_name = models.CharField(_("head of household"), max_length=30)
    head_id_number = EncryptedTextField(_("ID number"))
    head_id_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {"head_id_hash": ("head_id_number", "id")}
    risk_types = models.JSONField(_("risk types"), default=list)
    per_capita_income = models.DecimalField(
        _("per-capita net income (yuan a year)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now)
    enrolled_by = protected_link(settings.AUTH_USER_MODEL, _("approved by"))
    category = models.CharField(
        _("monitoring category"), max_length=16, choices=Category.choices, default=Category.SUDDEN
    )
    status = FSMField(
        _("status"),
        default=HouseholdStatus.MONITORING,
        choices=HouseholdStatus.choices,
        protected=True,
        db_index=True,
    )
    # Since when it is (again) under monitoring: the two-year flag counts from here.
    monitoring_since = models.DateTimeField(_("monitored since"), default=timezone.now)
    eliminated_at = models.DateTimeField(_("risk eliminated on"), null=True, blank=True)
    # 发展意愿: the household wants to develop farming or a business (industry support).
    industry_willing = models.BooleanField(
        _("willing to develop farming or a business"), default=False
    )
    # 录入国家系统: the household's code in the national monitoring system (户编号),
    # when known; imported households arrive with it (apps.households.national).
    national_code = models.CharField(
        _("national household code"), max_length=30, null=True, blank=True, unique=True
    )
    # Came from the national system's export rather than enrolled here.
    imported = models.BooleanField(_("imported from the national system"), default=False)
    # When the household was last handed to the national system (its export, or its
    # import from there); enrolled since and not yet recorded while empty.
    national_recorded_at = models.DateTimeField(
        _("recorded in the national system"), null=True, blank=True
    )
    roster_household = models.ForeignKey(
        "households.RosterHousehold",
        verbose_name=_("roster household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # the unique constraint below indexes it
    )

    # Life events (apps/households/services/life_events.py): the household this one
    # split off from, and the one that absorbed it.
    split_from = models.ForeignKey(
        "self",
        verbose_name=_("split off from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="split_offs",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="absorbed",
    )

    objects = MonitoredHouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("monitored household")
        verbose_name_plural = _("monitored households")
        constraints = [
            # One monitored household per roster household: two members' declarations
            # cannot enrol one family twice.
            models.UniqueConstraint(
                fields=["roster_household"], name="one_monitored_household_per_roster_household"
            ),
        ]
        indexes = [
            # The two-year flag: households still monitored, oldest first, per region.
            models.Index(
                fields=["region_code", "monitoring_since"],
                condition=models.Q(status="monitoring"),
                name="household_long_monitored_idx",
            ),
        ]

    def __str__(self):
        return f"{self.head_name} ({self.village})"

    @property
    def head_id_number_masked(self) -> str:
        return mask_id_number(self.head_id_number)

    @property
    def county_code(self) -> str:
        return self.region_code[:6] + "000000"

    # --- the state machine: guards and state only; services hold the rest --------------

    @transition(field=status, source=HouseholdStatus.MONITORING, target=HouseholdStatus.ELIMINATED)
    def eliminate(self):
        """When the county approves the risk elimination."""
        self.eliminated_at = timezone.now()

    @transition(field=status, source=HouseholdStatus.ELIMINATED, target=HouseholdStatus.MONITORING)
    def return_to_monitoring(self):
        """When a look-back review finds the household not stable, or the county enrols
        it again after a new risk."""
        self.eliminated_at = None
        self.monitoring_since = timezone.now()

    @transition(
        field=status,
        source=[HouseholdStatus.MONITORING, HouseholdStatus.ELIMINATED],
        target=HouseholdStatus.MERGED,
    )
    def merge_into(self, other: "MonitoredHousehold"):
        """When another household absorbs this one's members (two households merge)."""
        self.merged_into = other


class MemberLeft(models.TextChoices):
    """Why a member is no longer one of the household's."""

    DIED = "died", _("died")
    LEFT = "left", _("left the household")
    SPLIT = "split", _("formed a household of their own")
    MERGED = "merged", _("moved with the household into another")


class CurrentMemberManager(models.Manager):
    """The household's members now. A member who died or left keeps their row, with the
    date and why (`on_record` has them all): the household's size, labour and the
    matching of department data count the current members only."""

    def get_queryset(self):
        return super().get_queryset().filter(left_on__isnull=True)


class HouseholdMember(models.Model):
    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="members"
    )
    name = models.CharField(_("full name"), max_length=30)
    relation = models.CharField(_("relation to the head"), max_length=20)
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    id_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {"id_hash": ("id_number", "id")}
    labour_capacity = models.CharField(
        _("labour capacity"), max_length=16, choices=LabourCapacity.choices
    )
    health = models.CharField(_("health"), max_length=100, blank=True)
    disability_grade = models.PositiveSmallIntegerField(
        _("disability grade"), null=True, blank=True
    )
    schooling = models.CharField(
        _("schooling"), max_length=16, choices=Schooling.choices, default=Schooling.NONE
    )
    # 有一技之长: with labour but no skill, a member needs employment help first.
    has_skills = models.BooleanField(_("has a trade or vocational skill"), default=False)
    # Life events: joined after enrolment (born, married in, moved in); no longer a
    # member since `left_on`, for `left_reason`.
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    left_on = models.DateField(_("no longer a member since"), null=True, blank=True)
    left_reason = models.CharField(
        _("why no longer a member"), max_length=16, choices=MemberLeft.choices, blank=True
    )

    objects = CurrentMemberManager()
    on_record = models.Manager()  # noqa: DJ012 — a second manager, not a field

    class Meta:
        verbose_name = _("household member")
        verbose_name_plural = _("household members")

    def __str__(self):
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def is_current(self) -> bool:
        return self.left_on is None


class IncomeRecord(models.Model):
    """The household's income and rigid expenses over a period, as recorded at enrolment,
    at a follow-up visit or as evidence for eliminating its risk."""

    class Source(models.TextChoices):
        ENROLMENT = "enrolment", _("enrolment")
        FOLLOW_UP = "follow_up", _("follow-up visit")
        ELIMINATION = "elimination", _("risk elimination")

    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="incomes"
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    net_income = models.DecimalField(
        _("net income after rigid expenses (yuan)"), max_digits=12, decimal_places=2
    )
    household_size = models.PositiveSmallIntegerField(_("household size"))
    per_capita = models.DecimalField(
        _("per-capita net income (yuan a year)"), max_digits=12, decimal_places=2
    )
    source = models.CharField(_("recorded at"), max_length=16, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("income record")
        verbose_name_plural = _("income records")
        ordering = ["-period_end", "-pk"]

    def __str__(self):
        return f"{self.household} {self.period_start}–{self.period_end}: {self.per_capita}"


class HouseholdEvent(HistoryEntry):
    """The household's log: every change made by a service to the household, its plans,
    visits and eliminations."""

    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.PROTECT, related_name="events"
    )

    class Meta(HistoryEntry.Meta):
        verbose_name = _("household event")
        verbose_name_plural = _("household events")

    def __str__(self):
        return f"{self.household} {self.kind} {self.at:%Y-%m-%d}"


class DocumentQuerySet(ScopedQuerySet):
    region_code_field = "household__region_code"


class HouseholdDocument(models.Model):
    """Evidence: delivery of a measure, a follow-up, an elimination. Cleaned on upload
    (apps.core.uploads), like the documents of a declaration."""

    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="documents"
    )
    file = models.FileField(_("file"), upload_to="household-documents/%Y/%m/")
    content_type = models.CharField(max_length=50)
    original_name = models.CharField(_("file name"), max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = protected_link(settings.AUTH_USER_MODEL, _("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("household document")
        verbose_name_plural = _("household documents")

    def __str__(self):
        return self.original_name
