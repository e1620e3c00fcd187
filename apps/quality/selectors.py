"""What the quality pages show: counts by rule and region, a round's progress per
county. Each is one grouped query over the items the user sees (`visible_to`)."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import Left
from django.utils import timezone

from apps.regions.models import PREFIX_LENGTH, Level, Region

from .models import RESOLVED, ItemStatus, Rule, SelfCheckRound


def child_level(region: Region) -> Level | None:
    return None if region.level == Level.VILLAGE else Level(region.level + 1)


@dataclass
class Row:
    region: Region | None
    code: str
    by_rule: dict[str, int]
    open: int
    overdue: int


def overview(items, region: Region, *, today: dt.date | None = None) -> tuple[list, list]:
    """Open items under `region` by rule, per child region: (rules shown, rows)."""
    today = today or timezone.localdate()
    level = child_level(region)
    length = PREFIX_LENGTH[level] if level else 12
    grouped = (
        items.open()
        .filter(region_code__startswith=region.prefix)
        .annotate(part=Left("region_code", length))
        .order_by()
        .values("part", "rule")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(due_on__lt=today)))
    )
    parts: dict[str, Row] = {}
    for row in grouped:
        entry = parts.setdefault(row["part"], Row(None, row["part"].ljust(12, "0"), {}, 0, 0))
        entry.by_rule[row["rule"]] = row["n"]
        entry.open += row["n"]
        entry.overdue += row["late"]
    names = {r.code: r for r in Region.objects.filter(code__in=[e.code for e in parts.values()])}
    for entry in parts.values():
        entry.region = names.get(entry.code)
    rules = [
        (value, label)
        for value, label in Rule.choices
        if any(value in e.by_rule for e in parts.values())
    ]
    return rules, sorted(parts.values(), key=lambda e: e.code)


@dataclass
class CountyProgress:
    county: Region | None
    code: str
    raised: int
    resolved: int
    overdue: int

    @property
    def percent_done(self) -> int:
        return round(100 * self.resolved / self.raised) if self.raised else 100


def round_progress(
    check_round: SelfCheckRound, items, *, today: dt.date | None = None
) -> list[CountyProgress]:
    """Per county of the round: items raised, resolved (fixed, corrected, confirmed),
    overdue (still open past their due date or the round's deadline), % done."""
    today = today or timezone.localdate()
    late = Q(status=ItemStatus.OPEN) & (Q(due_on__lt=today) | Q(round__deadline__lt=today))
    rows = (
        items.filter(round=check_round)
        .annotate(county=Left("region_code", PREFIX_LENGTH[Level.COUNTY]))
        .order_by()
        .values("county")
        .annotate(
            raised=Count("pk"),
            resolved=Count("pk", filter=Q(status__in=RESOLVED)),
            overdue=Count("pk", filter=late),
        )
        .order_by("county")
    )
    rows = list(rows)
    names = {
        r.code: r
        for r in Region.objects.filter(code__in=[row["county"].ljust(12, "0") for row in rows])
    }
    return [
        CountyProgress(
            names.get(row["county"].ljust(12, "0")),
            row["county"].ljust(12, "0"),
            row["raised"],
            row["resolved"],
            row["overdue"],
        )
        for row in rows
    ]
