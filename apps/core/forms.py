"""Form pieces every app's pages share."""

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .identity import validate_id_number, validate_mobile

# Control characters other than newline and tab, and the bidirectional overrides that
# can disguise text, have no place in anything a person types here.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

# Amounts of money in yuan, as every form takes them.
MONEY = {
    "min_value": Decimal(0),
    "max_value": Decimal(100_000_000),
    "decimal_places": 2,
    "max_digits": 12,
}

# An HTML date input takes ISO dates only, whatever the language's date format.
DATE_WIDGET = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


def strip_controls(value: str) -> str:
    return CONTROL_RE.sub("", value)


def wrap_validator(validator, value):
    """Run an identity validator and give back a form error at the field."""
    try:
        return validator(value)
    except ValidationError as exc:
        raise forms.ValidationError(exc.messages, code=exc.code) from None


class SuccessorContactMixin:
    """A form's optional `id_number` and `phone` of the person who takes over (a new
    applicant or head): checked only when given."""

    def clean_id_number(self):
        value = self.cleaned_data["id_number"].strip()
        return wrap_validator(validate_id_number, value) if value else ""

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        return wrap_validator(validate_mobile, value) if value else ""


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_reason(self):
        return strip_controls(self.cleaned_data["reason"]).strip()
