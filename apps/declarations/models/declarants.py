"""Declarants who joined a case: one open case per household (以家庭为单位), so a
member of a household whose case is open joins that case instead of opening another."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField, protected_link
from apps.core.identity import mask_id_number, mask_mobile
from apps.households.models import Difficulty

from .case import Channel, Declaration


class CaseDeclarant(models.Model):
    """A member of the case's household who declared while the case was open: who,
    how to reach them, what they declared, when and through which channel. The grid
    worker sees every one on the case page; the declarant was told only that a case is
    in progress."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="declarants"
    )
    name = models.CharField(_("full name"), max_length=30)
    id_number = EncryptedTextField(_("ID number"))
    id_hash = models.CharField(max_length=64, editable=False)
    phone = EncryptedTextField(_("mobile phone"))
    phone_hash = models.CharField(max_length=64, editable=False)
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {
        "id_hash": ("id_number", "id"),
        "phone_hash": ("phone", "mobile"),
        "declarant_phone_hash": ("declarant_phone", "mobile"),
    }
    # Their relation to the head of the household, as the roster (or the monitored
    # household's members) has it.
    relation = models.CharField(_("relation to the head"), max_length=20, blank=True)
    difficulties = models.JSONField(_("kinds of difficulty"), default=list)
    description = EncryptedTextField(_("description"), max_length=500, blank=True)
    # Declared for them by someone else (the public form's "on someone's behalf").
    on_behalf = models.BooleanField(_("declared on someone's behalf"), default=False)
    declarant_name = models.CharField(_("declarant's name"), max_length=30, blank=True)
    declarant_phone = EncryptedTextField(_("declarant's mobile phone"), blank=True, default="")
    declarant_phone_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    declarant_relation = models.CharField(_("relation to the applicant"), max_length=20, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # The version of the notice they agreed to on the public form; empty when staff
    # entered the declaration.
    notice_version = models.CharField(_("notice version"), max_length=16, blank=True)
    declared_at = models.DateTimeField(_("declared"), default=timezone.now)
    created_by = protected_link(settings.AUTH_USER_MODEL, _("entered by"), optional=True)

    class Meta:
        verbose_name = _("joined declarant")
        verbose_name_plural = _("joined declarants")
        ordering = ["declared_at", "pk"]
        constraints = [
            # A member who declares again (a double tap, another day) is on the case once.
            models.UniqueConstraint(fields=["declaration", "id_hash"], name="case_declarant_once"),
        ]

    def __str__(self):
        return f"{self.declaration} · {self.name}"

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_mobile(self.phone)

    @property
    def declarant_phone_masked(self) -> str:
        return mask_mobile(self.declarant_phone)

    def get_difficulties_display(self) -> str:
        labels = dict(Difficulty.choices)
        return "、".join(str(labels.get(d, d)) for d in self.difficulties)
