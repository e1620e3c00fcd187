"""Monitored households and the facts about people that every stage shares.

A household becomes monitored when the county approves its declaration; later features
add help plans, follow-up visits and risk elimination here.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField
from apps.core.identity import mask_id_number
from apps.regions.models import Region, ScopedQuerySet


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


class MonitoredHousehold(models.Model):
    village = models.ForeignKey(
        Region, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    region_code = models.CharField(_("region code"), max_length=12, db_index=True, editable=False)
    head_name = models.CharField(_("head of household"), max_length=30)
    head_id_number = EncryptedTextField(_("ID number"))
    head_id_hash = models.CharField(max_length=64, unique=True, editable=False)
    risk_types = models.JSONField(_("risk types"), default=list)
    per_capita_income = models.DecimalField(
        _("per-capita net income (yuan a year)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = MonitoredHouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("monitored household")
        verbose_name_plural = _("monitored households")

    def __str__(self):
        return f"{self.head_name} ({self.village})"

    @property
    def head_id_number_masked(self) -> str:
        return mask_id_number(self.head_id_number)


class HouseholdMember(models.Model):
    household = models.ForeignKey(
        MonitoredHousehold, on_delete=models.CASCADE, related_name="members"
    )
    name = models.CharField(_("full name"), max_length=30)
    relation = models.CharField(_("relation to the head"), max_length=20)
    id_number = EncryptedTextField(_("ID number"), blank=True, default="")
    id_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
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

    class Meta:
        verbose_name = _("household member")
        verbose_name_plural = _("household members")

    def __str__(self):
        return self.name
