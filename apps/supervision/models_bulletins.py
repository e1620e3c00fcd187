"""Issued bulletins (通报): numbered per issuing office and year without gaps, archived
with their content as it stood at issue, listed for their recipients."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.fields import protected_link
from apps.regions.models import PREFIX_LENGTH, Region, ScopedQuerySet, user_region_prefixes


class BulletinQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def visible_to(self, user):
        """The bulletins of the user's subtree (what they supervise) and those issued to
        them: by the office of one of their regions or of a region above it."""
        subtree = super().visible_to(user)
        if not user or not user.is_authenticated or not user.is_active or user.is_superuser:
            return subtree
        issuers = {
            prefix[:length]
            for prefix in user_region_prefixes(user)
            for length in PREFIX_LENGTH.values()
            if length <= len(prefix)
        }
        if not issuers:
            return self.none()
        return self.filter(Q(pk__in=subtree.values("pk")) | Q(region_prefix__in=issuers))


class BulletinSequence(models.Model):
    """The last number an office issued in a year: locked (SELECT … FOR UPDATE) while a
    bulletin is issued, so two at once get consecutive numbers, and a failed issue
    gives its number back (the transaction rolls back)."""

    region = protected_link(Region, _("issuing region"))
    year = models.PositiveSmallIntegerField(_("year"))
    last = models.PositiveIntegerField(_("last number issued"), default=0)

    class Meta:
        verbose_name = _("bulletin numbering")
        verbose_name_plural = _("bulletin numbering")
        constraints = [
            models.UniqueConstraint(fields=["region", "year"], name="bulletin_sequence_key")
        ]

    def __str__(self):
        return f"{self.region_id} {self.year}: {self.last}"


class Bulletin(models.Model):
    """One issued bulletin: its number, office and date, and its content and figures as
    they were at issue (the live bulletin page changes with the data; this does not).
    Append-only: nothing changes or deletes an issued bulletin."""

    region = protected_link(Region, _("issuing region"))
    # The region's code and its meaningful prefix: the issuer's subtree sees it
    # (`region_code`), and so do the staff of the regions below (`region_prefix`).
    region_code = models.CharField(_("region code"), max_length=12, editable=False)
    region_prefix = models.CharField(max_length=12, editable=False)
    office = models.CharField(_("issuing office"), max_length=100)
    year = models.PositiveSmallIntegerField(_("year"))
    serial = models.PositiveIntegerField(_("number"))
    issued_on = models.DateField(_("issued on"))
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = protected_link(settings.AUTH_USER_MODEL, _("issued by"))
    title = models.CharField(_("title"), max_length=200)
    period_start = models.DateField(_("statistics from"))
    period_end = models.DateField(_("statistics to"))
    # The headline figures (received, closed, rates, currently overdue) and the body as
    # rendered at issue (HTML made by the template, escaped there).
    figures = models.JSONField(_("figures"), default=dict)
    content = models.TextField(_("content"))

    objects = BulletinQuerySet.as_manager()

    class Meta:
        verbose_name = _("bulletin")
        verbose_name_plural = _("bulletins")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            # The numbering's last word: one number per office and year.
            models.UniqueConstraint(fields=["region", "year", "serial"], name="bulletin_number")
        ]
        indexes = [
            models.Index(
                fields=["region_code"],
                opclasses=["varchar_pattern_ops"],
                name="bulletin_region_idx",
            ),
            models.Index(fields=["region_prefix"], name="bulletin_prefix_idx"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self):
        return f"{self.office}{self.number}"

    @property
    def number(self) -> str:
        """〔2026〕12号: the year in hexagonal brackets, the office's serial of the year."""
        return f"〔{self.year}〕{self.serial}号"
