"""Feed definitions as data: parsing a definition's choices and templates, checking a
definition (the admin and the loader give the same messages), and the JSON format a
definition is written in (`definition_save`, `manage.py load_feed_definitions`):

    {"code": "medical", "name": "医疗费用", "department_kind": "医保",
     "description": "…", "subject": "person" | "region", "active": true,
     "effect": "warning" | "assistance_roll" | "life_event" | "property_check",
     "fields": [{"key": "id_number", "label": "身份证号", "aliases": ["身份证号码"],
                 "type": "id_number", "required": true, "max_length": 0,
                 "choices": "1|一级|1级\\n2|二级", "not_above": "", "roster_value": ""}, …],
     "rules": [{"code": "medical_cost", "kind": "threshold", "field": "out_of_pocket",
                "default": "10000", "values": "", "household": "any",
                "reason": "{date}个人自付{out_of_pocket:,.0f}元", "factor": "medical",
                "weight": 30, "basis": "burden", "shares": "", "factor_reason": ""}, …]}

`builtin.json` holds the five feeds the system started with (the data migration
loads it)."""

import json
import string
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from apps.core.identity import fold

BUILTIN = Path(__file__).with_name("builtin.json")
# The other department feeds the system ships with (a data migration loads it).
SHIPPED = Path(__file__).with_name("shipped.json")
KEY_TYPES = {"person": "id_number", "region": "region"}


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    words: tuple[str, ...]  # every spelling a cell may use, normalised

    @property
    def stored(self):
        """A choice written as a whole number is stored as a number."""
        return int(self.value) if self.value.isascii() and self.value.isdigit() else self.value


def normalise(word) -> str:
    return fold(str(word)).strip().upper()


def parse_choices(text: str) -> list[Choice]:
    """One choice a line: value|label|other words. Raises ValueError."""
    found = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|") if p.strip()]
        if not parts:
            continue
        value, label = parts[0], parts[1] if len(parts) > 1 else parts[0]
        found.append(Choice(value, label, tuple(dict.fromkeys(normalise(p) for p in parts))))
    if not found:
        raise ValueError
    return found


def split_list(text: str) -> list[str]:
    return [w.strip() for w in (text or "").replace("，", ",").split(",") if w.strip()]


def template_keys(template: str) -> list[str]:
    """The field keys a reason template uses; ValueError if it is not a plain template
    of names (no attributes, no indexes, no conversions)."""
    keys = []
    for _text, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or conversion or "{" in (spec or ""):
            raise ValueError
        keys.append(name)
    return keys


def render(template: str, values: dict) -> str:
    """A reason from its template; a value its format spec does not fit is shown as is."""
    out = []
    for text, name, spec, _conversion in string.Formatter().parse(template):
        out.append(text)
        if name is None:
            continue
        value = values.get(name)
        try:
            out.append(format(value, spec or ""))
        except (TypeError, ValueError):
            out.append("" if value is None else str(value))
    return "".join(out)


def parse_shares(text: str) -> dict[str, float]:
    shares = {}
    for item in split_list(text):
        value, _sep, share = item.partition(":")
        shares[value.strip()] = float(share)
        if not 0 <= shares[value.strip()] <= 1:
            raise ValueError
    return shares


# --- checking a definition ------------------------------------------------------------


def field_errors(subject: str, fields: list[dict]) -> list[tuple[int | None, str, str]]:
    """What is wrong with a definition's fields: (index or None, field name, message)."""
    errors: list[tuple[int | None, str, str]] = []
    by_key: dict[str, dict] = {}
    for i, f in enumerate(fields):
        if f["key"] in by_key:
            errors.append((i, "key", _("Two fields have the key “%(key)s”.") % {"key": f["key"]}))
        by_key[f["key"]] = f
        if f["type"] == "choice":
            try:
                parse_choices(f.get("choices", ""))
            except ValueError:
                errors.append((i, "choices", _("A choice field needs its choices, one a line.")))
        elif f.get("choices"):
            errors.append((i, "choices", _("Only a choice field has choices.")))
    for i, f in enumerate(fields):
        other = f.get("not_above") or ""
        if other and (f["type"] != "money" or by_key.get(other, {}).get("type") != "money"):
            errors.append(
                (i, "not_above", _("An amount can only be compared with another amount field."))
            )
    for type_ in ("id_number", "region", "name"):
        if sum(1 for f in fields if f["type"] == type_) > 1:
            errors.append(
                (
                    None,
                    "type",
                    _(
                        "A definition has at most one field of each of the types ID number, region code and name."
                    ),
                )
            )
            break
    key_type = KEY_TYPES.get(subject)
    if key_type and not any(f["type"] == key_type and f.get("required", True) for f in fields):
        errors.append(
            (
                None,
                "type",
                _("A feed about a person needs a required ID number field.")
                if subject == "person"
                else _("A feed about a region needs a required region code field."),
            )
        )
    return errors


