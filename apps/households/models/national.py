"""The hand-over with the national monitoring system (全国防返贫监测信息系统): its export
of a county's monitored households imported here, and the exports of what changed here
for the county to record there (录入国家系统)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.imports import ImportedFile
from apps.regions.models import Region, ScopedQuerySet


class NationalQuerySet(ScopedQuerySet):
    region_code_field = "region_code"


class NationalImport(ImportedFile):
    """One uploaded 监测对象信息 file of a county and what became of it. Checked whole
    before anything is written: a file with a bad row imports nothing."""

    region = protected_link(Region, _("county"))
    region_code = models.CharField(max_length=12, editable=False)
    file = models.FileField(upload_to="national-imports/%Y/%m/")
    households_created = models.PositiveIntegerField(default=0)
    households_updated = models.PositiveIntegerField(default=0)
    members_created = models.PositiveIntegerField(default=0)
    members_updated = models.PositiveIntegerField(default=0)

    objects = NationalQuerySet.as_manager()

    class Meta(ImportedFile.Meta):
        verbose_name = _("national import")
        verbose_name_plural = _("national imports")


class NationalRecord(models.Model):
    """A household of a county's last national import, as the national system holds it
    (its head): what reconciliation (账账相符) compares with the monitored households
    here and the roster. Each import of a county replaces the county's records."""

    national_import = models.ForeignKey(
        NationalImport, on_delete=models.CASCADE, related_name="records"
    )
    region_code = models.CharField(max_length=12, editable=False)  # the village's code
    code = models.CharField(_("national household code"), max_length=30)
    head_name = models.CharField(_("head of household"), max_length=30)
    head_id_number = EncryptedTextField(_("ID number"))
    head_id_hash = models.CharField(max_length=64, editable=False)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {"head_id_hash": ("head_id_number", "id")}
    eliminated = models.BooleanField(_("risk eliminated"), default=False)

    objects = NationalQuerySet.as_manager()

    class Meta:
        verbose_name = _("national record")
        verbose_name_plural = _("national records")
        indexes = [
            models.Index(
                fields=["region_code"],
                opclasses=["varchar_pattern_ops"],
                name="national_record_region_idx",
            )
        ]

    def __str__(self):
        return f"{self.head_name} ({self.code})"


class NationalExport(models.Model):
    """One export for the national system: a county's households enrolled, changed or
    eliminated in a period. Each household in it is marked recorded at `created_at`."""

    region = protected_link(Region, _("county"))
    region_code = models.CharField(max_length=12, editable=False)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    enrolled = models.PositiveIntegerField(_("newly enrolled"), default=0)
    changed = models.PositiveIntegerField(_("changed"), default=0)
    eliminated = models.PositiveIntegerField(_("risk eliminated"), default=0)
    created_by = protected_link(settings.AUTH_USER_MODEL, _("exported by"))
    created_at = models.DateTimeField(_("exported at"), default=timezone.now)

    objects = NationalQuerySet.as_manager()

    class Meta:
        verbose_name = _("national export")
        verbose_name_plural = _("national exports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.region_code} {self.period_start}–{self.period_end}"
