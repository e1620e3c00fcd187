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
