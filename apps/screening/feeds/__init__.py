"""Department data feeds: an uploaded file or an API batch, checked whole, matched against
the rural population, turned into warnings.

A batch runs on the import pipeline of `apps.core.imports`, like the population roster:

- `schemas`: the feeds, the columns of their files (the keys are the API's JSON keys)
  and the words their cells may use;
- `checks`: a row checked and what it says staged, with the keyed hash of the ID number
  in place of the number;
- `matching`: the apply: the staged rows matched against the roster and the monitored
  households of the department's region, the feed's rule, the records kept
  idempotently, the new ones raising warnings;
- `batches`: the import of a batch, and receiving one (an upload or an API batch).

The file holds ID numbers in clear: it is deleted once the batch has run.
"""

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
