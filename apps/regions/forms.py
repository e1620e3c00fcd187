"""The form staff record a grid worker's absence with."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import DATE_WIDGET


class MembershipChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.user} · {obj.region.name}"


class UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return str(obj)


class AbsenceForm(forms.Form):
    membership = MembershipChoice(label=_("Grid worker"), queryset=None, empty_label=None)
    substitute = UserChoice(label=_("Substitute"), queryset=None)
    start = forms.DateField(label=_("From"), widget=DATE_WIDGET)
    end = forms.DateField(label=_("To (inclusive)"), widget=DATE_WIDGET)

    def __init__(self, *args, memberships, substitutes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = memberships
        if len(memberships) > 1:  # chosen, not taken by default; a worker's own is given
            self.fields["membership"].empty_label = "—"
        self.fields["substitute"].queryset = substitutes
