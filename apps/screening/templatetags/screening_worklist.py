"""The top of a village worker's worklist: open department warnings, highest risk
score first. A template tag, so that the declarations' home page shows them without
the declarations app importing this one (imports flow screening → declarations)."""

from django import template

from apps.deadlines.models import Clock
from apps.deadlines.services import clock_mark

from ..models import Warning
from ..services import SUBJECT

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
    warnings = warnings[:TOP]
    clocks = {
        c.subject_id: c
        for c in Clock.objects.filter(subject_type=SUBJECT, subject_id__in=[w.pk for w in warnings])
    }
    rows = [(w, clock_mark(clocks[w.pk]) if w.pk in clocks else None) for w in warnings]
    return {"rows": rows, "more": more}
