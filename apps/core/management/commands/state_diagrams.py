"""The state diagrams of declarations, households, help plans, risk eliminations and
warnings, generated from their django-fsm-2 state machines: every transition the FSM
allows, labelled with its method, states shown by their (Chinese) labels, and who may
make each transition, read from its declared permission (roles over the row's region).

`manage.py state_diagrams` prints docs/state-diagrams.md; `--write` regenerates it and
`--check` fails when it no longer matches the code (tests/test_state_diagram.py runs it).
"""

import inspect
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django_fsm import ANY_OTHER_STATE, ANY_STATE

DOC_PATH = Path(settings.BASE_DIR) / "docs" / "state-diagrams.md"
COMMAND = "python manage.py state_diagrams --write"
# (app label, model, field, title, where the services are)
MACHINES = [
    (
        "declarations",
        "Declaration",
        "state",
        "Declaration (申报)",
        "apps/declarations/services/",
    ),
    (
        "households",
        "MonitoredHousehold",
        "status",
        "Monitored household",
        "apps/households/services/",
    ),
    (
        "households",
        "HelpPlan",
        "state",
        "Help plan (一户一策)",
        "apps/households/services/plans.py",
    ),
    (
        "households",
        "EliminationProposal",
        "state",
        "Risk elimination (风险消除)",
        "apps/households/services/monitoring.py",
    ),
    (
        "screening",
        "Warning",
        "state",
        "Department warning (部门筛查预警)",
        "apps/screening/services/",
    ),
]


def edges(model, field_name: str) -> list[tuple[str, str, str]]:
    """Every (source, target, transition) the FSM allows, in the order of the states."""
    field = model._meta.get_field(field_name)
    values = [value for value, _label in field.choices]
    order = {value: i for i, value in enumerate(values)}
    found = set()
    for transition in field.get_all_transitions(model):
        sources = (
            values if transition.source in (ANY_STATE, ANY_OTHER_STATE) else [transition.source]
        )
        targets = getattr(transition.target, "allowed_states", None) or [transition.target]
        for source in sources:
            for target in targets:
                target = source if target is None else target
                if transition.source == ANY_OTHER_STATE and source == target:
                    continue
                found.add((str(source), str(target), transition.name))
    return sorted(found, key=lambda e: (order[e[0]], order[e[1]], e[2]))


def mermaid(model, field_name: str) -> str:
    field = model._meta.get_field(field_name)
    labels = {value: str(label) for value, label in field.choices}
    found = edges(model, field_name)
    has_exit = {source for source, _target, _name in found}
    lines = ["stateDiagram-v2"]
    lines += [f'    state "{labels[value]}" as {value}' for value in labels]
    lines.append(f"    [*] --> {field.get_default()}")
    lines += [f"    {s} --> {t}: {name}" for s, t, name in found]
    lines += [f"    {value} --> [*]" for value in labels if value not in has_exit]
    return "\n".join(lines) + "\n"


def transitions_table(model, field_name: str) -> list[str]:
    """A row per transition (and per permission, where it declares one for each source),
    in the order the model defines them: from, to, who, and its docstring."""
    order = [value for value, _label in model._meta.get_field(field_name).choices]
    rows: dict[tuple, tuple[list, list]] = {}
    for source, target, name in edges(model, field_name):
        permission = getattr(model, name)._django_fsm.get_transition(source).permission
        sources, targets = rows.setdefault((name, permission), ([], []))
        sources += [source] if source not in sources else []
        targets += [target] if target not in targets else []
    method = {name: inspect.unwrap(getattr(model, name)) for name, _permission in rows}
    lines = ["| Transition | From | To | Who | |", "| --- | --- | --- | --- | --- |"]
    for (name, permission), (sources, targets) in sorted(
        rows.items(), key=lambda row: method[row[0][0]].__code__.co_firstlineno
    ):
        who = "、".join(
            f"{label} (`{value}`)" for value, label in getattr(permission, "choices", [])
        )
        lines.append(
            f"| `{name}` | {', '.join(f'`{s}`' for s in sources)} "
            f"| {', '.join(f'`{t}`' for t in sorted(targets, key=order.index))} "
            f"| {who or '—'} | {' '.join((method[name].__doc__ or '').split())} |"
        )
    return lines


def render_document() -> str:
    with translation.override(settings.LANGUAGE_CODE):
        if settings.LANGUAGE_CODE != "en" and translation.gettext("state") == "state":
            raise CommandError("The translations are not compiled: run `compiletranslations`.")
        return _render()


def _render() -> str:
    lines = [
        "# State diagrams",
        "",
        "<!-- Generated by `" + COMMAND + "`. Do not edit by hand. -->",
        "",
        "Generated from the state machines by `" + COMMAND + "`;",
        "`tests/test_state_diagram.py` fails when this file no longer matches the code.",
        "Each edge is labelled with the model's transition method; only the services call",
        "them. *Who* is the transition's permission, declared on it: a role over the row's",
        "region. The services check it, the pages offer the transition to those who hold it;",
        "— marks a transition made inside another one's service.",
    ]
    for app_label, model_name, field_name, title, services in MACHINES:
        model = apps.get_model(app_label, model_name)
        lines += [
            "",
            f"## {title}",
            "",
            f"`{model_name}.{field_name}`, changed by the services in `{services}`.",
            "",
            "```mermaid",
            mermaid(model, field_name).rstrip("\n"),
            "```",
            "",
            *transitions_table(model, field_name),
        ]
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print, write or check docs/state-diagrams.md, generated from the state machines."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--write", action="store_true")
        group.add_argument("--check", action="store_true")

    def handle(self, *args, write=False, check=False, **options):
        if write:
            DOC_PATH.write_text(render_document(), encoding="utf-8")
            self.stdout.write(f"wrote {DOC_PATH.relative_to(settings.BASE_DIR)}")
        elif check:
            current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
            if current != render_document():
                raise CommandError(f"docs/{DOC_PATH.name} is out of date: run `{COMMAND}`.")
            self.stdout.write(f"docs/{DOC_PATH.name} is up to date")
        else:
            self.stdout.write(render_document(), ending="")
