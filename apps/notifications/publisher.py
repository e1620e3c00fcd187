"""Publishing the after-commit SMS tasks in batches, from a thread of each process.

Building and sending a Celery message costs about as much CPU as writing the
declaration itself (kombu serialises, signs headers and talks to Redis). Published from
the request, that is paid once per submission and on the farmer's time; published from
here, the request only appends ids to a list, and one `send_messages` task carries the
messages of every submission committed in the last `OUTBOX_PUBLISH_BATCH_SECONDS`
(1 s), or as soon as `OUTBOX_PUBLISH_BATCH_SIZE` (100) ids are waiting, which is also
the most a task carries, so one worker is not handed hours of sending. A publish costs
about a millisecond of CPU whatever it carries, so the window is what amortises it:
0.1 s left it at ~7 % of a web process's CPU under load (`bench/run_submit.py`), 1 s
at a tenth of that; an SMS that leaves a second later is still "at once". A broker that is down costs the request nothing either: the connection
timeout is spent here.

Nothing can be lost by it: the rows are committed before their ids arrive here, and the
outbox sweep (`messages_dispatch_pending`, every minute) dispatches any row still
pending after the grace period, which covers ids that die with the process (a crash or
a kill before the batch went out) and batches the broker refused. Nothing is sent
twice either: the worker claims each row with a conditional UPDATE
(`message_send`), however many tasks carry its id.
"""

import atexit
import functools
import logging
import os
import threading

from django.conf import settings

logger = logging.getLogger(__name__)


@functools.cache
def _celery_app():
    from .tasks import send_messages

    return send_messages.app  # the app object; its conf is read on every call


def publisher_enabled() -> bool:
    """Batch when tasks go to a real broker; with eager tasks (the embedded default,
    most tests) publishing *is* sending, which stays in the committing thread."""
    return settings.OUTBOX_PUBLISH_BATCH_SECONDS > 0 and not _celery_app().conf.task_always_eager


class BatchPublisher:
    def __init__(self) -> None:
        self._pid = None
        self._start()

    def _start(self) -> None:
        # Also after a fork: the child gets the parent's lock and list but not its thread.
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._pending: list[int] = []
        self._busy = False
        self._hurry = False
        self._thread: threading.Thread | None = None

    def submit(self, message_ids: list[int]) -> None:
        """Queue committed messages for the next batch; returns at once."""
        if os.getpid() != self._pid:
            self._start()
        with self._cond:
            first = not self._pending
            self._pending.extend(message_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="outbox-publisher", daemon=True
                )
                self._thread.start()
            # Wake the thread only when it has something new to do: the first ids of a
            # batch, or a full task. Waking it on every submission costs both threads
            # a switch of the GIL each time.
            if first or self._batch_ready():
                self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Publish everything submitted so far without waiting out the batch window, and
        wait until it has been handed to the broker (or given up on); False if that took
        longer than `timeout`."""
        if os.getpid() != self._pid:
            return True
        with self._cond:
            self._hurry = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _batch_ready(self) -> bool:
        return self._hurry or len(self._pending) >= settings.OUTBOX_PUBLISH_BATCH_SIZE

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending)
                self._busy = True
                # Let the submissions of the next moment join this batch; a full task's
                # worth, or a flush, goes at once.
                self._cond.wait_for(self._batch_ready, settings.OUTBOX_PUBLISH_BATCH_SECONDS)
                ids, self._pending, self._hurry = self._pending, [], False
            try:
                self._publish(ids)
            except Exception:  # never let the thread die: the sweep has the rows
                logger.exception(
                    "outbox: batch publish failed, %d message(s) left for the sweep", len(ids)
                )
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    @staticmethod
    def _publish(ids: list[int]) -> None:
        from .services import messages_dispatch

        size = settings.OUTBOX_PUBLISH_BATCH_SIZE
        for start in range(0, len(ids), size):
            # messages_dispatch logs and returns False when the broker is down.
            if not messages_dispatch(message_ids=ids[start : start + size]):
                return


publisher = BatchPublisher()


@atexit.register
def _flush_at_exit() -> None:
    # A worker that stops gracefully (gunicorn's SIGTERM, max-requests) hands over what
    # it holds; a crash leaves it to the sweep.
    publisher.flush(timeout=5.0)
