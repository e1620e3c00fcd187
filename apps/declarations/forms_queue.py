"""The queue's filters and its batch approval."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.households.models import Difficulty
from apps.regions.models import Region

from .models import Channel, Declaration, State
from .selectors import DaysLeft
from .services import BATCH_MAX


def _choices(all_label, choices):
    return [("", all_label), *choices]


class QueueFilterForm(forms.Form):
    """Read from the query string. A value that is not one of the choices (a village
    outside the user's regions, a made-up stage) is an error at its field and the filter
    is left out; the list is scoped by `visible_to` whatever the form says."""

    q = forms.CharField(
        label=_("Tracking number, name, ID number or phone"), max_length=30, required=False
    )
    village = forms.ModelChoiceField(
        label=_("Village"),
        queryset=Region.objects.none(),
        to_field_name="code",
        required=False,
        empty_label=_("all villages"),
    )
    stage = forms.ChoiceField(
        label=_("Stage"), choices=_choices(_("all open cases"), State.choices), required=False
    )
    days_left = forms.ChoiceField(
        label=_("Time left"), choices=_choices(_("any"), DaysLeft.choices), required=False
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=_choices(_("all channels"), Channel.choices), required=False
    )
    difficulty = forms.ChoiceField(
        label=_("Kind of difficulty"),
        choices=_choices(_("all kinds"), Difficulty.choices),
        required=False,
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = (
            Region.objects.visible_to(user).villages().order_by("code")
        )

    def filters(self) -> dict:
        """The valid filters (call after is_valid()), the stage apart."""
        data = getattr(self, "cleaned_data", {})
        return {
            "village": data.get("village"),
            "difficulty": data.get("difficulty", ""),
            "channel": data.get("channel", ""),
            "days_left": data.get("days_left", ""),
            "q": data.get("q", ""),
        }


class BatchApproveForm(forms.Form):
    """The cases ticked in the queue, by tracking number, among those the user sees."""

    cases = forms.ModelMultipleChoiceField(
        queryset=Declaration.objects.none(),
        to_field_name="tracking_number",
        error_messages={"required": _("Select the cases to approve.")},
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cases"].queryset = Declaration.objects.visible_to(user).select_related(
            "village"
        )

    def clean_cases(self):
        cases = self.cleaned_data["cases"]
        if len(cases) > BATCH_MAX:
            raise forms.ValidationError(
                _("Select at most %(max)d cases at a time."), params={"max": BATCH_MAX}
            )
        return list(cases.order_by("submitted_at", "pk"))
