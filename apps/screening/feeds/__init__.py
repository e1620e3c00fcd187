"""Department data feeds: an uploaded file or an API batch, checked whole, matched against
the rural population, turned into warnings, on the import pipeline of `apps.core.imports`:
the feeds' definitions (`schemas`), a row checked and staged (`checks`), the apply
(`matching`), the import of a batch and receiving one (`batches`)."""

from .batches import BatchConflict, FeedImporter, feed_api_submit, feed_upload_create
from .schemas import SCHEMAS, feed_upload_inspect

__all__ = [
    "SCHEMAS",
    "BatchConflict",
    "FeedImporter",
    "feed_api_submit",
    "feed_upload_create",
    "feed_upload_inspect",
]
