from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.imports import UploadForm
from apps.regions.models import Region

from .forms_roster import RegionChoiceField
from .national import counties_for, national_upload_inspect


class NationalUploadForm(UploadForm):
    county = RegionChoiceField(
        label=_("County"),
        queryset=Region.objects.none(),
        empty_label=None,
        help_text=_("Every household of the file must lie in this county."),
    )
    file = forms.FileField(
        label=_("National system file (Excel .xlsx or CSV)"),
        error_messages={
            "required": _("Choose the file exported from the national system."),
            "empty": _("The file is empty."),
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].queryset = counties_for(user).order_by("code")

    def inspect(self, upload):
        return national_upload_inspect(upload)


class NationalExportForm(forms.Form):
    county = RegionChoiceField(label=_("County"), queryset=Region.objects.none(), empty_label=None)
    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}), required=True
    )
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].queryset = counties_for(user).order_by("code")
        today = timezone.localdate()
        self.fields["start"].initial = today.replace(day=1)
        self.fields["end"].initial = today

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("The period must end on or after its start."))
        return cleaned
