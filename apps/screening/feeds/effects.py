"""The dispatch point of a definition's effect: what the engine does with each chunk of
staged rows of a batch (matching.Applier calls the handler of the batch's definition).

- warning: the definition's rules raise warnings (about people, or about regions:
  every village under the code);
- assistance_roll: the civil-affairs roll, kept whole and compared with the
  declarations (services/civil.py);
- life_event, property_check: the matched people's records are kept (FeedRecord), for
  the handlers of those effects (`register`) to act on; nothing is raised by default.

A handler is `handler(applier, chunk)`: the Applier gives the chunk's people
(`applier.people(chunk)`), keeps records (`applier.keep(chunk)`) and raises hits."""

from collections.abc import Callable

from ..models import FeedEffect, FeedSubject

Handler = Callable[..., None]


def _warning(applier, chunk) -> None:
    if applier.definition.subject == FeedSubject.REGION:
        applier.warn_regions(chunk)
    else:
        applier.warn_people(chunk)


def _assistance_roll(applier, chunk) -> None:
    applier.assistance(chunk)


def _keep(applier, chunk) -> None:
    applier.keep(chunk)


HANDLERS: dict[str, Handler] = {
    FeedEffect.WARNING: _warning,
    FeedEffect.ASSISTANCE_ROLL: _assistance_roll,
    FeedEffect.LIFE_EVENT: _keep,
    FeedEffect.PROPERTY_CHECK: _keep,
}


def register(effect: str) -> Callable[[Handler], Handler]:
    """Make a function the handler of an effect (at import time, e.g. in this module)."""

    def decorate(function: Handler) -> Handler:
        HANDLERS[effect] = function
        return function

    return decorate


def handler(effect: str) -> Handler:
    return HANDLERS[effect]
