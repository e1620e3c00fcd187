"""A run of the data-quality rules: the rules' hits become items on the primary, in
batches, so that memory stays flat whatever the size of the data.

For each rule, within the run's scope:
- a hit whose subject has an open item of the rule keeps that item (seen again; its
  details follow the data);
- a hit whose subject has a confirmed item with the same facts is passed over: the
  village said these facts are right;
- any other hit is a new item, routed to the subject's village, with the 5-working-day
  clock of Stage.DATA_QUALITY;
- an open item not found again was fixed: it closes (status "fixed") and its clock
  stops.
"""

import datetime as dt
import hashlib
import json
import logging
import time
from collections import defaultdict

from django.db import transaction
from django.db.models import Case, F, Q, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.deadlines.calendar import WorkingCalendar, add_period
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import end_of_day, policies_for

from ..models import ItemEvent, ItemStatus, QualityItem, QualityRun, Rule
from .rules import CHUNK, RULES, Context, Hit, batched

logger = logging.getLogger(__name__)

CLOCK_SUBJECT = "quality_item"
RUN_LABEL = "data-quality run"


def facts_of(details: dict) -> str:
    return hashlib.sha256(
        json.dumps(details, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()[:32]


class _Due:
    """The due date of an item found on a day: 5 working days (the policy) later."""

    def __init__(self, today: dt.date):
        policy = policies_for([Stage.DATA_QUALITY])[Stage.DATA_QUALITY]
        self.due_on, self.provisional = add_period(
            today,
            policy.limit,
            policy.unit,
            WorkingCalendar.spanning(today, extra_years=1),
        )
        self.due_at = end_of_day(self.due_on)


def run_rules(
    *,
    rules: list[str] | None = None,
    scope: str = "",
    check_round=None,
    actor=None,
    now: dt.datetime | None = None,
) -> QualityRun:
    """Run `rules` (all by default) over the regions whose code starts with `scope`
    ("" for everything); the items raised carry `check_round`."""
    now = now or timezone.now()
    rules = list(rules or Rule.values)
    previous = QualityRun.objects.filter(finished_at__isnull=False, region_code="").first()
    run = QualityRun.objects.create(
        region_code=scope.ljust(12, "0") if scope else "",
        rules=rules,
        round=check_round,
        started_by=actor,
        started_at=now,
        roster_member_checked_upto=previous.roster_member_checked_upto if previous else 0,
        household_member_checked_upto=previous.household_member_checked_upto if previous else 0,
    )
    today = timezone.localdate(now)
    due = _Due(today)
    for rule in rules:
        ctx = Context(today=today, scope=scope)
        if rule == Rule.INVALID_ID:
            ctx.roster_member_after = run.roster_member_checked_upto
            ctx.household_member_after = run.household_member_checked_upto
            ctx.since = previous.started_at if previous else None
            ctx.recheck = _open_subjects(rule, scope)
        counts = {"raised": 0, "seen": 0, "fixed": 0}
        started = time.monotonic()
        for batch in batched(RULES[rule](ctx), CHUNK):
            raised, seen = _apply(rule, batch, run=run, now=now, due=due)
            counts["raised"] += raised
            counts["seen"] += seen
        counts["fixed"] = _close_fixed(rule, scope, run=run, now=now)
        if check_round is not None:
            _adopt(rule, scope, check_round)
        run.counts[rule] = {**counts, "seconds": round(time.monotonic() - started, 1)}
        if rule == Rule.INVALID_ID and not scope:
            run.roster_member_checked_upto = max(
                run.roster_member_checked_upto, ctx.roster_member_upto
            )
            run.household_member_checked_upto = max(
                run.household_member_checked_upto, ctx.household_member_upto
            )
        logger.info("data quality %s %s: %s", scope or "*", rule, counts)
    run.finished_at = timezone.now()
    run.save()
    return run


def _open_subjects(rule: str, scope: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    items = QualityItem.objects.open().filter(rule=rule, region_code__startswith=scope)
    for subject_type, subject_id in items.values_list("subject_type", "subject_id"):
        found[subject_type].append(subject_id)
    return found


def _apply(rule: str, hits: list[Hit], *, run, now, due: _Due) -> tuple[int, int]:
    """One batch of a rule's hits: new items raised, open ones marked seen."""
    # A rule may reach one subject twice (two roster twins): the first counts.
    unique: dict[tuple[str, int], Hit] = {}
    for hit in hits:
        unique.setdefault((hit.subject_type, hit.subject_id), hit)
    by_type: dict[str, list[int]] = defaultdict(list)
    for subject_type, subject_id in unique:
        by_type[subject_type].append(subject_id)
    which = Q()
    for subject_type, ids in by_type.items():
        which |= Q(subject_type=subject_type, subject_id__in=ids)
    earlier = QualityItem.objects.filter(which, rule=rule).filter(
        status__in=[ItemStatus.OPEN, ItemStatus.CONFIRMED]
    )
    open_items: dict[tuple[str, int], tuple[int, str]] = {}
    confirmed: set[tuple[str, int, str]] = set()
    for pk, subject_type, subject_id, status, facts in earlier.values_list(
        "pk", "subject_type", "subject_id", "status", "facts"
    ):
        if status == ItemStatus.OPEN:
            open_items[(subject_type, subject_id)] = (pk, facts)
        else:
            confirmed.add((subject_type, subject_id, facts))
    new, seen, changed = [], [], []
    for key, hit in unique.items():
        facts = facts_of(hit.details)
        if key in open_items:
            pk, old_facts = open_items[key]
            seen.append(pk)
            if old_facts != facts:
                changed.append(QualityItem(pk=pk, facts=facts, details=hit.details))
        elif (*key, facts) not in confirmed:
            new.append(
                QualityItem(
                    rule=rule,
                    subject_type=hit.subject_type,
                    subject_id=hit.subject_id,
                    village_id=hit.village_id,
                    region_code=hit.region_code,
                    facts=facts,
                    details=hit.details,
                    found_at=now,
                    last_seen_at=now,
                    due_on=due.due_on,
                    round=run.round,
                )
            )
    with transaction.atomic():
        if seen:
            QualityItem.objects.filter(pk__in=seen).update(last_seen_at=now)
        if changed:
            QualityItem.objects.bulk_update(changed, ["facts", "details"])
        if new:
            # A concurrent run (the button while the nightly run goes) may have raised
            # the same item: the open-item constraint keeps one.
            QualityItem.objects.bulk_create(new, ignore_conflicts=True)
            created = QualityItem.objects.filter(
                rule=rule, found_at=now, status=ItemStatus.OPEN, last_seen_at=now
            ).filter(which)
            Clock.objects.bulk_create(
                [
                    Clock(
                        subject_type=CLOCK_SUBJECT,
                        subject_id=pk,
                        stage=Stage.DATA_QUALITY,
                        region_code=code,
                        started_at=now,
                        due_on=due.due_on,
                        due_at=due.due_at,
                        provisional=due.provisional,
                    )
                    for pk, code in created.values_list("pk", "region_code")
                ],
                ignore_conflicts=True,
            )
    return len(new), len(seen)


def _close_fixed(rule: str, scope: str, *, run, now) -> int:
    """Open items of the rule in scope that this run did not find again: fixed."""
    gone = (
        QualityItem.objects.open()
        .filter(rule=rule, region_code__startswith=scope, last_seen_at__lt=now)
        .order_by()
        .values_list("pk", flat=True)
    )
    closed = 0
    for ids in batched(list(gone.iterator(chunk_size=CHUNK)), CHUNK):
        with transaction.atomic():
            closed += QualityItem.objects.filter(pk__in=ids, status=ItemStatus.OPEN).update(
                status=ItemStatus.FIXED, closed_at=now
            )
            Clock.objects.filter(
                subject_type=CLOCK_SUBJECT, subject_id__in=ids, met_at__isnull=True
            ).update(
                met_at=now,
                breached_at=Coalesce(
                    F("breached_at"), Case(When(due_at__lt=now, then=F("due_at")), default=None)
                ),
            )
            ItemEvent.objects.bulk_create(
                [ItemEvent(item_id=pk, kind="fixed", at=now, actor_label=RUN_LABEL) for pk in ids]
            )
    return closed


def _adopt(rule: str, scope: str, check_round) -> None:
    """A round takes on the items of its rules already open in its subtree."""
    QualityItem.objects.open().filter(
        rule=rule, region_code__startswith=scope, round__isnull=True
    ).update(round=check_round)
