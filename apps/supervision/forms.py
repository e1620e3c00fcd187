from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import Period

DATE = forms.DateInput(attrs={"type": "date"})


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=DATE, required=False)
    end = forms.DateField(label=_("To"), widget=DATE, required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end is before the start."))
        if start and end and (end - start).days > 3660:
            self.add_error("start", _("At most ten years at a time."))
        return data

    def period(self) -> Period:
        default = Period.this_year()
        if not self.is_valid():
            return default
        return Period(
            self.cleaned_data.get("start") or default.start,
            self.cleaned_data.get("end") or default.end,
        )


def parse_period(params) -> tuple[PeriodForm, Period]:
    form = PeriodForm(params or None)
    return form, form.period()


class AcknowledgeForm(forms.Form):
    """Acknowledging an alert: what was done about it, or why it needs nothing."""

    note = forms.CharField(
        label=_("Note"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What was checked or done, or why nothing needs doing."),
        error_messages={"required": _("Please write what was checked or done.")},
    )