def rule_errors(subject: str, rule: dict, fields: dict[str, dict]) -> list[tuple[str, str]]:
    """What is wrong with one rule, given the definition's fields by key."""
    errors = []
    kind, key = rule["kind"], rule.get("field") or ""
    field = fields.get(key)
    if key and field is None:
        errors.append(("field", _("The definition has no field “%(key)s”.") % {"key": key}))
    if kind in ("threshold", "income_share"):
        if field is None or field["type"] not in ("money", "integer"):
            errors.append(("field", _("This rule compares an amount or number field.")))
        if rule.get("default") in (None, ""):
            errors.append(("default_value", _("Give the province default.")))
    if kind == "income_share" and subject != "person":
        errors.append(("kind", _("A share of the household's income needs a feed about a person.")))
    if kind == "category" or (kind == "new" and rule.get("values")):
        if field is None or field["type"] != "choice":
            errors.append(("field", _("A list of values needs a choice field.")))
        elif not split_list(rule.get("values", "")):
            errors.append(("values", _("List the values, separated by commas.")))
        else:
            known = {c.value for c in parse_choices(field.get("choices", ""))}
            unknown = [v for v in split_list(rule["values"]) if v not in known]
            if unknown:
                errors.append(
                    (
                        "values",
                        _("Not a value of the field: %(values)s.") % {"values": "、".join(unknown)},
                    )
                )
    if rule.get("household", "any") != "any" and subject != "person":
        errors.append(("household", _("A household condition needs a feed about a person.")))
    for name in ("reason", "factor_reason"):
        try:
            unknown = [k for k in template_keys(rule.get(name) or "") if k not in fields]
        except ValueError:
            errors.append((name, _("Write field keys in braces, e.g. {date}.")))
            continue
        if unknown:
            errors.append((name, _("The definition has no field “%(key)s”.") % {"key": unknown[0]}))
    basis = rule.get("basis", "full")
    if basis == "burden" and (field is None or field["type"] not in ("money", "integer")):
        errors.append(("basis", _("The burden on the income needs an amount field.")))
    if basis == "category":
        if field is None or field["type"] != "choice":
            errors.append(("basis", _("A share per choice needs a choice field.")))
        try:
            if not parse_shares(rule.get("shares", "")):
                raise ValueError
        except ValueError:
            errors.append(("shares", _("Write shares between 0 and 1 as 1:1, 2:0.5.")))
    return errors


# --- the JSON format ------------------------------------------------------------------


def definition_save(data: dict, *, models=None):
    """Create or update a definition from its JSON form (by code): its fields and rules
    are replaced. `models` are (FeedDefinition, FeedField, FeedRule), historical ones
    in a migration. Raises ValidationError with the messages of the admin."""
    if models is None:
        from ...models import FeedDefinition, FeedField, FeedRule

        models = (FeedDefinition, FeedField, FeedRule)
    Definition, Field, Rule = models
    subject = data.get("subject", "person")
    fields = [{"required": True, **f} for f in data["fields"]]
    messages = [m for _i, _n, m in field_errors(subject, fields)]
    by_key = {f["key"]: f for f in fields}
    for rule in data.get("rules", []):
        messages += [m for _n, m in rule_errors(subject, rule, by_key)]
    if messages:
        raise ValidationError(messages)
    with transaction.atomic():
        definition, _created = Definition.objects.update_or_create(
            code=data["code"],
            defaults={
                "name": data["name"],
                "department_kind": data["department_kind"],
                "description": data.get("description", ""),
                "active": data.get("active", True),
                "subject": subject,
                "effect": data.get("effect", "warning"),
            },
        )
        Field.objects.filter(definition=definition).delete()
        Rule.objects.filter(definition=definition).delete()
        Field.objects.bulk_create(
            Field(
                definition=definition,
                key=f["key"],
                label=f["label"],
                aliases=",".join(f.get("aliases", [])),
                type=f["type"],
                required=f["required"],
                max_length=f.get("max_length", 0),
                choices=f.get("choices", ""),
                not_above=f.get("not_above", ""),
                roster_value=f.get("roster_value", ""),
                order=i,
            )
            for i, f in enumerate(fields)
        )
        for i, r in enumerate(data.get("rules", [])):
            default = r.get("default")
            Rule.objects.create(
                definition=definition,
                code=r["code"],
                kind=r["kind"],
                field=r.get("field", ""),
                default_value=Decimal(str(default)) if default not in (None, "") else None,
                values=r.get("values", ""),
                household=r.get("household", "any"),
                reason=r["reason"],
                factor=r["factor"],
                weight=r.get("weight", 10),
                basis=r.get("basis", "full"),
                shares=r.get("shares", ""),
                factor_reason=r.get("factor_reason", ""),
                order=i,
            )
    return definition


def definitions_load(path, *, models=None) -> list:
    """Every definition of a JSON file (one definition or a list of them)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [definition_save(d, models=models) for d in (data if isinstance(data, list) else [data])]


def decimal_or_none(text) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


def county_lines_set(code: str, county, year: int, **by_kind) -> None:
    """Set a county's lines of a definition for a year, by rule kind: e.g.
    county_lines_set("medical", county, 2026, threshold=15000, income_share="0.5")."""
    from ...models import FeedRule, FeedThreshold

    for rule in FeedRule.objects.filter(definition__code=code, kind__in=list(by_kind)):
        FeedThreshold.objects.update_or_create(
            rule=rule,
            county=county,
            year=year,
            defaults={"value": Decimal(str(by_kind[rule.kind]))},
        )


def builtin_ensure() -> None:
    """Load the original and the shipped definitions where they are missing (after a
    database flush, e.g. between transactional tests; the migrations load them
    otherwise)."""
    from ...models import FeedDefinition

    data = [d for path in (BUILTIN, SHIPPED) for d in json.loads(path.read_text(encoding="utf-8"))]
    present = set(FeedDefinition.objects.values_list("code", flat=True))
    for definition in data:
        if definition["code"] not in present:
            definition_save(definition)
