"""Mermaid state diagrams read from a model's django-fsm-2 field: every transition the
FSM allows, labelled with its method, states shown by their (Chinese) labels."""

from django.conf import settings
from django.utils import translation
from django_fsm import ANY_OTHER_STATE, ANY_STATE


def edges(model, field_name: str) -> list[tuple[str, str, str]]:
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
    with translation.override(settings.LANGUAGE_CODE):
        labels = {value: str(label) for value, label in field.choices}
    found = edges(model, field_name)
    has_exit = {source for source, _target, _name in found}
    lines = ["stateDiagram-v2"]
    lines += [f'    state "{labels[value]}" as {value}' for value in labels]
    lines.append(f"    [*] --> {field.get_default()}")
    lines += [f"    {s} --> {t}: {name}" for s, t, name in found]
    lines += [f"    {value} --> [*]" for value in labels if value not in has_exit]
    return "\n".join(lines) + "\n"
