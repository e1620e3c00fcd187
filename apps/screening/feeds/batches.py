"""The import of a feed batch (`apps.core.imports`), and receiving one: an uploaded
file (CSV, .xlsx) or an API batch (the JSON body, stored as the batch's file), imported
by the same task, so that their checks, bad-row reports and counts are the same."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import imports, tabular

from ..models import BatchSource, BatchStatus, Department, FeedBatch, FeedDefinition
from ..services import civil_affairs_compare
from .checks import RowChecker
from .matching import Applier
from .schemas import feed_upload_inspect, spec_of


class FeedImporter(imports.Importer):
    model = FeedBatch
    related = ("department__region", "definition")
    stage_table = "feed_stage"
    stage_columns = (
        "rownum integer NOT NULL",
        "id_hash varchar(64)",
        "region_prefix varchar(12)",
        "record_key varchar(64) NOT NULL",
        "data text NOT NULL",
    )
    stage_indexes = {"feed_stage_row_idx": "rownum", "feed_stage_hash_idx": "id_hash"}
    max_bytes_setting = "FEED_UPLOAD_MAX_BYTES"

    def __init__(self, batch: FeedBatch):
        self.spec = spec_of(batch.definition)
        super().__init__(batch)
        self.counties: set[str] = set()

    def columns(self):
        return self.spec.columns()

    def headers(self):
        # An API client reads the JSON keys it sent; an office the columns of its file.
        return {} if self.obj.source == BatchSource.API else super().headers()

    def rows(self, fileobj):
        if self.source == "json":
            return json_rows(fileobj, [c.key for c in self.columns()])
        return super().rows(fileobj)

    def map_columns(self, header):
        if self.source == "json":
            return {key: i for i, key in enumerate(header)}  # the JSON keys, in schema order
        return super().map_columns(header)

    def row_checker(self, found):
        return RowChecker(self.obj, self.spec, found, self.errors).check

    def apply(self):
        applier = Applier(self, timezone.now())
        counts = applier.run()
        self.counties = applier.counties
        return asdict(counts)

    def applied(self):
        # The rolls changed: compare the counties' declarants with them again.
        for county in sorted(self.counties):
            civil_affairs_compare(county_code=county)


def json_rows(fileobj, keys: list[str]) -> Iterator[tuple[int, list | None]]:
    """An API batch as rows: the keys as header (row 0), record n as row n (None when
    it is not an object)."""
    yield 0, keys
    try:
        records = json.load(fileobj)["records"]
        if not isinstance(records, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        # Checked at the door, but the file is read again here.
        message = _("The batch is not a JSON object with a list of records.")
        raise tabular.FileUnreadable(0, message) from None
    for n, record in enumerate(records, 1):
        yield n, [record.get(k) for k in keys] if isinstance(record, dict) else None


def definition_for(department: Department, kind: str) -> FeedDefinition | None:
    """The active definition of this code, if the department delivers it."""
    if kind not in department.kinds:
        return None
    return FeedDefinition.objects.filter(code=kind, active=True).first()


def may_deliver(user, department: Department, kind: str) -> bool:
    if not (user.is_authenticated and user.is_active and department.active):
        return False
    if definition_for(department, kind) is None:
        return False
    return user.is_superuser or department.members.filter(user=user).exists()


def feed_upload_create(
    *, actor, department: Department, kind: str, upload, inspected=None
) -> tuple[FeedBatch, bool]:
    """Store an uploaded file of a department's feed and queue its import (after
    commit). The batch id of an upload is the file's SHA-256: the same file again is
    the same batch (returned, with False), unless that one was refused — then it runs
    again, for the refusal may have been the region's (a village not yet known).
    Raises PermissionDenied or ValidationError."""
    from ..tasks import import_feed

    if not may_deliver(actor, department, kind):
        raise PermissionDenied
    inspected = inspected or feed_upload_inspect(upload, definition_for(department, kind))
    with transaction.atomic():
        batch = (
            FeedBatch.objects.select_for_update()
            .filter(department=department, batch_id=inspected.sha256)
            .first()
        )
        if batch is not None and batch.status != BatchStatus.FAILED:
            return batch, False
        batch = batch or FeedBatch(department=department, batch_id=inspected.sha256)
        batch.kind = kind
        batch.source = BatchSource.UPLOAD
        batch.status = BatchStatus.PENDING
        batch.original_name = inspected.original_name
        batch.content_digest = inspected.sha256
        batch.created_by = actor
        batch.created_at = timezone.now()
        batch.total_rows = batch.processed_rows = batch.error_count = 0
        batch.errors = []
        batch.finished_at = None
        imports.queue(batch, upload, inspected.kind, import_feed)
    return batch, True


@dataclass(frozen=True)
class ApiBatch:
    batch: FeedBatch
    created: bool


class BatchConflict(Exception):
    """The batch id was used before, for other content (or another feed)."""


def feed_api_submit(*, department: Department, kind: str, batch_id: str, records: list) -> ApiBatch:
    """Store an API batch and queue it (after commit); idempotent by batch id: the
    same id with the same records is the batch already received."""
    from ..tasks import import_feed

    body = json.dumps(
        {"records": records}, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()
    digest = hashlib.sha256(kind.encode() + b":" + body).hexdigest()
    existing = FeedBatch.objects.filter(department=department, batch_id=batch_id).first()
    if existing is None:
        try:
            batch = FeedBatch(
                department=department,
                kind=kind,
                batch_id=batch_id,
                source=BatchSource.API,
                content_digest=digest,
                total_rows=len(records),
            )
            return ApiBatch(imports.queue(batch, ContentFile(body), "json", import_feed), True)
        except IntegrityError:
            # The same batch sent twice at once: the other request stored it.
            existing = FeedBatch.objects.get(department=department, batch_id=batch_id)
    if existing.content_digest != digest or existing.kind != kind:
        raise BatchConflict
    return ApiBatch(existing, False)
