from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """A text column holding an encrypted token (apps.core.crypto); Python sees the
    plaintext.

    Not searchable: pair it with a keyed-hash column for look-ups.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)


def protected_link(to, verbose_name=None, *, optional: bool = False) -> models.ForeignKey:
    """A reference that is kept as long as anything points at it (PROTECT) and is read
    only from this side (no reverse accessor): who acted, which document backs it, which
    region it sits in. `optional` leaves it empty until someone acts."""
    return models.ForeignKey(
        to,
        verbose_name=verbose_name,
        null=optional,
        blank=optional,
        on_delete=models.PROTECT,
        related_name="+",
    )
