"""The transparent risk score (0–100) of a household: each factor with its weight, its
share and the reason in words, so that the page says why (no black box). Warnings
(screening) and declarations both carry it, from this one implementation: a warning's
factors come from department records, a declaration's from what it says and what the
home visit found, plus the factors of the warnings merged into it. It orders the
worklists."""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Difficulty, LabourCapacity

# The weights: what each factor counts for at most (they add up to 100).
WEIGHTS = {
    "medical": 30,  # medical burden against the household's income
    "disability": 20,  # a severe disability
    "labour": 20,  # loss of labour capacity
    "disaster": 15,  # a disaster in the village
    "education": 15,  # education costs against income
}
# A fall in income, which no department feeds: only a declaration says it. It counts on
# top of the five (the score is still at most 100).
INCOME_WEIGHT = 20

FACTOR_LABELS = {
    "medical": gettext_lazy("medical costs against the household's income"),
    "disability": gettext_lazy("severe disability"),
    "labour": gettext_lazy("loss of labour capacity"),
    "disaster": gettext_lazy("disaster in the village"),
    "education": gettext_lazy("education costs against the household's income"),
    "income": gettext_lazy("loss of income or work"),
}


def factor_label(factor: str) -> str:
    return str(FACTOR_LABELS.get(factor, factor))


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


def combine(factors: list[dict]) -> tuple[int, list[dict]]:
    """The score of a warning from all its sources' factors: the strongest of each kind
    counts, never two of the same; at most 100."""
    best: dict[str, dict] = {}
    for f in factors:
        if f["factor"] not in best or f["points"] > best[f["factor"]]["points"]:
            best[f["factor"]] = f
    kept = sorted(best.values(), key=lambda f: (-f["points"], f["factor"]))
    return min(sum(f["points"] for f in kept), 100), kept


# --- a declaration's factors --------------------------------------------------------------

# What a declared kind of difficulty counts for before anyone has checked it: half of its
# factor's weight, as a cost whose amount is not known yet.
DECLARED_SHARE = 0.5
KIND_FACTOR = {
    Difficulty.ILLNESS: "medical",
    Difficulty.ACCIDENT: "medical",
    Difficulty.DISABILITY: "disability",
    Difficulty.SCHOOLING: "education",
    Difficulty.DISASTER: "disaster",
    Difficulty.UNSTABLE_WORK: "income",
    Difficulty.BUSINESS_FAILURE: "income",
    Difficulty.INCOME_SHOCK: "income",
}


@dataclass(frozen=True)
class MemberFacts:
    """What the roster or the home visit knows of one member."""

    labour_capacity: str
    disability_grade: int | None = None


@dataclass(frozen=True)
class Amounts:
    """The home visit's figures over the last 12 months (yuan)."""

    income: Decimal
    medical: Decimal = Decimal(0)
    education: Decimal = Decimal(0)
    disaster: Decimal = Decimal(0)


def _weight(factor: str) -> int:
    return INCOME_WEIGHT if factor == "income" else WEIGHTS[factor]


def declared_factor(kind: str) -> Factor | None:
    factor = KIND_FACTOR.get(kind)
    if factor is None:
        return None
    label = dict(Difficulty.choices)[kind]
    return Factor(
        factor,
        _weight(factor),
        DECLARED_SHARE,
        _("declared: %(kind)s (not yet verified)") % {"kind": label},
    )


def declaration_factors(
    kinds: Iterable[str], members: Iterable[MemberFacts], amounts: Amounts | None = None
) -> list[Factor]:
    """The factors of what a declaration says (its kinds of difficulty, and the risk
    types the home visit found), of its household's members (labour capacity,
    disability, from the visit or else the roster) and of the visit's amounts. Of
    several factors of one kind `combine` keeps the strongest."""
    members = list(members)
    factors = [f for f in map(declared_factor, dict.fromkeys(kinds)) if f is not None]
    labour = labour_factor(
        [m.labour_capacity for m in members if m.labour_capacity in LabourCapacity.values]
    )
    if labour is not None:
        factors.append(labour)
    grades = [m.disability_grade for m in members if m.disability_grade in (1, 2, 3, 4)]
    if grades:
        factors.append(disability_factor(min(grades)))
    if amounts is not None:
        for factor, cost, what in (
            ("medical", amounts.medical, _("medical costs paid out of pocket")),
            ("education", amounts.education, _("education costs")),
            ("disaster", amounts.disaster, _("disaster losses")),
        ):
            if cost > 0:
                factors.append(burden_factor(factor, cost, amounts.income, what))
        if amounts.income <= 0:
            factors.append(
                Factor("income", INCOME_WEIGHT, 1.0, _("no income in the last 12 months"))
            )
    return factors


def score_of(factors: Iterable[dict]) -> tuple[int, list[dict]]:
    """The score of a case from all its factors (each a dict of `Factor.as_json` and its
    `source`): `combine`'s score, and every factor kept for the record — those that
    count first, marked `counted`, then the weaker ones of the same kind (a warning's
    factor outweighed today may count after the visit), once each."""
    factors = list(factors)
    score, kept = combine(factors)
    kept_ids = {id(f) for f in kept}
    stored = [{**f, "counted": True} for f in kept]
    seen = {(f["factor"], f["points"], f["why"], f.get("source", "")) for f in stored}
    for f in factors:
        key = (f["factor"], f["points"], f["why"], f.get("source", ""))
        if id(f) not in kept_ids and key not in seen:
            seen.add(key)
            stored.append({**f, "counted": False})
    return score, stored
