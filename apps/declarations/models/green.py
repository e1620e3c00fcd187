"""The green channel (绿色通道): when a disaster, an accident or a severe illness makes
the hardship plain and urgent, help comes first and the identification follows within a
month, through the normal review. The help given stays on record whatever the outcome."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.households.models import PolicyKind, PolicyMeasure
from apps.regions.models import ScopedQuerySet

from .case import Declaration
from .review import VisitDocument


class GreenCause(models.TextChoices):
    DISASTER = "disaster", _("natural disaster")
    ACCIDENT = "accident", _("accident")
    ILLNESS = "illness", _("severe illness")


class GreenChannelQuerySet(ScopedQuerySet):
    region_code_field = "declaration__region_code"


class GreenChannel(models.Model):
    declaration = models.OneToOneField(
        Declaration, on_delete=models.CASCADE, related_name="green_channel"
    )
    cause = models.CharField(_("cause"), max_length=16, choices=GreenCause.choices)
    reason = models.TextField(_("why the hardship is plain and urgent"), max_length=1000)
    evidence = models.ForeignKey(
        VisitDocument,
        verbose_name=_("evidence document"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)

    objects = GreenChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("green channel")
        verbose_name_plural = _("green channels")

    def __str__(self):
        return f"{self.declaration} · {self.get_cause_display()}"


class GreenChannelHelp(models.Model):
    """Help delivered through the green channel, before identification."""

    green_channel = models.ForeignKey(GreenChannel, on_delete=models.CASCADE, related_name="help")
    policy = models.ForeignKey(
        PolicyMeasure,
        verbose_name=_("policy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=PolicyKind.choices)
    title = models.CharField(_("measure"), max_length=100)
    details = models.TextField(_("details"), max_length=1000, blank=True)
    amount = models.DecimalField(
        _("amount (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    delivered_on = models.DateField(_("delivered on"))
    responsible = models.CharField(_("responsible person"), max_length=30)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("green-channel help")
        verbose_name_plural = _("green-channel help")
        ordering = ["delivered_on", "pk"]

    def __str__(self):
        return self.title
