"""The audit log: one append-only table of who did what, when, from where, to what,
and with which result.

PostgreSQL enforces "append-only": a trigger (django-pgtrigger) refuses every UPDATE
and DELETE. Only the retention purge (`purge_older_than`) removes rows, past the
retention, with the trigger ignored for that one statement, and it writes a row of its
own.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    # Signing in and out
    SIGN_IN = "sign_in", _("sign-in")
    SIGN_IN_FAILED = "sign_in_failed", _("failed sign-in")
    LOCKOUT = "lockout", _("lockout")
    UNLOCK = "unlock", _("unlock")
    SIGN_OUT = "sign_out", _("sign-out")
    SECOND_FACTOR = "second_factor", _("second factor change")
    PASSWORD_CHANGE = "password_change", _("password change")
    SUPERUSER = "superuser", _("superuser use")
    # Personal data
    VIEW = "view", _("view of personal data")
    REVEAL = "reveal", _("reveal")
    DOWNLOAD = "download", _("document download")
    EXPORT = "export", _("export")
    IMPORT = "import", _("import")
    API = "api", _("API call")
    # Administration
    ADMIN_CHANGE = "admin_change", _("admin change")
    ROLE_CHANGE = "role_change", _("role change")
    KEY_ROTATION = "key_rotation", _("key rotation")
    PURGE = "purge", _("retention purge")


class Result(models.TextChoices):
    OK = "ok", _("succeeded")
    DENIED = "denied", _("denied")
    FAILED = "failed", _("failed")


class AuditEntry(models.Model):
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    # Kept as long as the user exists; users are deactivated, never deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The user name as typed or as it was then (failed sign-ins have no user).
    actor_name = models.CharField(_("user name"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    # What was acted on, "app_label.model:pk" (or a path for a page without a row).
    target = models.CharField(_("object"), max_length=200, blank=True, db_index=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.OK)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["actor", "at"], name="audit_actor_at")]
        permissions = [("export_auditentry", _("Can export the audit log"))]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target}"


class KeyRotation(models.Model):
    """How far `manage.py rotate_keys` has come through one table: the rows up to
    `last_pk` are under the current key and algorithms. A run that stops (interrupted,
    or `--batches`) resumes here; a finished run deletes its rows."""

    table = models.CharField(max_length=100, unique=True)  # "declarations.declaration"
    last_pk = models.BigIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)
    hashes_changed = models.PositiveBigIntegerField(default=0)
    files = models.PositiveBigIntegerField(default=0)
    finished = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.table} > {self.last_pk}"
