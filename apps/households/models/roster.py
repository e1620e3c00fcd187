"""The population roster (农村人口花名册): every rural household and person the system
knows before anyone declares, imported per village from the statistical registers.
Department warnings match their records against it by the keyed hash of the ID number.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.identity import mask_id_number
from apps.core.imports import ImportedFile
from apps.regions.models import Region, ScopedQuerySet

from .households import LabourCapacity, Schooling


class RosterQuerySet(ScopedQuerySet):
    region_code_field = "region_code"


class RosterHousehold(models.Model):
    village = protected_link(Region, _("village"))
    region_code = models.CharField(_("region code"), max_length=12, editable=False)
    # 户编号: the household's number in the village register, stable across imports.
    number = models.CharField(_("household number"), max_length=30)
    head_name = models.CharField(_("head of household"), max_length=30)
    address_group = models.CharField(_("village group"), max_length=30, blank=True)
    # 脱贫户: lifted out of poverty in the poverty-alleviation campaign.
    formerly_poor = models.BooleanField(_("formerly registered as poor"), default=False)
    # 监测户: the register lists it as a monitored household (reconciliation compares).
    monitored = models.BooleanField(_("monitored household in the register"), default=False)
    updated_at = models.DateTimeField(_("last imported"), default=timezone.now)

    objects = RosterQuerySet.as_manager()

    class Meta:
        verbose_name = _("roster household")
        verbose_name_plural = _("roster households")
        constraints = [
            models.UniqueConstraint(fields=["village", "number"], name="roster_household_number")
        ]
        indexes = [
            models.Index(
                fields=["region_code"], opclasses=["varchar_pattern_ops"], name="roster_region_idx"
            )
        ]

    def __str__(self):
        return f"{self.head_name} ({self.number})"


class RosterMemberQuerySet(ScopedQuerySet):
    region_code_field = "household__region_code"


class RosterMember(models.Model):
    household = models.ForeignKey(RosterHousehold, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("full name"), max_length=30)
    relation = models.CharField(_("relation to the head"), max_length=20)
    id_number = EncryptedTextField(_("ID number"))
    # A person belongs to one household: the roster's key for matching department data.
    id_hash = models.CharField(max_length=64, unique=True, editable=False)
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

    objects = RosterMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("roster member")
        verbose_name_plural = _("roster members")

    def __str__(self):
        return self.name

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)


class RosterImportQuerySet(ScopedQuerySet):
    region_code_field = "region_code"


class RosterImport(ImportedFile):
    """One uploaded roster file and what became of it. The file is checked whole before
    anything is written: a file with a bad row imports nothing."""

    region = protected_link(Region, _("region"))
    # The importer's region: every row must lie in its subtree.
    region_code = models.CharField(max_length=12, editable=False)
    file = models.FileField(upload_to="roster-imports/%Y/%m/")
    households_created = models.PositiveIntegerField(default=0)
    households_updated = models.PositiveIntegerField(default=0)
    members_created = models.PositiveIntegerField(default=0)
    members_updated = models.PositiveIntegerField(default=0)
    members_removed = models.PositiveIntegerField(default=0)

    objects = RosterImportQuerySet.as_manager()

    class Meta(ImportedFile.Meta):
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")
