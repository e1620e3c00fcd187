from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.deadlines.calendar import add_working_days
from apps.regions.models import ScopedQuerySet

from .case import Declaration, Level

APPEAL_WITHIN_WORKING_DAYS = 5


class AppealOutcome(models.TextChoices):
    REOPENED = "reopened", _("reopened for review")
    UPHELD = "upheld", _("rejection upheld")


class AppealChannel(models.TextChoices):
    ONLINE = "online", _("status page")
    PAPER = "paper", _("on paper")
    PHONE = "phone", _("by phone")
    IN_PERSON = "in_person", _("in person")


class AppealQuerySet(ScopedQuerySet):
    region_code_field = "declaration__region_code"

    def pending(self):
        return self.filter(outcome="")


class Appeal(models.Model):
    """申诉: a rejected applicant asks the level above to review.

    It goes to the township when the village rejected, to the county when the township
    or the county did, and someone other than whoever rejected decides it.
    """

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="appeals")
    level = models.CharField(_("decided by"), max_length=16, choices=Level.choices)
    channel = models.CharField(_("made"), max_length=16, choices=AppealChannel.choices)
    reason = EncryptedTextField(_("applicant's reason"), max_length=1000)
    filed_at = models.DateTimeField(_("filed"), default=timezone.now)
    recorded_by = protected_link(settings.AUTH_USER_MODEL, _("recorded by"), optional=True)
    # Who made the decision appealed against: they may not decide the appeal.
    rejected_by = protected_link(settings.AUTH_USER_MODEL, optional=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=AppealOutcome.choices, blank=True
    )
    decision_reason = EncryptedTextField(_("reason for the decision"), blank=True)
    decided_by = protected_link(settings.AUTH_USER_MODEL, _("decided by"), optional=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = AppealQuerySet.as_manager()

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-filed_at"]
        constraints = [
            # One undecided appeal per case at a time.
            models.UniqueConstraint(
                fields=["declaration"], condition=Q(outcome=""), name="one_pending_appeal"
            ),
        ]

    def __str__(self):
        return f"{self.declaration} {self.filed_at:%Y-%m-%d}"

    @property
    def decide_by(self):
        """Appeals are decided within 5 working days of filing."""
        return add_working_days(timezone.localdate(self.filed_at), APPEAL_WITHIN_WORKING_DAYS)
