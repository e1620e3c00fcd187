"""Department data feeds: an uploaded file or an API batch, checked whole, matched against
the rural population, turned into warnings, on the import pipeline of `apps.core.imports`:
the feeds' definitions as data (`definitions`, `schemas`), the rules (`ruling`), the effects
(`effects`), a row checked and staged (`checks`), the apply
(`matching`), the import of a batch and receiving one (`batches`)."""

from .batches import (
    BatchConflict,
    FeedImporter,
    definition_for,
    feed_api_submit,
    feed_upload_create,
)
from .schemas import Spec, feed_upload_inspect, spec_of

__all__ = [
    "BatchConflict",
    "FeedImporter",
    "Spec",
    "definition_for",
    "feed_api_submit",
    "feed_upload_create",
    "feed_upload_inspect",
    "spec_of",
]
