from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .case import Declaration


class ActionCode(models.Model):
    """A one-time code, sent by SMS to the phone on file, that the status page's
    withdraw and appeal need: knowing a tracking number and a phone number is not
    enough to act on a case. Only a keyed hash of the code is stored."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="action_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    wrong_tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["declaration", "-created_at"], name="action_code_case_idx")]

    def __str__(self):
        return f"code for declaration {self.declaration_id}"
