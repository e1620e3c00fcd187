"""The village's resolve form and the province's or city's form opening a round."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.forms import DATE_WIDGET, strip_controls

from .models import ItemStatus, Rule


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            (ItemStatus.CORRECTED, _("Corrected: the data was wrong and is now right")),
            (ItemStatus.CONFIRMED, _("Confirmed: the data is right as it is")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("What was corrected, or why the data is right"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say what was corrected, or why the data is right.")},
    )

    def clean_note(self):
        note = strip_controls(self.cleaned_data["note"]).strip()
        if not note:
            raise forms.ValidationError(_("Say what was corrected, or why the data is right."))
        return note


class RoundForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    region = forms.ModelChoiceField(label=_("Region"), queryset=None, empty_label=None)
    rules = forms.MultipleChoiceField(
        label=_("Rules"),
        choices=Rule.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one rule.")},
    )
    deadline = forms.DateField(label=_("Deadline"), widget=DATE_WIDGET)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions

    def clean_title(self):
        return strip_controls(self.cleaned_data["title"]).strip()

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline <= timezone.localdate():
            raise forms.ValidationError(_("The deadline must be after today."))
        return deadline
