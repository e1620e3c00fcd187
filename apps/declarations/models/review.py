"""What the village and township record while a case is reviewed:
"一看二算三核四评议五公示" — look (the home visit), calculate (income), check
(property), evaluate (village democratic evaluation) and publish (public notice)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.identity import mask_id_number
from apps.households.models import LabourCapacity, Schooling

from .case import Declaration

MONEY = {"max_digits": 12, "decimal_places": 2, "validators": [MinValueValidator(Decimal(0))]}
INCOME_FIELDS = (
    "income_wages",
    "income_farming",
    "income_business",
    "income_property",
    "income_transfer",
)
EXPENSE_FIELDS = ("expense_medical", "expense_education", "expense_disaster")


class HouseholdVisit(models.Model):
    """The home visit (入户核查) and what it found."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="visits")
    visit_date = models.DateField(_("visit date"))
    # Income over the last 12 months, by source (yuan).
    income_wages = models.DecimalField(_("wages"), default=0, **MONEY)
    income_farming = models.DecimalField(_("farming and herding"), default=0, **MONEY)
    income_business = models.DecimalField(_("business"), default=0, **MONEY)
    income_property = models.DecimalField(_("property income"), default=0, **MONEY)
    income_transfer = models.DecimalField(_("transfers and subsidies"), default=0, **MONEY)
    # Rigid expenses over the same 12 months (yuan).
    expense_medical = models.DecimalField(_("medical costs paid out of pocket"), default=0, **MONEY)
    expense_education = models.DecimalField(_("education costs"), default=0, **MONEY)
    expense_disaster = models.DecimalField(_("disaster losses"), default=0, **MONEY)
    risk_types = models.JSONField(_("risk types found"), default=list)
    findings = EncryptedTextField(_("findings"), max_length=2000)
    # Where the phone was when the visit was recorded ("latitude,longitude,accuracy in
    # metres"), asked for with the grid worker's consent; empty: no location.
    location = EncryptedTextField(_("location"), blank=True, default="")
    recorded_by = protected_link(settings.AUTH_USER_MODEL, _("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("home visit")
        verbose_name_plural = _("home visits")
        ordering = ["-visit_date", "-pk"]

    def __str__(self):
        return f"{self.declaration} {self.visit_date}"

    @property
    def location_fix(self) -> dict | None:
        """The recorded location as latitude, longitude and accuracy (metres)."""
        if not self.location:
            return None
        lat, lon, accuracy = self.location.split(",")
        return {"lat": lat, "lon": lon, "accuracy": accuracy}

    @property
    def income_total(self) -> Decimal:
        return sum((getattr(self, f) for f in INCOME_FIELDS), Decimal(0))

    @property
    def rigid_expenses(self) -> Decimal:
        return sum((getattr(self, f) for f in EXPENSE_FIELDS), Decimal(0))


class VisitMember(models.Model):
    visit = models.ForeignKey(HouseholdVisit, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("full name"), max_length=30)
    relation = models.CharField(_("relation to the applicant"), max_length=20)
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    id_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {"id_hash": ("id_number", "id")}
    labour_capacity = models.CharField(
        _("labour capacity"), max_length=16, choices=LabourCapacity.choices
    )
    health = models.CharField(_("health"), max_length=100, blank=True)
    disability_grade = models.PositiveSmallIntegerField(
        _("disability grade"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    schooling = models.CharField(
        _("schooling"), max_length=16, choices=Schooling.choices, default=Schooling.NONE
    )

    class Meta:
        verbose_name = _("household member")
        verbose_name_plural = _("household members")

    def __str__(self):
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)


class DocumentKind(models.TextChoices):
    HOUSEHOLD_REGISTER = "hukou", _("household register")
    ID_CARD = "id_card", _("ID card")
    CONSENT = "consent", _("signed consent to check the family's finances")
    MINUTES = "minutes", _("minutes of the democratic evaluation")
    GREEN_CHANNEL = "green", _("evidence for the green channel")
    RESULT_NOTICE = "result", _("photo of the posted result announcement")
    VISIT_PHOTO = "visit", _("photo taken at the home visit")
    OTHER = "other", _("other")


# Documents that carry a person's identity: shown only to whoever may reveal personal
# data (the permission `declarations.reveal_personal_data`).
IDENTITY_KINDS = frozenset({DocumentKind.ID_CARD, DocumentKind.HOUSEHOLD_REGISTER})


class VisitDocument(models.Model):
    """A photo or scan, cleaned on upload (apps.core.uploads): type checked by content,
    images re-encoded without EXIF or location."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=16, choices=DocumentKind.choices)
    file = models.FileField(_("file"), upload_to="documents/%Y/%m/")
    content_type = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=120, blank=True)
    uploaded_by = protected_link(settings.AUTH_USER_MODEL, _("uploaded by"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self):
        return f"{self.get_kind_display()} {self.original_name}"


class IncomeAssessment(models.Model):
    """二算: per-capita net income against the county's line for the year."""

    declaration = models.OneToOneField(Declaration, on_delete=models.CASCADE, related_name="income")
    household_size = models.PositiveSmallIntegerField(
        _("household size"), validators=[MinValueValidator(1)]
    )
    net_income = models.DecimalField(
        _("annual net income after rigid expenses"), max_digits=12, decimal_places=2
    )
    per_capita = models.DecimalField(_("per-capita net income"), max_digits=12, decimal_places=2)
    threshold = models.DecimalField(_("monitoring line used"), max_digits=10, decimal_places=2)
    threshold_year = models.PositiveSmallIntegerField(_("year of the line"))
    # The day the household's information was compared (信息比对); the evaluation
    # comes after it. Empty on assessments made before it was recorded.
    compared_on = models.DateField(_("information compared on"), null=True, blank=True)
    below_threshold = models.BooleanField(_("below the line"))
    assessed_by = protected_link(settings.AUTH_USER_MODEL, _("calculated by"))
    assessed_at = models.DateTimeField(_("calculated at"), default=timezone.now)

    class Meta:
        verbose_name = _("income assessment")
        verbose_name_plural = _("income assessments")

    def __str__(self):
        return f"{self.declaration}: {self.per_capita}"


class EvaluationOutcome(models.TextChoices):
    AGREED = "agreed", _("agreed to enrol")
    NOT_AGREED = "not_agreed", _("did not agree to enrol")


class VillageEvaluation(models.Model):
    """四评议五公示: the village democratic evaluation and the public notice after it."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="evaluations"
    )
    evaluation_date = models.DateField(_("evaluation date"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=EvaluationOutcome.choices)
    minutes = protected_link(VisitDocument, _("minutes"), optional=True)
    notice_start = models.DateField(_("public notice from"))
    notice_end = models.DateField(_("public notice until"))
    recorded_by = protected_link(settings.AUTH_USER_MODEL, _("recorded by"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("village evaluation and notice")
        verbose_name_plural = _("village evaluations and notices")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(notice_end__gte=models.F("notice_start")),
                name="notice_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(notice_start__gte=models.F("evaluation_date")),
                name="notice_after_evaluation",
            ),
        ]

    def __str__(self):
        return f"{self.declaration} {self.evaluation_date}"


class PropertyCheck(models.Model):
    """财产核查 by the township: each item checked, with its result."""

    declaration = models.OneToOneField(
        Declaration, on_delete=models.CASCADE, related_name="property_check"
    )
    vehicles_checked = models.BooleanField(_("vehicles checked"), default=False)
    vehicles_result = models.CharField(_("vehicles"), max_length=200, blank=True)
    housing_checked = models.BooleanField(_("housing checked"), default=False)
    housing_result = models.CharField(_("housing"), max_length=200, blank=True)
    business_checked = models.BooleanField(_("business registration checked"), default=False)
    business_result = models.CharField(_("business registration"), max_length=200, blank=True)
    checked_by = protected_link(settings.AUTH_USER_MODEL, _("checked by"))
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)

    class Meta:
        verbose_name = _("property check")
        verbose_name_plural = _("property checks")

    def __str__(self):
        return str(self.declaration)

    @property
    def is_complete(self) -> bool:
        return self.vehicles_checked and self.housing_checked and self.business_checked
