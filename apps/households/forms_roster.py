from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.imports import UploadForm
from apps.regions.models import Region

from .roster import import_regions_for, roster_upload_inspect


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Region) -> str:
        return f"{obj.name}（{obj.get_level_display()}）"


class RosterUploadForm(UploadForm):
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

    def inspect(self, upload):
        return roster_upload_inspect(upload)
