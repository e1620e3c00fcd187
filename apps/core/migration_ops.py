"""Migration operations for turning plain text columns into EncryptedTextFields."""

from cryptography.fernet import InvalidToken
from django.db import migrations

from . import crypto

BATCH = 1000


def _rewrite(apps, app_label: str, model_name: str, fields: list[str], change) -> None:
    model = apps.get_model(app_label, model_name)
    cursor = 0
    while True:
        batch = list(
            model._base_manager.filter(pk__gt=cursor).order_by("pk").only("pk", *fields)[:BATCH]
        )
        if not batch:
            return
        for obj in batch:
            for name in fields:
                value = getattr(obj, name)
                if value:
                    setattr(obj, name, change(value))
        model._base_manager.bulk_update(batch, fields)
        cursor = batch[-1].pk


def _encrypt(value: str) -> str:
    try:
        crypto.decrypt(value)
    except (InvalidToken, UnicodeDecodeError):
        return crypto.encrypt(value)
    return value  # already a token: the migration ran before and stopped midway


def encrypt_columns(app_label: str, model_name: str, fields: list[str]) -> migrations.RunPython:
    """Encrypt the existing values of plain text columns, in batches; put it before
    the AlterFields that make them EncryptedTextFields (and reversed, it decrypts them
    again after the fields are plain once more)."""

    def forward(apps, schema_editor):
        _rewrite(apps, app_label, model_name, fields, _encrypt)

    def backward(apps, schema_editor):
        _rewrite(apps, app_label, model_name, fields, crypto.decrypt)

    return migrations.RunPython(forward, backward, elidable=False)
