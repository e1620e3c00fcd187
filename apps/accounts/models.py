from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField
from apps.core.identity import mask_mobile, mobile_hash


class User(AbstractUser):
    """A staff member. Farmers never log in."""

    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    # The number SMS notices go to; encrypted like every phone number.
    mobile = EncryptedTextField(_("mobile phone"), blank=True, default="")
    mobile_hash = models.CharField(
        max_length=64, blank=True, default="", db_index=True, editable=False
    )
    # Which keyed hash is made from which encrypted field (manage.py rotate_keys).
    keyed_hashes = {"mobile_hash": ("mobile", "mobile")}

    # Set by every password change; the password expires PASSWORD_MAX_AGE_DAYS after it
    # (never set: a password nobody chose, expired).
    password_changed_at = models.DateTimeField(
        _("password changed"), null=True, blank=True, editable=False
    )
    # A password an administrator set (new account, reset) is changed at the next sign-in.
    must_change_password = models.BooleanField(_("must change password"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.username

    @property
    def mobile_masked(self) -> str:
        return mask_mobile(self.mobile)

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def password_expired(self, now=None) -> bool:
        """Whether the password must be changed before anything else: an administrator
        set it, or it is older than PASSWORD_MAX_AGE_DAYS."""
        if self.must_change_password or self.password_changed_at is None:
            return True
        age = (now or timezone.now()) - self.password_changed_at
        return age.days >= settings.PASSWORD_MAX_AGE_DAYS

    def set_mobile(self, number: str) -> None:
        self.mobile = number
        self.mobile_hash = mobile_hash(number) if number else ""


class PasswordHistory(models.Model):
    """The hashes of a user's recent passwords, so that none of them is chosen again."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("previous password")
        verbose_name_plural = _("previous passwords")

    def __str__(self):
        return f"{self.user} {self.created_at:%Y-%m-%d}"
