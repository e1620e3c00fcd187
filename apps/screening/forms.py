"""Forms of the warning pages: small, one task each, for a phone.

They check what a field can check, so the message stands at the field; the rules stay
in the services (apps/screening/services).
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import strip_controls, wrap_validator
from apps.core.identity import validate_id_number, validate_mobile
from apps.declarations.models import Difficulty
from apps.regions.models import Region

from .models import VerifyMethod
from .services import Applicant, Outcome


class PlainTextField(forms.CharField):
    """Free text without control characters or direction overrides, trimmed."""

    def to_python(self, value):
        return strip_controls(super().to_python(value)).strip()


OUTCOMES = [
    (Outcome.NO_RISK, _("No risk")),
    (Outcome.RISK, _("Risk: convert into a declaration")),
    (Outcome.REFER, _("Refer to civil affairs")),
]


class VerifyForm(forms.Form):
    """村级研判、线上问询、入户排查, and the outcome. For a risk, what the declaration
    needs beyond what the department's data gave: for a village-wide disaster warning
    also whose household it is."""

    method = forms.ChoiceField(
        label=_("How it was verified"), choices=VerifyMethod.choices, widget=forms.RadioSelect
    )
    outcome = forms.ChoiceField(
        label=_("Outcome of the verification"), choices=OUTCOMES, widget=forms.RadioSelect
    )
    reason = PlainTextField(
        label=_("Finding"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you found; for “no risk”, why there is none."),
    )
    name = PlainTextField(
        label=_("Name of the household's applicant"), max_length=30, required=False
    )
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=24,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    phone = forms.CharField(
        label=_("Applicant's mobile phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    difficulties = forms.MultipleChoiceField(
        label=_("Kind of difficulty"),
        choices=Difficulty.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    address_group = PlainTextField(label=_("Village group"), max_length=30, required=False)

    # Asked only when the outcome is a risk (and the name and ID only village-wide).
    RISK_FIELDS = ("phone", "difficulties", "address_group")
    PERSON_FIELDS = ("name", "id_number")

    def __init__(self, *args, village_wide: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.village_wide = village_wide
        if not village_wide:
            for name in self.PERSON_FIELDS:
                del self.fields[name]

    def clean(self):
        data = super().clean()
        if data.get("outcome") != Outcome.RISK:
            return data
        required = self.RISK_FIELDS + (self.PERSON_FIELDS if self.village_wide else ())
        for name in required:
            if not data.get(name) and name not in self.errors:
                self.add_error(name, _("Needed to open the declaration."))
        if data.get("phone"):
            try:
                data["phone"] = wrap_validator(validate_mobile, data["phone"])
            except forms.ValidationError as exc:
                self.add_error("phone", exc)
        if data.get("id_number"):
            try:
                data["id_number"] = wrap_validator(validate_id_number, data["id_number"])
            except forms.ValidationError as exc:
                self.add_error("id_number", exc)
        return data

    def applicant(self) -> Applicant | None:
        d = self.cleaned_data
        if d["outcome"] != Outcome.RISK:
            return None
        return Applicant(
            phone=d["phone"],
            difficulties=list(d["difficulties"]),
            address_group=d["address_group"],
            name=d.get("name", ""),
            id_number=d.get("id_number", ""),
        )


class Destination:
    CIVIL_AFFAIRS = "civil_affairs"
    MONITORING = "monitoring"
    BOTH = "both"


class RouteForm(forms.Form):
    destination = forms.ChoiceField(
        label=_("Route the case to"),
        choices=[
            (Destination.CIVIL_AFFAIRS, _("civil-affairs assistance")),
            (Destination.MONITORING, _("poverty-return monitoring")),
            (Destination.BOTH, _("both")),
        ],
        widget=forms.RadioSelect,
    )
    note = PlainTextField(
        label=_("Note"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    @property
    def to_civil_affairs(self) -> bool:
        return self.cleaned_data["destination"] in (Destination.CIVIL_AFFAIRS, Destination.BOTH)

    @property
    def to_monitoring(self) -> bool:
        return self.cleaned_data["destination"] in (Destination.MONITORING, Destination.BOTH)


class ExportForm(forms.Form):
    county = forms.ModelChoiceField(label=_("County"), queryset=Region.objects.none())

    def __init__(self, *args, counties=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].queryset = counties
