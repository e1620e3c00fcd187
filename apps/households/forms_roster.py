from django import forms
from django.utils.translation import gettext_lazy as _

from apps.regions.models import Region

from .roster import import_regions_for, roster_upload_inspect


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Region) -> str:
        return f"{obj.name}（{obj.get_level_display()}）"


class RosterUploadForm(forms.Form):
    region = RegionChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        empty_label=None,
        help_text=_("Every row of the file must lie in this region."),
    )
    file = forms.FileField(
        label=_("Roster file (CSV or Excel .xlsx)"),
        error_messages={"required": _("Choose the roster file."), "empty": _("The file is empty.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = import_regions_for(user).order_by("code")
        self.fields["file"].widget.attrs["accept"] = (
            ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        self.inspected = None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.inspected = roster_upload_inspect(upload)
        return upload
