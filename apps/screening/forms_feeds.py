from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.imports import UploadForm

from .feeds import feed_upload_inspect
from .models import Department, FeedDefinition


def feeds_of(user) -> list[tuple[Department, FeedDefinition]]:
    """The (department, feed definition) pairs the user may upload."""
    departments = Department.objects.filter(active=True).select_related("region")
    if not user.is_superuser:
        departments = departments.filter(members__user=user)
    departments = list(departments)
    codes = {k for d in departments for k in d.kinds}
    definitions = {d.code: d for d in FeedDefinition.objects.filter(code__in=codes, active=True)}
    return [(d, definitions[k]) for d in departments for k in d.kinds if k in definitions]


class FeedUploadForm(UploadForm):
    feed = forms.ChoiceField(label=_("Feed"))
    file = forms.FileField(
        label=_("File (CSV or Excel .xlsx)"),
        error_messages={"required": _("Choose the file."), "empty": _("The file is empty.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.pairs = {f"{d.pk}:{f.code}": (d, f) for d, f in feeds_of(user)}
        self.fields["feed"].choices = [
            (key, f"{d.name} · {f.name}") for key, (d, f) in self.pairs.items()
        ]

    def inspect(self, upload):
        pair = self.pairs.get(self.cleaned_data.get("feed", ""))
        if pair:
            self.cleaned_data["department"] = pair[0]
            self.cleaned_data["kind"] = pair[1].code
            return feed_upload_inspect(upload, pair[1])
        return None
