"""The declaration state diagram, generated from the state machine itself.

`manage.py state_diagram` prints a Mermaid `stateDiagram-v2` read from the FSM on
`Declaration.state` (django-fsm-2's `get_all_transitions`, with RETURN_VALUE targets
expanded to their allowed states); `--write` regenerates docs/state-diagram.md and
`--check` fails when that file no longer matches the code. tests/test_state_diagram.py
keeps the file, the FSM, the services and the review tests in agreement.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django_fsm import ANY_OTHER_STATE, ANY_STATE

from apps.regions.models import Role

from ...models import Declaration, State
from ...services import appeals, review

DOC_PATH = Path(settings.BASE_DIR) / "docs" / "state-diagram.md"
COMMAND = "python manage.py state_diagram --write"


@dataclass(frozen=True)
class Actor:
    """Who may make a transition, and the service function that makes it."""

    service: Any
    roles: frozenset
    note: str = ""


# The services are the only callers of the transitions (see the model); each checks
# these roles over the case's region. A test checks that every transition has an entry
# and that the service named here really calls it.
ACTORS: dict[str, Actor] = {
    "accept": Actor(review.declaration_accept, review.VILLAGE_ROLES),
    "verify": Actor(
        review.declaration_record_visit, review.VILLAGE_ROLES, "on recording the first home visit"
    ),
    "start_notice": Actor(
        review.declaration_record_evaluation,
        review.VILLAGE_ROLES,
        "on recording the village evaluation",
    ),
    "pass_to_township": Actor(
        review.declaration_pass_to_township,
        review.VILLAGE_ROLES,
        "once the notice has run and the evaluation agreed",
    ),
    "village_reject": Actor(review.declaration_village_reject, review.VILLAGE_ROLES),
    "township_approve": Actor(
        review.declaration_township_approve,
        review.TOWNSHIP_ROLES,
        "once the property check is complete",
    ),
    "township_return": Actor(review.declaration_township_return, review.TOWNSHIP_ROLES),
    "township_reject": Actor(review.declaration_township_reject, review.TOWNSHIP_ROLES),
    "county_approve": Actor(
        review.declaration_county_approve, review.COUNTY_ROLES, "enrols the household"
    ),
    "county_return": Actor(review.declaration_county_return, review.COUNTY_ROLES),
    "county_reject": Actor(review.declaration_county_reject, review.COUNTY_ROLES),
    "reopen": Actor(
        appeals.appeal_decide,
        frozenset().union(*appeals.DECIDING_ROLES.values()),
        "when an appeal is decided `reopened`: by the level above the one that rejected "
        "(the county for its own rejections), not by whoever rejected; back to the stage "
        "that rejected the case",
    ),
    "withdraw": Actor(
        review.declaration_withdraw,
        review.CASEWORK_ROLES,
        "or the applicant, from the status page",
    ),
    "merge": Actor(
        review.declaration_merge,
        review.CASEWORK_ROLES,
        "into an open case of the same township",
    ),
}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    name: str


def _state_order() -> dict[str, int]:
    return {value: i for i, value in enumerate(State.values)}


def _targets(transition, source: str) -> list[str]:
    target = transition.target
    if target is None:  # a transition that validates but keeps the state
        return [source]
    allowed = getattr(target, "allowed_states", None)  # RETURN_VALUE, GET_STATE
    if allowed is not None:
        if not allowed:
            raise CommandError(
                f"{transition.name}: a computed target without allowed states cannot be drawn"
            )
        return [str(State(s).value) for s in allowed]
    return [str(State(target).value)]


def fsm_edges(model=Declaration, field_name: str = "state") -> list[Edge]:
    """Every (source, target, transition) the FSM allows, in a stable order."""
    field = model._meta.get_field(field_name)
    order = _state_order()
    edges = set()
    for transition in field.get_all_transitions(model):
        if transition.source in (ANY_STATE, ANY_OTHER_STATE):
            sources = list(State.values)
        else:
            sources = [str(State(transition.source).value)]
        for source in sources:
            for target in _targets(transition, source):
                if transition.source == ANY_OTHER_STATE and source == target:
                    continue
                edges.add(Edge(source, target, transition.name))
    return sorted(edges, key=lambda e: (order[e.source], order[e.target], e.name))


def transition_names(model=Declaration, field_name: str = "state") -> list[str]:
    """The transition methods, in the order they are defined on the model."""
    field = model._meta.get_field(field_name)
    methods = {t.name: t.method for t in field.get_all_transitions(model)}
    return sorted(methods, key=lambda n: (methods[n].__code__.co_firstlineno, n))


def _labels(choices) -> dict[str, str]:
    with translation.override(None):
        msgids = {value: str(label) for value, label in choices}
    with translation.override(settings.LANGUAGE_CODE):
        labels = {value: str(label) for value, label in choices}
    if not settings.LANGUAGE_CODE.startswith("en") and labels == msgids:
        raise CommandError(
            "The translations are not compiled: run `manage.py compiletranslations` first."
        )
    return labels


def render_diagram(edges: list[Edge] | None = None) -> str:
    edges = fsm_edges() if edges is None else edges
    labels = _labels(State.choices)
    initial = str(Declaration._meta.get_field("state").get_default())
    has_exit = {e.source for e in edges}
    lines = ["stateDiagram-v2"]
    lines += [f'    state "{labels[s]}" as {s}' for s in State.values]
    lines.append(f"    [*] --> {initial}")
    lines += [f"    {e.source} --> {e.target}: {e.name}" for e in edges]
    lines += [f"    {s} --> [*]" for s in State.values if s not in has_exit]
    return "\n".join(lines) + "\n"


def _who(name: str, role_labels: dict[str, str]) -> str:
    actor = ACTORS.get(name)
    if actor is None:
        raise CommandError(f"Transition {name!r} has no entry in ACTORS ({__name__}).")
    roles = "、".join(
        f"{role_labels[r]} (`{r}`)" for r in Role.values if r in {str(x) for x in actor.roles}
    )
    who = roles or "—"
    if actor.note:
        who += f"; {actor.note}"
    return f"{who} — `{actor.service.__name__}`"


def render_document() -> str:
    edges = fsm_edges()
    state_labels = _labels(State.choices)
    role_labels = _labels(Role.choices)
    lines = [
        "# Declaration state diagram",
        "",
        "<!-- Generated by `" + COMMAND + "`. Do not edit by hand. -->",
        "",
        "This file is generated from the state machine on `Declaration.state`",
        "(`apps/declarations/models/case.py`) by `" + COMMAND + "`;",
        "do not edit it by hand. `tests/test_state_diagram.py` fails when it no longer",
        "matches the code, and checks the transitions against the ones the review tests walk",
        "and the services call. Each edge is labelled with the model's transition method;",
        "only the services in `apps/declarations/services/` call them.",
        "",
        "```mermaid",
        render_diagram(edges).rstrip("\n"),
        "```",
        "",
        "## States",
        "",
        "| State | Shown as |",
        "| --- | --- |",
    ]
    lines += [f"| `{s}` | {state_labels[s]} |" for s in State.values]
    lines += [
        "",
        "## Transitions",
        "",
        "| Transition | From | To | Who — service |",
        "| --- | --- | --- | --- |",
    ]
    for name in transition_names():
        sources = list(dict.fromkeys(e.source for e in edges if e.name == name))
        targets = sorted(
            {e.target for e in edges if e.name == name}, key=_state_order().__getitem__
        )
        lines.append(
            f"| `{name}` | {', '.join(f'`{s}`' for s in sources)} "
            f"| {', '.join(f'`{t}`' for t in targets)} | {_who(name, role_labels)} |"
        )
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print the declaration state diagram (Mermaid), generated from the FSM."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--write", action="store_true", help=f"Regenerate {DOC_PATH.name} in docs/."
        )
        group.add_argument(
            "--check", action="store_true", help=f"Fail if docs/{DOC_PATH.name} is out of date."
        )

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
            self.stdout.write(render_diagram(), ending="")
