"""Signals for higher apps, which this one may not import."""

from django.dispatch import Signal

# A household moved to another village (services.life_events.case_move), inside its
# transaction: `declaration` (its open case, or None), `household` (its monitored
# household, or None) and `village`, the new one. Receivers give what they keep of the
# household the new village's code.
case_moved = Signal()
