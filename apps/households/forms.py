"""Forms of the household pages: small, one task each, big fields for a phone.

They check what a field can check (required, length, dates, amounts, files) so the
message stands at the field; the rules of the policy stay in the services.
"""

import datetime as dt
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.forms import DATE_WIDGET, MONEY, ReasonForm
from apps.core.forms import strip_controls as _plain
from apps.core.forms import wrap_validator as _wrap
from apps.core.identity import validate_mobile
from apps.core.uploads import clean_upload

from .models import Category, Difficulty, LookBackOutcome, PolicyKind, Stability


def textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class DayField(forms.DateField):
    """A date on a phone's date picker, within the years the system deals with; with
    `past=True` not after today."""

    widget = DATE_WIDGET

    def __init__(self, *args, past: bool = False, **kwargs):
        self.past = past
        super().__init__(*args, **kwargs)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if not 2000 <= value.year <= 2100:
            raise ValidationError(_("The date is out of range."), code="out_of_range")
        if self.past and value > timezone.localdate():
            raise ValidationError(_("The date cannot be in the future."), code="future")


class PlainTextField(forms.CharField):
    """Free text without control characters or direction overrides, trimmed."""

    def to_python(self, value):
        return _plain(super().to_python(value)).strip()


class EvidenceField(forms.FileField):
    """An optional photo or scan, cleaned (apps.core.uploads): a `CleanedUpload`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Photo or scan (optional)"))
        kwargs.setdefault(
            "widget", forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"})
        )
        super().__init__(required=False, **kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        return clean_upload(upload) if upload else None


class ConfirmForm(forms.Form):
    """A button and nothing else."""


class HelpFieldsForm(forms.Form):
    """A measure of help: from the county's policy list, or another kind of help.
    Shared by the help plan and the green channel."""

    policy = forms.ModelChoiceField(
        label=_("Measure from the county's policy list"),
        queryset=None,
        required=False,
        empty_label=_("— another kind of help, not on the list —"),
    )
    kind = forms.ChoiceField(
        label=_("Kind of help (if not on the list)"),
        choices=[("", "—"), *PolicyKind.choices],
        required=False,
    )
    title = PlainTextField(
        label=_("Measure"),
        max_length=100,
        required=False,
        help_text=_("Leave empty to use the name on the county's list."),
    )
    responsible = PlainTextField(label=_("Responsible person"), max_length=30)
    amount = forms.DecimalField(label=_("Amount (yuan)"), required=False, **MONEY)
    details = PlainTextField(
        label=_("Details"), max_length=1000, required=False, widget=textarea(2)
    )

    def __init__(self, *args, policies=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = policies

    def clean(self):
        data = super().clean()
        if "policy" in self.errors or "kind" in self.errors:
            return data
        if data.get("policy") is None:
            if not data.get("kind"):
                self.add_error("kind", _("Choose a measure from the list or the kind of help."))
            elif not data.get("title"):
                self.add_error("title", _("Name the measure."))
        return data


class MeasureForm(HelpFieldsForm):
    start_on = DayField(label=_("Start date"), required=False)
    end_on = DayField(
        label=_("End date"),
        required=False,
        help_text=_(
            "Time-bound measures (micro-credit, public-welfare jobs, Rain and Dew Plan) need both dates."
        ),
    )

    field_order = ["policy", "kind", "title", "responsible", "start_on", "end_on", "amount"]

    def clean(self):
        data = super().clean()
        start, end = data.get("start_on"), data.get("end_on")
        if start and end and end < start:
            self.add_error("end_on", _("The end date cannot be before the start date."))
        policy = data.get("policy")
        if policy is not None and policy.time_bound:
            for name in ("start_on", "end_on"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("A time-bound measure needs its start and end dates."))
        return data


class DeliveryForm(forms.Form):
    delivered_on = DayField(label=_("Delivered on"), past=True)
    evidence_note = PlainTextField(
        label=_("Evidence of delivery"),
        max_length=300,
        widget=textarea(2),
        help_text=_("For example: the receipt number, the bank transfer, who signed for it."),
    )
    evidence = EvidenceField()


class FollowUpForm(forms.Form):
    done_on = DayField(label=_("Visited on"), past=True)
    stability = forms.ChoiceField(
        label=_("Assessment"), choices=Stability.choices, widget=forms.RadioSelect
    )
    new_risk_types = forms.MultipleChoiceField(
        label=_("New risks (if any)"),
        choices=Difficulty.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    findings = PlainTextField(label=_("Findings"), max_length=2000, widget=textarea(4))

    def clean(self):
        data = super().clean()
        if data.get("stability") == Stability.NEW_RISK and not data.get("new_risk_types"):
            self.add_error("new_risk_types", _("Choose the new risk."))
        return data


class EliminationForm(forms.Form):
    period_start = DayField(label=_("Income period from"), past=True)
    period_end = DayField(label=_("Income period to"), past=True)
    net_income = forms.DecimalField(
        label=_("Net income over the period, after rigid expenses (yuan)"),
        min_value=Decimal(-100_000_000),
        max_value=Decimal(100_000_000),
        decimal_places=2,
        max_digits=12,
    )
    household_size = forms.IntegerField(label=_("Household size"), min_value=1, max_value=30)
    risk_removed = PlainTextField(
        label=_("How the risk was removed"), max_length=1000, widget=textarea(3)
    )
    measures_in_place = PlainTextField(
        label=_("Measures in place"), max_length=1000, widget=textarea(3)
    )
    evidence = EvidenceField()

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end <= start:
            self.add_error("period_end", _("The period must end after it starts."))
        elif start and end and end - start > dt.timedelta(days=400):
            self.add_error("period_end", _("The income period can be at most a year."))
        return data


class OverrideForm(forms.Form):
    override_reason = PlainTextField(
        label=_("Reason for approving although measures are undelivered"),
        max_length=500,
        required=False,
        widget=textarea(3),
    )


class LookBackForm(forms.Form):
    reviewed_on = DayField(label=_("Reviewed on"), past=True)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=LookBackOutcome.choices, widget=forms.RadioSelect
    )
    findings = PlainTextField(label=_("Findings"), max_length=2000, widget=textarea(4))


class IndustryForm(forms.Form):
    industry_willing = forms.TypedChoiceField(
        label=_("Willing to develop farming or a business"),
        choices=[("yes", _("yes")), ("no", _("no"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )


class CategoryForm(ReasonForm):
    category = forms.ChoiceField(
        label=_("Monitoring category"), choices=Category.choices, widget=forms.RadioSelect
    )
    field_order = ["category", "reason"]


class ReidentifyForm(forms.Form):
    """A new risk in a household whose risk was eliminated: a new declaration."""

    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    difficulties = forms.MultipleChoiceField(
        label=_("The new risk"), choices=Difficulty.choices, widget=forms.CheckboxSelectMultiple
    )
    description = PlainTextField(label=_("What happened"), max_length=500, widget=textarea(3))

    def clean_phone(self):
        return _wrap(validate_mobile, self.cleaned_data["phone"])
