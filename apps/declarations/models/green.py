"""The green channel (绿色通道): when a disaster, an accident or a severe illness makes
the hardship plain and urgent, help comes first and the identification follows within a
month, through the normal review. The help given stays on record whatever the outcome."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.households.models.plans import HelpGiven
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
    reason = EncryptedTextField(_("why the hardship is plain and urgent"), max_length=1000)
    evidence = protected_link(VisitDocument, _("evidence document"), optional=True)
    opened_by = protected_link(settings.AUTH_USER_MODEL, _("opened by"))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)

    objects = GreenChannelQuerySet.as_manager()

    class Meta:
        verbose_name = _("green channel")
        verbose_name_plural = _("green channels")

    def __str__(self):
        return f"{self.declaration} · {self.get_cause_display()}"


class GreenChannelHelp(HelpGiven):
    """Help delivered through the green channel, before identification."""

    green_channel = models.ForeignKey(GreenChannel, on_delete=models.CASCADE, related_name="help")
    delivered_on = models.DateField(_("delivered on"))
    recorded_by = protected_link(settings.AUTH_USER_MODEL, _("recorded by"))
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("green-channel help")
        verbose_name_plural = _("green-channel help")
        ordering = ["delivered_on", "pk"]

    def __str__(self):
        return self.title
