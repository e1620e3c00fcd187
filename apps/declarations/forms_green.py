"""Forms of the green channel (绿色通道) on the case page: open it, record help given."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.households.forms import DayField, EvidenceField, HelpFieldsForm, PlainTextField, textarea

from .models import GreenCause


class GreenChannelForm(forms.Form):
    cause = forms.ChoiceField(
        label=_("Cause"), choices=GreenCause.choices, widget=forms.RadioSelect
    )
    reason = PlainTextField(
        label=_("Why the hardship is plain and urgent"), max_length=1000, widget=textarea(3)
    )
    evidence = EvidenceField()


class GreenHelpForm(HelpFieldsForm):
    delivered_on = DayField(label=_("Given on"), past=True)

    field_order = ["policy", "kind", "title", "responsible", "delivered_on", "amount"]
