"""One run at a time for scheduled jobs that must not run twice (the exports, the
look-back sampling, the retention purge).

The lock is a key in Django's cache, Redis in production, shared by every worker:
`cache.add` sets it only if absent, and the run deletes it afterwards only if it still
holds it. A cache key rather than a PostgreSQL advisory lock: it works on every
database (SQLite included), ties up no connection or transaction for the length of a
long job, and a worker that dies mid-run frees it after `JOB_LOCK_TIMEOUT_SECONDS`.
"""

import functools
import logging
import uuid

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def _key(name: str) -> str:
    return f"job-lock:{name}"


def lock_held(name: str) -> bool:
    return cache.get(_key(name)) is not None


def exclusive(name: str):
    """Decorate a job: while another run holds the lock `name`, the call logs that and
    returns None without doing anything; otherwise it runs under the lock, which is
    released afterwards, whether the job returned or raised."""

    def decorate(job):
        @functools.wraps(job)
        def run(*args, **kwargs):
            key, token = _key(name), uuid.uuid4().hex
            if not cache.add(key, token, settings.JOB_LOCK_TIMEOUT_SECONDS):
                logger.warning("%s is already running: this run does nothing.", name)
                return None
            try:
                return job(*args, **kwargs)
            finally:
                # Not someone else's: after a timeout another run may hold the key.
                if cache.get(key) == token:
                    cache.delete(key)

        return run

    return decorate
