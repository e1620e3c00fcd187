"""A declaration's transparent risk score (apps.households.scoring has the factors and
`combine`, shared with the warnings): computed in Python before the submission's one
INSERT, again when the home visit records its facts, and when screening merges a
warning's factors into the case (`declarations_add_warning_factors`)."""

from collections.abc import Iterable
from decimal import Decimal

from apps.households.models import HouseholdMember, RosterMember
from apps.households.scoring import Amounts, MemberFacts, declaration_factors, score_of

from .models import Declaration
from .models.review import INCOME_FIELDS, HouseholdVisit

DECLARATION = "declaration"  # the source of the case's own factors
WARNING = "warning"  # the source of a merged warning's factors


def household_facts(*, roster_id: int | None, monitored_id: int | None) -> list[MemberFacts]:
    """The members of the applicant's household as the roster knows them, else as the
    monitored household lists them now: one query, none without a household."""
    if roster_id:
        rows = RosterMember.objects.filter(household_id=roster_id)
    elif monitored_id:
        rows = HouseholdMember.objects.filter(household_id=monitored_id)
    else:
        return []
    return [
        MemberFacts(capacity, grade)
        for capacity, grade in rows.values_list("labour_capacity", "disability_grade")
    ]


def case_score(
    kinds: Iterable[str],
    members: Iterable[MemberFacts],
    amounts: Amounts | None,
    warning_factors: Iterable[dict],
) -> tuple[int, list[dict]]:
    """The score and the stored factors of a case: its own factors, and its merged
    warnings' (already `Factor.as_json` dicts)."""
    own = [
        {**f.as_json(), "source": DECLARATION} for f in declaration_factors(kinds, members, amounts)
    ]
    return score_of(own + [{**f, "source": WARNING} for f in warning_factors])


def visit_amounts(visit) -> Amounts:
    return Amounts(
        income=sum((getattr(visit, f) for f in INCOME_FIELDS), Decimal(0)),
        medical=visit.expense_medical,
        education=visit.expense_education,
        disaster=visit.expense_disaster,
    )


def score_set(declaration: Declaration, *, members: Iterable[MemberFacts], visit=None) -> None:
    """Set (not save) the declaration's score from its kinds, its household's members
    and its home visit's figures, keeping the factors of warnings merged into it."""
    kinds = list(declaration.difficulties) + (list(visit.risk_types) if visit else [])
    declaration.score, declaration.score_factors = case_score(
        kinds,
        members,
        visit_amounts(visit) if visit is not None else None,
        [f for f in declaration.score_factors if f.get("source") == WARNING],
    )


def score_at_intake(declaration: Declaration) -> None:
    """Before the submission's INSERT: what the form says and the household's members
    (one query when the roster or a monitored household knows the applicant)."""
    score_set(
        declaration,
        members=household_facts(
            roster_id=declaration.roster_household_id, monitored_id=declaration.household_id
        ),
    )


def score_after_visit(declaration: Declaration, visit: HouseholdVisit, *, members=None) -> None:
    """The home visit recorded new facts: its members (the visit's, or any objects with
    `labour_capacity` and `disability_grade`) and figures replace the roster's."""
    if members is None:
        members = visit.members.only("labour_capacity", "disability_grade")
    facts = [MemberFacts(m.labour_capacity, m.disability_grade) for m in members]
    # The factors as stored now, the row locked to the end of the visit's transaction:
    # a warning merged since the page loaded the case keeps its factors, and one being
    # merged now waits (screening locks the rows it merges into, too).
    declaration.score_factors = (
        Declaration.objects.select_for_update()
        .values_list("score_factors", flat=True)
        .get(pk=declaration.pk)
    )
    score_set(declaration, members=facts, visit=visit)
    Declaration.objects.filter(pk=declaration.pk).update(
        score=declaration.score, score_factors=declaration.score_factors
    )


def add_warning_factors(declaration: Declaration, factors: Iterable[dict]) -> None:
    """Set (not save) the score with a merged warning's factors added."""
    declaration.score, declaration.score_factors = score_of(
        list(declaration.score_factors) + [{**f, "source": WARNING} for f in factors]
    )


def declarations_add_warning_factors(merged: dict[int, tuple[Declaration, list[dict]]]) -> None:
    """Screening merged warnings into open declarations: each declaration's score with
    its new warnings' factors, written in one statement for them all (the caller's
    transaction). `merged` maps each declaration's pk to it and the factors."""
    for declaration, factors in merged.values():
        add_warning_factors(declaration, factors)
    Declaration.objects.bulk_update(
        [d for d, _factors in merged.values()], ["score", "score_factors"]
    )
