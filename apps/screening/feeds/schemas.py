"""A feed definition read once for an import (`Spec`): its columns (the file's headers
and the API's JSON keys), the words of its choices, its rules and the counties' lines."""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from apps.core import tabular
from apps.core.tabular import Column

from ..models import FeedDefinition, FeedField, FeedRule, FeedThreshold, FieldType
from .definitions import Choice, normalise, parse_choices, parse_shares, split_list

NAME_MAX = 30  # a person's name, when the definition sets no length


@dataclass
class Spec:
    definition: FeedDefinition
    fields: list[FeedField]
    rules: list[FeedRule]
    choices: dict[str, list[Choice]] = field(default_factory=dict)

    def __post_init__(self):
        self.choices = {
            f.key: parse_choices(f.choices) for f in self.fields if f.type == FieldType.CHOICE
        }
        self.words = {
            key: {w: c for c in choices for w in c.words} for key, choices in self.choices.items()
        }
        self.labels = {
            key: {str(c.value): c.label for c in choices} for key, choices in self.choices.items()
        }
        self.rule_values = {r.pk: set(split_list(r.values)) for r in self.rules}
        self.rule_shares = {r.pk: parse_shares(r.shares) for r in self.rules if r.shares}

    @property
    def code(self) -> str:
        return self.definition.code

    def key_of(self, type_: str) -> str | None:
        return next((f.key for f in self.fields if f.type == type_), None)

    @property
    def date_key(self) -> str | None:
        """The record's date (the year of a county's line): the first date field."""
        return self.key_of(FieldType.DATE)

    @cached_property
    def _columns(self) -> tuple[Column, ...]:
        return tuple(
            Column(
                f.key,
                f.label,
                tuple(a.strip() for a in f.aliases.replace("，", ",").split(",") if a.strip()),
                f.required,
                f.max_length or (NAME_MAX if f.type == FieldType.NAME else 0),
            )
            for f in self.fields
        )

    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def choice(self, key: str, text) -> Choice | None:
        return self.words[key].get(normalise(text))

    def display(self, data: dict) -> dict:
        """The record's values for a reason template: amounts as numbers, choices by
        their label."""
        values = {}
        for f in self.fields:
            value = data.get(f.key)
            if value is None:
                values[f.key] = ""
            elif f.type == FieldType.MONEY:
                values[f.key] = Decimal(str(value))
            elif f.type == FieldType.CHOICE:
                values[f.key] = self.labels[f.key].get(str(value), str(value))
            else:
                values[f.key] = value
        return values

    def lines(self, prefix: str) -> dict[tuple[int, str, int], Decimal]:
        """The counties' lines of the rules, in the region: (rule, county code, year)."""
        return {
            (rule_id, code, year): value
            for rule_id, code, year, value in FeedThreshold.objects.filter(
                rule__definition=self.definition, county__code__startswith=prefix[:6]
            ).values_list("rule_id", "county__code", "year", "value")
        }


def spec_of(definition: FeedDefinition) -> Spec:
    return Spec(definition, list(definition.fields.all()), list(definition.rules.all()))


def feed_upload_inspect(upload, definition: FeedDefinition) -> tabular.InspectedUpload:
    from .batches import FeedImporter

    return tabular.upload_inspect(
        upload, columns=spec_of(definition).columns(), max_bytes=FeedImporter.max_bytes()
    )
