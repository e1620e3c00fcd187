"""Each new declaration is checked for a surge in its village or township, after its
transaction commits (docs/anomalies.md): the county hears of a possible disaster at
once, not at the next periodic run."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.declarations.models import Declaration

logger = logging.getLogger(__name__)


def _queue_surge_check(region_code: str) -> None:
    from .tasks import check_surge

    try:
        check_surge.delay(region_code)
    except Exception as exc:  # broker unreachable: the periodic run checks surges too
        logger.warning("surge check not queued (%s)", type(exc).__name__)


@receiver(post_save, sender=Declaration, dispatch_uid="supervision-surge-check")
def declaration_saved(sender, instance, created, raw=False, **kwargs):
    # Like Celery's delay_on_commit, but a broker outage must not fail the farmer's
    # submission after it committed: the error is logged and the hourly run catches up.
    if created and not raw:
        code = instance.region_code
        transaction.on_commit(lambda: _queue_surge_check(code))
