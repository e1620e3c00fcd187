"""The village's decision on a life event a department reported."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import ReasonForm, SuccessorContactMixin
from apps.households.forms_life import CLOSE, MemberChoiceField
from apps.households.models import HouseholdMember

CONFIRM = "confirm"
DISMISS = "dismiss"


class LifeEventDecisionForm(SuccessorContactMixin, ReasonForm):
    decision = forms.ChoiceField(
        label=_("Is it so?"),
        choices=[
            (CONFIRM, _("Confirmed: it happened")),
            (DISMISS, _("Not so: nothing changes")),
        ],
        widget=forms.RadioSelect,
    )
    new_head = MemberChoiceField(
        label=_("New head (when the head leaves)"), queryset=None, required=False
    )
    continues = forms.ChoiceField(
        label=_("Who carries the declaration on"),
        choices=[
            ("member", _("another member of the household")),
            (CLOSE, _("no member remains: close the case")),
        ],
        widget=forms.RadioSelect,
        required=False,
    )
    id_number = forms.CharField(
        label=_("ID number of the member who carries it on"), max_length=30, required=False
    )
    phone = forms.CharField(
        label=_("Their mobile phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    field_order = ["decision", "new_head", "continues", "id_number", "phone", "reason"]

    def __init__(self, *args, report, head: bool, case_death: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if head:
            self.fields["new_head"].queryset = HouseholdMember.objects.filter(
                household_id=report.household_id
            ).exclude(pk=report.member_id)
        else:
            del self.fields["new_head"]
        if not case_death:
            for name in ("continues", "id_number", "phone"):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        if data.get("decision") != CONFIRM or "continues" not in self.fields:
            return data
        if not data.get("continues") and "continues" not in self.errors:
            self.add_error("continues", _("This field is required."))
        if data.get("continues") == "member":
            for name in ("id_number", "phone"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Required when another member carries it on."))
        return data
