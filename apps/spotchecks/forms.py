from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.forms import DATE_WIDGET, strip_controls

from .models import Method, Outcome, Resolution
from .services import REASON_MAX, previous_round, round_of

MONTH_WIDGET = forms.TextInput(attrs={"type": "month", "placeholder": "2026-11"})


class MonthField(forms.RegexField):
    def __init__(self, **kwargs):
        super().__init__(
            regex=r"^\d{4}-(0[1-9]|1[0-2])$",
            error_messages={"invalid": _("Give the month as year and month, e.g. 2026-11.")},
            widget=MONTH_WIDGET,
            **kwargs,
        )


class DrawForm(forms.Form):
    region = forms.ModelChoiceField(label=_("Region"), queryset=None, empty_label=None)
    month = MonthField(label=_("Month of the decisions"))

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        self.fields["month"].initial = previous_round(timezone.localdate())

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month >= round_of(timezone.localdate()):
            raise forms.ValidationError(_("Only a month that has ended can be drawn."))
        return month


class PeriodForm(forms.Form):
    first = MonthField(label=_("From month"))
    last = MonthField(label=_("To month"))

    def clean(self):
        data = super().clean()
        if data.get("first") and data.get("last") and data["first"] > data["last"]:
            raise forms.ValidationError(_("The first month must not come after the last."))
        return data


class ReasonField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", REASON_MAX)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        super().__init__(**kwargs)

    def clean(self, value):
        return strip_controls(super().clean(value) or "").strip()


class AssignForm(forms.Form):
    checker = forms.ModelChoiceField(label=_("Checker"), queryset=None)

    def __init__(self, *args, checkers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checker"].queryset = checkers
        self.fields["checker"].label_from_instance = lambda u: u.get_full_name() or u.username


class RecordForm(forms.Form):
    method = forms.ChoiceField(label=_("Checked"), choices=Method.choices, widget=forms.RadioSelect)
    checked_on = forms.DateField(label=_("Checked on"), widget=DATE_WIDGET)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    reason = ReasonField(label=_("Reason"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("outcome") == Outcome.DISAGREE and not data.get("reason"):
            self.add_error("reason", _("Give the reason for disagreeing."))
        return data


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Answer"), choices=(), widget=forms.RadioSelect)
    reason = ReasonField(label=_("Reason"))

    def __init__(self, *args, allowed, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resolution"].choices = [
            (value, label) for value, label in Resolution.choices if value in allowed
        ]
