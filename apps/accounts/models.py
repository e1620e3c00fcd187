from django.contrib.auth.models import AbstractUser
from django.db import models
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

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.username

    @property
    def mobile_masked(self) -> str:
        return mask_mobile(self.mobile)

    def set_mobile(self, number: str) -> None:
        self.mobile = number
        self.mobile_hash = mobile_hash(number) if number else ""
