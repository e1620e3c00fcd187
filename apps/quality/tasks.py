"""Celery tasks of the quality app: the nightly run (config/celery.py), a run asked
for from the page, a self-check round's run. One run at a time: they share a lock."""

from celery import shared_task

from apps.core.locks import exclusive

from .models import SelfCheckRound
from .services import run_rules

LOCK = "data-quality-run"


@shared_task
@exclusive(LOCK)
def run_data_quality(scope: str = "", user_id: int | None = None) -> int | None:
    """All rules over `scope` ("" for everything); the run's id, None when another run
    held the lock."""
    return run_rules(scope=scope, actor=_user(user_id)).pk


@shared_task
@exclusive(LOCK)
def run_round(round_id: int) -> int | None:
    check_round = SelfCheckRound.objects.select_related("region").get(pk=round_id)
    return run_rules(
        rules=check_round.rules,
        scope=check_round.region.prefix,
        check_round=check_round,
        actor=check_round.opened_by,
    ).pk


def _user(user_id):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first() if user_id else None
