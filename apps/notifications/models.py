from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField
from apps.core.identity import mask_mobile
from apps.regions.models import ScopedQuerySet

from .templates_registry import TEMPLATES


class MessageQuerySet(ScopedQuerySet):
    region_code_field = "region_code"

    def due_for_dispatch(self, *, due_before, stale_before):
        """Pending rows due before `due_before` that no sweep dispatched recently."""
        return self.filter(status=Message.Status.PENDING, next_attempt_at__lte=due_before).filter(
            models.Q(dispatched_at__isnull=True) | models.Q(dispatched_at__lt=stale_before)
        )


class Message(models.Model):
    """One SMS, written in the same transaction as what caused it: the outbox.

    Celery only dispatches. A worker claims a row with a conditional UPDATE
    (pending → sending) so that however often it is dispatched, it is sent once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        # Not urgent, written after the day's SMS budget was spent: the sweep releases
        # it the next day.
        HELD = "held", _("held")

    # Not a choices field: a new template must not need a migration (the service checks it).
    template = models.CharField(_("template"), max_length=64)
    recipient = EncryptedTextField(_("recipient"))
    recipient_hash = models.CharField(max_length=64, editable=False)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {"recipient_hash": ("recipient", "mobile")}
    params = models.JSONField(_("parameters"), default=dict)
    # What caused the message, e.g. "declaration:42"; with template and recipient it
    # makes each message unique, so nothing is sent twice.
    subject = models.CharField(_("subject"), max_length=64)
    dedupe_key = models.CharField(max_length=200, editable=False)
    region_code = models.CharField(_("region code"), max_length=12)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    provider_id = models.CharField(_("provider message id"), max_length=128, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["-created_at"]
        # Few indexes: two rows are written with every declaration. The outbox is read
        # by dedupe key (enqueueing), by status (the sweep) and by region (staff lists).
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="unique_dedupe_key")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due_idx"),
            models.Index(
                fields=["region_code"], opclasses=["varchar_pattern_ops"], name="message_region_idx"
            ),
        ]

    def __str__(self):
        return f"{self.template} → {self.recipient_masked}"

    @property
    def recipient_masked(self) -> str:
        return mask_mobile(self.recipient)

    @property
    def text(self) -> str:
        return TEMPLATES[self.template].render_for_staff(self.params)

    @staticmethod
    def dedupe_key_for(subject: str, template: str, recipient_hash: str) -> str:
        return f"{subject}:{template}:{recipient_hash}"

    def rehashed(self) -> list[str]:
        """After `rotate_keys` recomputed `recipient_hash`: the dedupe key made with it."""
        self.dedupe_key = self.dedupe_key_for(self.subject, self.template, self.recipient_hash)
        return ["dedupe_key"]
