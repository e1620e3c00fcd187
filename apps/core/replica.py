"""Reads off the primary: a database router that sends the reads made inside
`replica_reads()` to the "replica" database (a PostgreSQL streaming replica, set by
DATABASE_REPLICA_URL), and everything else — every write, and every read outside it —
to the primary.

Only reads that may lag a moment behind the primary belong inside: the dashboards, the
exports and the nightly data-quality run. A page that must read its own writes never
enters it. Without a replica configured, `replica_reads()` changes nothing.

    @replica_reads()
    def dashboard(request, code): ...

    with replica_reads():
        rows = list(Household.objects.filter(...))
"""

import functools
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_reading: ContextVar[bool] = ContextVar("replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class replica_reads:
    """Inside it, reads go to the replica (when one is configured).

    As a decorator, each call enters a context of its own: one decorated view serves
    concurrent requests (threads), and each must reset only its own token."""

    def __enter__(self):
        self._token = _reading.set(True)
        return self

    def __exit__(self, *exc):
        _reading.reset(self._token)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def inner(*args, **kwargs):
            with replica_reads():
                return func(*args, **kwargs)

        return inner


def reading_replica() -> bool:
    """Whether reads are sent to the replica now."""
    return _reading.get() and replica_configured()


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        # Outside replica_reads() always the primary, even for a relation of an object
        # read from the replica (Django would otherwise follow the object's database).
        return REPLICA if reading_replica() else "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"  # the replica follows the primary's WAL
