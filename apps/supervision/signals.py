"""Each new declaration is checked for a surge in its village or township, after its
transaction commits (docs/anomalies.md): the county hears of a possible disaster at
once, not at the next periodic run.

A burst of declarations in one village (the very thing looked for) queues one check at
a time, not one per declaration: a key in the shared cache says a check of the village
is queued and not yet started; the check deletes it before it counts, so a declaration
committed after that count queues the next check, and none is missed."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.declarations.models import Declaration

logger = logging.getLogger(__name__)


def surge_check_key(region_code: str) -> str:
    return f"surge-check-queued:{region_code}"


def _queue_surge_check(region_code: str) -> None:
    from .tasks import check_surge

    try:
        if not cache.add(surge_check_key(region_code), 1, settings.ANOMALY_SURGE_QUEUED_SECONDS):
            return  # a queued check will count this declaration too
    except Exception as exc:  # the cache's client errors differ by backend: check anyway
        logger.warning("surge check not deduplicated (%s)", type(exc).__name__)
    try:
        check_surge.delay(region_code)
    except Exception as exc:  # broker unreachable: the periodic run checks surges too
        logger.warning("surge check not queued (%s)", type(exc).__name__)
        cache.delete(surge_check_key(region_code))


@receiver(post_save, sender=Declaration, dispatch_uid="supervision-surge-check")
def declaration_saved(sender, instance, created, raw=False, **kwargs):
    # Like Celery's delay_on_commit, but a broker outage must not fail the farmer's
    # submission after it committed: the error is logged and the periodic run catches up.
    if created and not raw:
        code = instance.region_code
        transaction.on_commit(lambda: _queue_surge_check(code))
