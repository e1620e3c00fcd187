"""A definition's rules applied to a matched record (services/rules.py's `Hit`s): which
rules fire, with their reason (the rule's template of the record's fields) and their
factor of the risk score (the rule's name and weight, apps/households/scoring.py)."""

import hashlib
import json
from decimal import Decimal

from apps.households.scoring import burden_factor, labour_factor

from ..models import FactorBasis, FeedRule, HouseholdCondition, RuleKind
from ..services import Factor, Hit, Person, Village
from .definitions import render
from .schemas import Spec


class Rules:
    """The rules of one definition, with the counties' lines of the department's region."""

    def __init__(self, spec: Spec, prefix: str, year: int):
        self.spec = spec
        self.lines = spec.lines(prefix)
        self.year = year  # of a record without a date
        self.roster = {f.key: f.roster_value for f in spec.fields if f.roster_value}
        self.labels = {f.key: f.label for f in spec.fields}

    @property
    def needs_earlier(self) -> bool:
        return any(r.kind == RuleKind.NEW for r in self.spec.rules)

    def line(self, rule: FeedRule, county: str, data: dict) -> Decimal | None:
        date = data.get(self.spec.date_key) if self.spec.date_key else None
        year = int(date[:4]) if date else self.year
        return self.lines.get((rule.pk, county, year), rule.default_value)

    def fires(
        self, rule: FeedRule, data: dict, person: Person | None, county: str, earlier: list
    ) -> bool:
        if rule.household == HouseholdCondition.MONITORED_OR_POOR and not (
            person and (person.monitored_household_id or person.formerly_poor)
        ):
            return False
        value = data.get(rule.field) if rule.field else None
        values = self.spec.rule_values[rule.pk]
        if rule.kind == RuleKind.THRESHOLD:
            line = self.line(rule, county, data)
            return value is not None and line is not None and Decimal(str(value)) >= line
        if rule.kind == RuleKind.INCOME_SHARE:
            share = self.line(rule, county, data)
            income = person.annual_income if person else None
            return (
                value is not None
                and share is not None
                and income is not None
                and income > 0
                and Decimal(str(value)) > share * income
            )
        if rule.kind == RuleKind.CATEGORY:
            return str(value) in values
        # New since the earlier deliveries (with such a value, when the rule lists some).
        if not values:
            return not earlier
        if str(value) not in values:
            return False
        if any(str(e.get(rule.field)) in values for e in earlier):
            return False
        known = getattr(person, self.roster.get(rule.field, ""), None) if person else None
        return str(known) not in values

    def fired(self, data: dict, person: Person | None, county: str, earlier: list) -> list:
        """The rules that fire, one per rule code."""
        codes, found = set(), []
        for rule in self.spec.rules:
            if rule.code not in codes and self.fires(rule, data, person, county, earlier):
                codes.add(rule.code)
                found.append(rule)
        return found

    def factor(self, rule: FeedRule, data: dict, values: dict, person: Person | None) -> Factor:
        why = render(rule.factor_reason or rule.reason, values)
        if rule.basis == FactorBasis.BURDEN:
            what = render(rule.factor_reason, values) or self.labels.get(rule.field, "")
            income = person.annual_income if person else None
            cost = Decimal(str(data.get(rule.field) or 0))
            return burden_factor(rule.factor, cost, income, what, rule.weight)
        share = 1.0
        if rule.basis == FactorBasis.CATEGORY:
            share = self.spec.rule_shares.get(rule.pk, {}).get(str(data.get(rule.field)), 0.0)
        return Factor(rule.factor, rule.weight, share, why)

    def person_hit(self, rule: FeedRule, data: dict, person: Person) -> Hit:
        values = {**self.spec.display(data), "name": person.name or data.get("name", "")}
        factors = [self.factor(rule, data, values, person)]
        labour = labour_factor(list(person.capacities))
        return Hit(
            rule.code,
            render(rule.reason, values),
            person.household_key,
            person.village_id,
            person.region_code,
            person,
            tuple(factors + ([labour] if labour else [])),
        )

    def region_hit(self, rule: FeedRule, data: dict, village: Village) -> Hit:
        values = self.spec.display(data)
        facts = {k: v for k, v in data.items() if k != "name"}
        digest = hashlib.sha256(
            json.dumps(facts, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()[:24]
        return Hit(
            rule.code,
            render(rule.reason, values),
            f"v{village.code}:{self.spec.code}:{digest}"[:80],
            village.id,
            village.code,
            None,
            (self.factor(rule, data, values, None),),
        )
