import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from apps.core.identity import mobile_hash

from .models import Declaration, State
from .services import enrol_due_date, verify_due_date


@dataclass(frozen=True)
class PublicStatus:
    """What an applicant may learn of their case: stage and dates, nothing personal."""

    tracking_number: str
    state: str
    state_label: str
    village_name: str
    submitted_at: dt.datetime
    verify_due: dt.date
    enrol_due: dt.date
    history: list[tuple[dt.datetime, str]]


def declaration_public_status(*, tracking_number: str, phone: str) -> PublicStatus | None:
    phone_key = mobile_hash(phone)
    declaration = (
        Declaration.objects.filter(tracking_number=tracking_number)
        .filter(Q(phone_hash=phone_key) | Q(declarant_phone_hash=phone_key))
        .select_related("village")
        .first()
    )
    if declaration is None:
        return None
    history = [(entry.at, entry.state_label) for entry in declaration_timeline(declaration)]
    return PublicStatus(
        tracking_number=declaration.tracking_number_display,
        state=declaration.state,
        state_label=declaration.get_state_display(),
        village_name=declaration.village.name,
        submitted_at=timezone.localtime(declaration.submitted_at),
        verify_due=verify_due_date(declaration),
        enrol_due=enrol_due_date(declaration),
        history=history,
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    state: str
    state_label: str
    actor: object  # a User, or None for the applicant or the system
    actor_label: str
    reason: str


def declaration_timeline(declaration: Declaration) -> list[TimelineEntry]:
    """The case's whole history: its submission, then every state change."""
    labels = dict(State.choices)
    entries = [
        TimelineEntry(
            at=declaration.submitted_at,
            state=State.SUBMITTED,
            state_label=str(labels[State.SUBMITTED]),
            actor=declaration.created_by,
            actor_label="" if declaration.created_by_id else declaration.get_channel_display(),
            reason="",
        )
    ]
    for t in declaration.transitions.select_related("actor").order_by("at", "pk"):
        entries.append(
            TimelineEntry(
                at=t.at,
                state=t.to_state,
                state_label=str(labels.get(t.to_state, t.to_state)),
                actor=t.actor,
                actor_label=t.actor_label,
                reason=t.reason,
            )
        )
    return entries


def declarations_visible_to(user):
    return Declaration.objects.visible_to(user).select_related("village")
