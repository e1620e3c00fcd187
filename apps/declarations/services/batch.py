"""Batches: several cases at once, each through the same service as one case, all or
nothing (batch approval in the township's queue and in the county's admin)."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Declaration, Transition
from .errors import ActionRefused, InvalidInput
from .review import declaration_county_approve, declaration_township_approve


class BatchRefused(ActionRefused):
    """Some cases of a batch could not be done, so none was. `refusals`: (case, the
    refusal) for each case refused, in the order given."""

    default_message = gettext_lazy("Nothing was done: some of the selected cases are not ready.")

    def __init__(self, refusals: list[tuple[Declaration, ActionRefused]]):
        self.refusals = refusals
        super().__init__()


BATCH_MAX = 100


def _batch(action, *, declarations, actor) -> list[Transition]:
    """Do `action` to every case, each through the same service as a single case, all
    or nothing: one transaction, every case tried (each in a savepoint, so that the
    refusal of one does not hide the reasons of the others), and if any is refused, none
    is done."""
    if len(declarations) > BATCH_MAX:
        raise InvalidInput(_("Select at most %(max)d cases at a time.") % {"max": BATCH_MAX})
    done, refusals = [], []
    with transaction.atomic():
        for declaration in declarations:
            try:
                with transaction.atomic():
                    done.append(action(declaration=declaration, actor=actor))
            except ActionRefused as exc:
                refusals.append((declaration, exc))
        if refusals:
            raise BatchRefused(refusals)
    return done


def declarations_township_approve_batch(*, declarations, actor) -> list[Transition]:
    """复核 of several complete cases at once: each must pass `declaration_township_approve`."""
    return _batch(declaration_township_approve, declarations=declarations, actor=actor)


def declarations_county_approve_batch(*, declarations, actor) -> list[Transition]:
    """审批 of several cases at once: each must pass `declaration_county_approve`."""
    return _batch(declaration_county_approve, declarations=declarations, actor=actor)
