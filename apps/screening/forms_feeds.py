from django import forms
from django.utils.translation import gettext_lazy as _

from .feeds import feed_upload_inspect
from .models import Department, FeedKind


def feeds_of(user) -> list[tuple[Department, str]]:
    """The (department, feed) pairs the user may upload."""
    departments = Department.objects.filter(active=True).select_related("region")
    if not user.is_superuser:
        departments = departments.filter(members__user=user)
    return [(d, k) for d in departments for k in d.kinds if k in FeedKind.values]


class FeedUploadForm(forms.Form):
    feed = forms.ChoiceField(label=_("Feed"))
    file = forms.FileField(
        label=_("File (CSV or Excel .xlsx)"),
        error_messages={"required": _("Choose the file."), "empty": _("The file is empty.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.pairs = {f"{d.pk}:{k}": (d, k) for d, k in feeds_of(user)}
        self.fields["feed"].choices = [
            (key, f"{d.name} · {FeedKind(k).label}") for key, (d, k) in self.pairs.items()
        ]
        self.fields["file"].widget.attrs["accept"] = (
            ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        self.inspected = None

    def clean(self):
        cleaned = super().clean()
        pair = self.pairs.get(cleaned.get("feed", ""))
        upload = cleaned.get("file")
        if pair and upload is not None:
            cleaned["department"], cleaned["kind"] = pair
            try:
                self.inspected = feed_upload_inspect(upload, pair[1])
            except forms.ValidationError as exc:
                self.add_error("file", exc)
        return cleaned
