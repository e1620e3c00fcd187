"""Forms of the review workflow's pages (grid workers on phones, township staff)."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.forms import DATE_WIDGET, MONEY, ReasonForm
from apps.core.identity import fold, validate_id_number
from apps.core.uploads import clean_upload
from apps.households.models import LabourCapacity, Schooling

from .forms import _name, _plain
from .models import AppealChannel, AppealOutcome, Difficulty, DocumentKind, EvaluationOutcome
from .services.review import MemberInput, VisitInput


class MergeForm(ReasonForm):
    into = forms.CharField(label=_("Tracking number of the case to keep"), max_length=30)

    def clean_into(self):
        number = re.sub(r"[^0-9]", "", fold(self.cleaned_data["into"]))
        if len(number) != 12:
            raise ValidationError(_("A tracking number has 12 digits."))
        return number


class VisitForm(forms.Form):
    visit_date = forms.DateField(label=_("Visit date"), widget=DATE_WIDGET)
    income_wages = forms.DecimalField(label=_("Wages (last 12 months, yuan)"), initial=0, **MONEY)
    income_farming = forms.DecimalField(label=_("Farming and herding"), initial=0, **MONEY)
    income_business = forms.DecimalField(label=_("Business"), initial=0, **MONEY)
    income_property = forms.DecimalField(label=_("Property income"), initial=0, **MONEY)
    income_transfer = forms.DecimalField(label=_("Transfers and subsidies"), initial=0, **MONEY)
    expense_medical = forms.DecimalField(
        label=_("Medical costs paid out of pocket"), initial=0, **MONEY
    )
    expense_education = forms.DecimalField(label=_("Education costs"), initial=0, **MONEY)
    expense_disaster = forms.DecimalField(label=_("Disaster losses"), initial=0, **MONEY)
    risk_types = forms.MultipleChoiceField(
        label=_("Risk types found"), choices=Difficulty.choices, widget=forms.CheckboxSelectMultiple
    )
    findings = forms.CharField(
        label=_("Findings"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def clean_visit_date(self):
        day = self.cleaned_data["visit_date"]
        if day > timezone.localdate():
            raise ValidationError(_("The visit date cannot be in the future."))
        return day

    def clean_findings(self):
        return _plain(self.cleaned_data["findings"]).strip()


class MemberForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=30)
    relation = forms.CharField(label=_("Relation"), max_length=20)
    id_number = forms.CharField(label=_("ID number"), max_length=24, required=False)
    # The blank first choice lets an unused extra row of the formset stay unchanged.
    labour_capacity = forms.ChoiceField(
        label=_("Labour capacity"), choices=[("", "—"), *LabourCapacity.choices]
    )
    health = forms.CharField(label=_("Health"), max_length=100, required=False)
    disability_grade = forms.TypedChoiceField(
        label=_("Disability grade"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(g, str(g)) for g in range(1, 5)]],
    )
    schooling = forms.ChoiceField(
        label=_("Schooling"), choices=Schooling.choices, initial=Schooling.NONE
    )

    def clean_name(self):
        return _name(self.cleaned_data["name"])

    def clean_relation(self):
        return _plain(self.cleaned_data["relation"]).strip()

    def clean_id_number(self):
        value = self.cleaned_data["id_number"]
        if not value:
            return ""
        try:
            return validate_id_number(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


class BaseMemberFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not any(f.cleaned_data and not f.cleaned_data.get("DELETE") for f in self.forms):
            raise ValidationError(_("List the household's members."))


MemberFormSet = forms.formset_factory(
    MemberForm, formset=BaseMemberFormSet, extra=4, max_num=30, validate_max=True, absolute_max=30
)


# --- the home visit in steps (one screen each on a phone) -----------------------------

LOCATION = re.compile(r"^-?\d{1,2}(\.\d{1,8})?,-?\d{1,3}(\.\d{1,8})?,\d{1,6}(\.\d+)?$")


class VisitDateForm(forms.Form):
    visit_date = forms.DateField(label=_("Visit date"), widget=DATE_WIDGET)
    share_location = forms.BooleanField(
        label=_("Record where I am now, as proof of the visit"), required=False
    )
    # Filled in by the phone (static/js/field.js) once the worker agrees.
    location = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def __init__(self, *args, declaration=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.declaration = declaration

    def clean_visit_date(self):
        day = self.cleaned_data["visit_date"]
        if day > timezone.localdate():
            raise ValidationError(_("The visit date cannot be in the future."))
        if self.declaration and day < timezone.localdate(self.declaration.submitted_at):
            raise ValidationError(_("The visit date cannot be before the declaration."))
        return day

    def clean(self):
        data = super().clean()
        location = (data.get("location") or "").strip()
        # Without consent, or without a fix from the phone: "no location".
        data["location"] = (
            location if data.get("share_location") and LOCATION.match(location) else ""
        )
        return data


class VisitMoneyForm(forms.Form):
    income_wages = VisitForm.base_fields["income_wages"]
    income_farming = VisitForm.base_fields["income_farming"]
    income_business = VisitForm.base_fields["income_business"]
    income_property = VisitForm.base_fields["income_property"]
    income_transfer = VisitForm.base_fields["income_transfer"]
    expense_medical = VisitForm.base_fields["expense_medical"]
    expense_education = VisitForm.base_fields["expense_education"]
    expense_disaster = VisitForm.base_fields["expense_disaster"]


class VisitFindingsForm(forms.Form):
    risk_types = VisitForm.base_fields["risk_types"]
    findings = VisitForm.base_fields["findings"]
    photo = forms.FileField(
        label=_("Photo of the visit (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "data-photo": "1"}),
    )
    # A photo the phone sent ahead in pieces (apps.declarations.resumable).
    photo_upload = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def clean_findings(self):
        return _plain(self.cleaned_data["findings"]).strip()

    def clean_photo(self):
        upload = self.cleaned_data.get("photo")
        return clean_upload(upload) if upload else None


class StepMemberForm(MemberForm):
    # Who the prefilled member is ("a": the applicant, "r<id>": a roster member): their
    # ID number is on record and not shown; left empty, it is taken from there.
    ref = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)


def member_formset(extra: int = 0):
    """Members prefilled (`initial`), plus `extra` empty blocks when one is added."""
    return forms.formset_factory(
        StepMemberForm,
        formset=BaseMemberFormSet,
        extra=extra,
        can_delete=True,
        max_num=30,
        validate_max=True,
        absolute_max=30,
    )


def visit_input(form: VisitForm, members: MemberFormSet) -> VisitInput:
    d = form.cleaned_data
    return VisitInput(
        visit_date=d["visit_date"],
        findings=d["findings"],
        risk_types=d["risk_types"],
        members=[MemberInput(**m) for m in members.cleaned_data if m],
        **{k: d[k] for k in d if k.startswith(("income_", "expense_"))},
    )


def _not_in_future(day):
    if day > timezone.localdate():
        raise ValidationError(_("A date of something already done cannot be in the future."))
    return day


class IncomeForm(forms.Form):
    household_size = forms.IntegerField(label=_("Household size"), min_value=1, max_value=30)
    compared_on = forms.DateField(
        label=_("Information compared on"), widget=DATE_WIDGET, initial=timezone.localdate
    )

    def clean_compared_on(self):
        return _not_in_future(self.cleaned_data["compared_on"])


class EvaluationForm(forms.Form):
    evaluation_date = forms.DateField(label=_("Evaluation date"), widget=DATE_WIDGET)
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=EvaluationOutcome.choices, widget=forms.RadioSelect
    )
    notice_start = forms.DateField(label=_("Public notice from"), widget=DATE_WIDGET)
    notice_end = forms.DateField(label=_("Public notice until"), widget=DATE_WIDGET)
    minutes = forms.FileField(label=_("Minutes (photo or PDF)"), required=False)

    def clean_minutes(self):
        upload = self.cleaned_data.get("minutes")
        return clean_upload(upload) if upload else None

    def clean_evaluation_date(self):
        return _not_in_future(self.cleaned_data["evaluation_date"])

    def clean_notice_start(self):
        return _not_in_future(self.cleaned_data["notice_start"])

    def clean(self):
        data = super().clean()
        start, end, day = (
            data.get("notice_start"),
            data.get("notice_end"),
            data.get("evaluation_date"),
        )
        if start and end and end < start:
            self.add_error("notice_end", _("The notice cannot end before it starts."))
        if start and day and start < day:
            self.add_error("notice_start", _("The notice starts on or after the evaluation."))
        return data


class PropertyCheckForm(forms.Form):
    vehicles_checked = forms.BooleanField(label=_("Vehicles checked"), required=False)
    vehicles = forms.CharField(label=_("Vehicles found"), max_length=200, required=False)
    housing_checked = forms.BooleanField(label=_("Housing checked"), required=False)
    housing = forms.CharField(label=_("Housing found"), max_length=200, required=False)
    business_checked = forms.BooleanField(label=_("Business registration checked"), required=False)
    business = forms.CharField(
        label=_("Business registration found"), max_length=200, required=False
    )

    def results(self) -> dict:
        d = self.cleaned_data
        return {
            k: (_plain(d[k]).strip() if d[f"{k}_checked"] else None)
            for k in ("vehicles", "housing", "business")
        }


class DocumentForm(forms.Form):
    # The result announcement's photo is recorded with its dates (AnnouncementForm).
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[c for c in DocumentKind.choices if c[0] != DocumentKind.RESULT_NOTICE],
    )
    file = forms.FileField(
        label=_("Photo or scan"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )

    def clean_file(self):
        return clean_upload(self.cleaned_data["file"])


class StaffAppealForm(ReasonForm):
    channel = forms.ChoiceField(
        label=_("Made"), choices=[c for c in AppealChannel.choices if c[0] != AppealChannel.ONLINE]
    )


class AppealDecisionForm(ReasonForm):
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=AppealOutcome.choices, widget=forms.RadioSelect
    )


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("Tracking number, name or ID number"), max_length=30, required=False
    )


class AnnouncementForm(forms.Form):
    """结果公告: the dates it is posted and a photo of it, posted."""

    start = forms.DateField(label=_("Posted from"), widget=DATE_WIDGET)
    end = forms.DateField(label=_("Posted until"), widget=DATE_WIDGET)
    photo = forms.FileField(
        label=_("Photo of the posted announcement"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )

    def clean_photo(self):
        return clean_upload(self.cleaned_data["photo"])

    def clean_start(self):
        return _not_in_future(self.cleaned_data["start"])

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The notice cannot end before it starts."))
        return data
