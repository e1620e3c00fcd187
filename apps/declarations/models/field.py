"""Field work on a weak signal: the home visit kept as a draft between the steps of
its form, forms sent once however often a phone retries them, and photos uploaded in
chunks that resume where a dropped connection left them."""

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.fields import EncryptedTextField

from .case import Declaration


class VisitDraft(models.Model):
    """The home visit while its form is filled in, one step at a time: what each step
    saved (members with their ID numbers, amounts, findings), encrypted. Recording the
    visit deletes it."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="visit_drafts"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    data = EncryptedTextField(default="{}")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["declaration", "author"], name="one_visit_draft")
        ]

    def __str__(self):
        return f"{self.declaration} {self.author}"

    @property
    def values(self) -> dict:
        return json.loads(self.data or "{}")

    def store(self, **values) -> None:
        self.data = json.dumps({**self.values, **values}, ensure_ascii=False)
        self.updated_at = timezone.now()
        self.save()


class FormSubmission(models.Model):
    """A form sent with its idempotency key (a hidden field made when the form is
    rendered): a phone that sends it again, after a dropped answer or from its outbox,
    gets the same answer and changes nothing."""

    key = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=200)
    location = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.path} {self.key}"


class ChunkedUpload(models.Model):
    """A file sent in pieces (see apps.declarations.resumable): `received` bytes have
    arrived, in order, as UploadChunk files on the encrypted storage."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    size = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.id} {self.received}/{self.size}"

    @property
    def complete(self) -> bool:
        return self.received == self.size


class UploadChunk(models.Model):
    upload = models.ForeignKey(ChunkedUpload, on_delete=models.CASCADE, related_name="chunks")
    offset = models.PositiveIntegerField()
    file = models.FileField(upload_to="chunks/%Y/%m/")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["upload", "offset"], name="one_chunk_per_offset")
        ]
        ordering = ["offset"]

    def __str__(self):
        return f"{self.upload_id}@{self.offset}"
