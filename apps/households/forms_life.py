"""Forms of the life-event pages (apps/households/views_life.py and the case's pages in
apps/declarations/views_life.py). The services check the rules again and name the field
of what they refuse."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import ReasonForm, SuccessorContactMixin
from apps.core.forms import wrap_validator as _wrap
from apps.core.identity import validate_id_number
from apps.regions.models import Region

from .forms import DayField, PlainTextField
from .models import (
    HouseholdMember,
    HouseholdStatus,
    LabourCapacity,
    MemberLeft,
    MonitoredHousehold,
    Schooling,
)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.relation}）"


class MembersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.relation}）"


class MemberJoinForm(ReasonForm):
    name = PlainTextField(label=_("Full name"), max_length=30)
    relation = PlainTextField(label=_("Relation to the head"), max_length=20)
    id_number = forms.CharField(label=_("ID number"), max_length=30, required=False)
    labour_capacity = forms.ChoiceField(label=_("Labour capacity"), choices=LabourCapacity.choices)
    schooling = forms.ChoiceField(
        label=_("Schooling"), choices=Schooling.choices, initial=Schooling.NONE
    )
    health = PlainTextField(label=_("Health"), max_length=100, required=False)
    joined_on = DayField(label=_("Joined on"), past=True)
    field_order = ["name", "relation", "id_number", "labour_capacity", "schooling", "health"]

    def clean_id_number(self):
        value = self.cleaned_data["id_number"].strip()
        return _wrap(validate_id_number, value) if value else ""


class MemberLeaveForm(ReasonForm):
    why = forms.ChoiceField(
        label=_("What happened"),
        choices=[(MemberLeft.DIED, _("died")), (MemberLeft.LEFT, _("left the household"))],
        widget=forms.RadioSelect,
    )
    left_on = DayField(label=_("On"), past=True)
    new_head = MemberChoiceField(
        label=_("New head (when the head leaves)"), queryset=None, required=False
    )
    field_order = ["why", "left_on", "new_head", "reason"]

    def __init__(self, *args, member: HouseholdMember, **kwargs):
        super().__init__(*args, **kwargs)
        others = member.household.members.exclude(pk=member.pk).order_by("pk")
        self.fields["new_head"].queryset = others


class SplitForm(ReasonForm):
    members = MembersChoiceField(
        label=_("Members who form the new household"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
    )
    head = MemberChoiceField(label=_("Head of the new household"), queryset=None)
    split_on = DayField(label=_("Split on"), past=True)
    field_order = ["members", "head", "split_on", "reason"]

    def __init__(self, *args, household: MonitoredHousehold, **kwargs):
        super().__init__(*args, **kwargs)
        current = household.members.order_by("pk")
        self.fields["members"].queryset = current
        self.fields["head"].queryset = current


class HouseholdChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.head_name}（{obj.head_id_number_masked}）"


class MergeForm(ReasonForm):
    into = HouseholdChoiceField(label=_("The household that absorbs this one"), queryset=None)
    merged_on = DayField(label=_("Merged on"), past=True)
    field_order = ["into", "merged_on", "reason"]

    def __init__(self, *args, household: MonitoredHousehold, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = (
            MonitoredHousehold.objects.visible_to(user)
            .filter(village_id=household.village_id)
            .exclude(pk=household.pk)
            .exclude(status=HouseholdStatus.MERGED)
            .order_by("head_name", "pk")
        )


class VillageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name()


class MoveForm(ReasonForm):
    village = VillageChoiceField(label=_("The new village"), queryset=None)
    field_order = ["village", "reason"]

    def __init__(self, *args, user, current_code: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = (
            Region.objects.visible_to(user).villages().exclude(code=current_code)
        )


CLOSE = "close"


class ApplicantDiedForm(SuccessorContactMixin, ReasonForm):
    died_on = DayField(label=_("Died on"), past=True)
    continues = forms.ChoiceField(
        label=_("Who carries the declaration on"), choices=(), widget=forms.RadioSelect
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
    field_order = ["died_on", "continues", "id_number", "phone", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["continues"].choices = [
            ("member", _("another member of the household")),
            (CLOSE, _("no member remains: close the case")),
        ]

    def clean(self):
        data = super().clean()
        if data.get("continues") == "member":
            for name in ("id_number", "phone"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Required when another member carries it on."))
        return data
