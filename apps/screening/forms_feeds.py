from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.imports import UploadForm

from .feeds import feed_upload_inspect
from .models import Department, FeedKind


def feeds_of(user) -> list[tuple[Department, str]]:
    """The (department, feed) pairs the user may upload."""
    departments = Department.objects.filter(active=True).select_related("region")
    if not user.is_superuser:
        departments = departments.filter(members__user=user)
    return [(d, k) for d in departments for k in d.kinds if k in FeedKind.values]


class FeedUploadForm(UploadForm):
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

    def inspect(self, upload):
        pair = self.pairs.get(self.cleaned_data.get("feed", ""))
        if pair:
            self.cleaned_data["department"], self.cleaned_data["kind"] = pair
            return feed_upload_inspect(upload, pair[1])
        return None
