"""The top of a village worker's worklist: open department warnings, highest risk
score first. A template tag, so that the declarations' home page shows them without
the declarations app importing this one (imports flow screening → declarations)."""

from django import template

from ..models import Warning
from ..selectors import marks_of

register = template.Library()

TOP = 20


@register.inclusion_tag("screening/_worklist.html")
def warnings_worklist(user):
    warnings = list(
        Warning.objects.visible_to(user)
        .open()
        .select_related("village")
        .order_by("-score", "created_at", "pk")[: TOP + 1]
    )
    more = len(warnings) > TOP
    return {"rows": marks_of(warnings[:TOP]), "more": more}
