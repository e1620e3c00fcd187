"""What every household service shares: clocks filed under the household's things,
and the checks of typed text."""

from django.utils.translation import gettext as _

from apps.core.errors import InvalidInput
from apps.core.forms import strip_controls

# Clock subject types of this app (the clock table serves every kind of case).
PLAN_SUBJECT = "help_plan"
FOLLOW_UP_SUBJECT = "follow_up"
LOOK_BACK_SUBJECT = "look_back"
# The household itself: its hand-over to the national system (录入国家系统).
NATIONAL_SUBJECT = "household"

REASON_MAX = 500


def clean_text(value: str, *, label: str, max_length: int, required: bool = True) -> str:
    """Typed text, trimmed and without control characters, checked for presence and
    length; the refusal names the field."""
    value = strip_controls(value or "").strip()
    if required and not value:
        raise InvalidInput(_("Fill in %(label)s.") % {"label": label})
    if len(value) > max_length:
        raise InvalidInput(
            _("%(label)s is too long (at most %(max)d characters).")
            % {"label": label, "max": max_length}
        )
    return value


def clean_reason(reason: str) -> str:
    return clean_text(reason, label=_("the reason"), max_length=REASON_MAX)
