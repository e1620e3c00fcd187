"""Re-encrypt everything under the current key and algorithms.

After a new key is put first in FIELD_ENCRYPTION_KEYS, or FIELD_CIPHER, FIELD_HASH or
FIELD_HASH_KEY changed, this command goes through every table with encrypted fields
or stored files, in batches ordered by primary key, each batch in one transaction:

* every EncryptedTextField is decrypted (under any configured key, either cipher) and
  written again under the first key and FIELD_CIPHER; plain text left from before a
  field was encrypted is not accepted (the field's migration encrypted it);
* every keyed hash a model declares in `keyed_hashes` ({hash field: (encrypted
  field, "id" | "mobile")}) is computed again from the decrypted value, normalised as
  apps.core.identity does, so a new FIELD_HASH or FIELD_HASH_KEY takes effect;
  a model's `rehashed()` then updates what is derived from its hashes;
* every stored file is rewritten encrypted (apps.core.storage), plain ones included.

Progress is kept per table (audit.KeyRotation): run it again after an interruption
and it carries on after the last finished batch; `--restart` starts from the top.
The run is audited (Action.KEY_ROTATION) when it finishes or stops.

Key and cipher changes can be rotated while the site runs: every value decrypts under
the old and the new settings alike. A change of FIELD_HASH or FIELD_HASH_KEY cannot:
until the run finishes, look-ups (duplicate checks, the status page, enrolment,
department feeds) would compare new hashes with old ones and miss. Run it in a
maintenance window, with the site and workers stopped (docs/decisions.md). Hashes
kept without the value they came from (department feed records, the civil-affairs
roll) cannot be recomputed: the departments deliver them again afterwards.
"""

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.utils import timezone

from apps.audit.models import Action, KeyRotation
from apps.audit.services import record
from apps.core.fields import EncryptedTextField
from apps.core.identity import id_hash, mobile_hash
from apps.core.models import HistoryEntry

HASHERS = {"id": id_hash, "mobile": mobile_hash}


def rotated_models() -> list[tuple[type[models.Model], list[str], list[str]]]:
    """(model, encrypted fields, file fields) of every table that has any."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        fields = meta.concrete_fields
        encrypted = [f.name for f in fields if isinstance(f, EncryptedTextField)]
        files = [f.name for f in fields if isinstance(f, models.FileField)]
        if encrypted or files:
            found.append((model, encrypted, files))
    return sorted(found, key=lambda item: item[0]._meta.label_lower)


def unrecomputable_hashes() -> list[str]:
    """Hash columns (`*_hash`) that no `keyed_hashes` pairs with an encrypted value."""
    found = []
    for model in apps.get_models():
        paired = getattr(model, "keyed_hashes", {})
        found += [
            f"{model._meta.label_lower}.{f.name}"
            for f in model._meta.concrete_fields
            if f.name.endswith("_hash") and f.name not in paired
        ]
    return sorted(found)


class Command(BaseCommand):
    help = (
        "Re-encrypt fields and files under the current key and algorithms; recompute keyed hashes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--batches", type=int, default=None, help="Stop after this many batches (resume later)."
        )
        parser.add_argument(
            "--restart", action="store_true", help="Forget an unfinished run and start over."
        )

    def handle(self, *, batch_size, batches, restart, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if restart:
            KeyRotation.objects.all().delete()
        elif KeyRotation.objects.exists():
            self.stdout.write("Resuming the unfinished rotation.")
        self.budget = batches
        for model, encrypted, files in rotated_models():
            if not self._rotate(model, encrypted, files, batch_size):
                break
        progress = list(KeyRotation.objects.order_by("table"))
        finished = all(p.finished for p in progress)
        record(
            Action.KEY_ROTATION,
            actor_name="manage.py rotate_keys",
            target="field encryption",
            cipher=settings.FIELD_CIPHER,
            hash=settings.FIELD_HASH,
            finished=finished,
            tables={
                p.table: {"rows": p.rows, "hashes_changed": p.hashes_changed, "files": p.files}
                for p in progress
            },
        )
        if finished:
            KeyRotation.objects.all().delete()
            self.stdout.write(self.style.SUCCESS("Rotation finished."))
            if any(p.hashes_changed for p in progress):
                self.stdout.write(
                    self.style.WARNING(
                        "Keyed hashes changed. These hold hashes without their value and "
                        "were left as they were; have the data delivered again: "
                        + ", ".join(unrecomputable_hashes())
                    )
                )
        else:
            self.stdout.write("Stopped; run the command again to continue.")

    def _rotate(self, model, encrypted, files, batch_size) -> bool:
        """Rotate one table from its cursor; False when the batch budget ran out."""
        label = model._meta.label_lower
        progress, _ = KeyRotation.objects.get_or_create(table=label)
        if progress.finished:
            return True
        hashes = {
            target: source
            for target, source in getattr(model, "keyed_hashes", {}).items()
            if source[0] in encrypted
        }
        storages = {name: model._meta.get_field(name).storage for name in files}
        manager = model._base_manager
        while True:
            if self.budget is not None and self.budget <= 0:
                return False
            batch = list(manager.filter(pk__gt=progress.last_pk).order_by("pk")[:batch_size])
            if not batch:
                break
            # History is append-only; re-encrypting it under the new key changes no
            # content, so its trigger is set aside for the batch.
            history = (model,) if issubclass(model, HistoryEntry) else ()
            with transaction.atomic(), HistoryEntry.unprotected(*history):
                changed_hashes = self._rotate_rows(model, batch, encrypted, hashes)
                for obj in batch:
                    for name, storage in storages.items():
                        stored = getattr(obj, name)
                        if stored.name and storage.reencrypt(stored.name):
                            progress.files += 1
                progress.last_pk = batch[-1].pk
                progress.rows += len(batch)
                progress.hashes_changed += changed_hashes
                progress.updated_at = timezone.now()
                progress.save()
            if self.budget is not None:
                self.budget -= 1
        progress.finished = True
        progress.updated_at = timezone.now()
        progress.save()
        self.stdout.write(f"{label}: {progress.rows} rows, {progress.files} files")
        return True

    def _rotate_rows(self, model, batch, encrypted, hashes) -> int:
        """Write the batch's encrypted fields again (under the current key) with their
        hashes recomputed; the number of hashes that changed."""
        if not encrypted:
            return 0
        fields = set(encrypted)
        changed = 0
        for obj in batch:
            moved = False
            for target, (source, kind) in hashes.items():
                value = getattr(obj, source)
                new = HASHERS[kind](value) if value else ""
                if value and new != getattr(obj, target):
                    setattr(obj, target, new)
                    fields.add(target)
                    changed += 1
                    moved = True
            if moved and hasattr(obj, "rehashed"):
                fields.update(obj.rehashed())
        model._base_manager.bulk_update(batch, sorted(fields))
        return changed
