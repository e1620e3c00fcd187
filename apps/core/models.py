import contextlib

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField, protected_link


class HistoryEntry(models.Model):
    """One row of an object's history: who did what to it, when, and why.

    Each kind of case keeps its own log table, a subclass with the foreign key to its
    subject (a declaration's `Transition`, a household's `HouseholdEvent`, a warning's
    `WarningEvent`), so that its page reads its history through one relation. Every
    service that writes on a user's behalf adds exactly one row through `record()`, in
    the same transaction as the change.

    History is append-only: PostgreSQL refuses to change or delete a row (the trigger
    `<app>.<Model>:append_only`), so a case cannot be deleted with its history, even in
    SQL; its foreign key to the case protects the case. Only the retention purge removes
    old closed cases, with the trigger ignored (`pgtrigger.ignore`).
    """

    kind = models.CharField(_("what"), max_length=40)
    # What was recorded, in a line: the record itself may be overwritten later.
    summary = models.CharField(_("summary"), max_length=200, blank=True)
    reason = EncryptedTextField(_("reason"), blank=True)
    actor = protected_link(settings.AUTH_USER_MODEL, _("by"), optional=True)
    # Who acted when no staff user did: the applicant from the status page.
    actor_label = models.CharField(_("by (not a user)"), max_length=50, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["at", "pk"]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    @staticmethod
    def unprotected(*history_models):
        """Within this block the given history tables may be changed and deleted from:
        for the retention purge, the key rotation and the demo's back-dating only. With
        no table it changes nothing (`pgtrigger.ignore()` alone would ignore every
        trigger, the audit log's included)."""
        if not history_models:
            return contextlib.nullcontext()
        return pgtrigger.ignore(*(f"{model._meta.label}:append_only" for model in history_models))

    @classmethod
    def record(cls, *, actor, kind: str, summary: str = "", reason: str = "", **fields):
        """Add a row; `fields` name the subject (and any column of the subclass)."""
        return cls.objects.create(
            actor=actor if actor is not None and actor.is_authenticated else None,
            kind=kind,
            summary=summary[:200],
            reason=reason,
            **fields,
        )
