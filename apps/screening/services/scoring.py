"""The transparent risk score (0–100) of a household under warning: each factor with its
weight, its share and the reason in words, so that the page says why (no black box).
It orders the village's worklist."""

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

# The weights: what each factor counts for at most (they add up to 100).
WEIGHTS = {
    "medical": 30,  # medical burden against the household's income
    "disability": 20,  # a severe disability
    "labour": 20,  # loss of labour capacity
    "disaster": 15,  # a disaster in the village
    "education": 15,  # education costs against income
}


@dataclass(frozen=True)
class Factor:
    factor: str
    weight: int
    share: float  # 0–1: how much of the weight applies
    why: str

    @property
    def points(self) -> int:
        return round(self.weight * min(max(self.share, 0.0), 1.0))

    def as_json(self) -> dict:
        return {**asdict(self), "points": self.points}


def burden_factor(
    factor: str, cost: Decimal, income: Decimal | None, what: str, weight: int | None = None
) -> Factor:
    """A cost against the household's annual income: the whole weight at or above the
    income; half of it for a cost whose income is unknown. The weight is the factor's
    own (WEIGHTS), or a feed rule's."""
    if income and income > 0:
        share = float(cost / income)
        why = _("%(what)s %(cost)s yuan, %(pct)d%% of the household's annual income") % {
            "what": what,
            "cost": f"{cost:,.0f}",
            "pct": round(share * 100),
        }
    else:
        share = 0.5
        why = _("%(what)s %(cost)s yuan (the household's income is not known)") % {
            "what": what,
            "cost": f"{cost:,.0f}",
        }
    return Factor(factor, WEIGHTS[factor] if weight is None else weight, min(share, 1.0), why)


def disability_factor(grade: int) -> Factor:
    share = {1: 1.0, 2: 1.0, 3: 0.5, 4: 0.25}.get(grade, 0.0)
    return Factor(
        "disability",
        WEIGHTS["disability"],
        share,
        _("a member with a grade %(grade)d disability") % {"grade": grade},
    )


def labour_factor(capacities: list[str]) -> Factor | None:
    """Nobody able to work: the whole weight; half of the members or more: half of it."""
    if not capacities:
        return None
    without = sum(1 for c in capacities if c == "none")
    if without == len(capacities):
        return Factor("labour", WEIGHTS["labour"], 1.0, _("no member of the household can work"))
    if without * 2 >= len(capacities):
        return Factor(
            "labour",
            WEIGHTS["labour"],
            0.5,
            _("%(n)d of %(total)d members cannot work") % {"n": without, "total": len(capacities)},
        )
    return None


def disaster_factor(severity: int, event: str) -> Factor:
    """Severity I (most severe) to IV, as the emergency-management grades go."""
    share = {1: 1.0, 2: 0.8, 3: 0.6, 4: 0.4}.get(severity, 0.4)
    return Factor(
        "disaster",
        WEIGHTS["disaster"],
        share,
        _("%(event)s, severity %(severity)s") % {"event": event, "severity": "ⅠⅡⅢⅣ"[severity - 1]}
        if 1 <= severity <= 4
        else event,
    )


def combine(factors: list[dict]) -> tuple[int, list[dict]]:
    """The score of a warning from all its sources' factors: the strongest of each kind
    counts, never two of the same; at most 100."""
    best: dict[str, dict] = {}
    for f in factors:
        if f["factor"] not in best or f["points"] > best[f["factor"]]["points"]:
            best[f["factor"]] = f
    kept = sorted(best.values(), key=lambda f: (-f["points"], f["factor"]))
    return min(sum(f["points"] for f in kept), 100), kept
