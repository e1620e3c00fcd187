from django.utils import timezone

from .calendar import is_confirmed
from .models import Clock


def calendar_warning(request):
    """On admin pages: the years whose official calendar is not confirmed although
    deadlines are being computed in them (or will be soon: next year, from November,
    when the State Council publishes it)."""
    if not request.path.startswith("/admin/") or not getattr(request.user, "is_staff", False):
        return {}
    today = timezone.localdate()
    years = {
        d.year
        for d in Clock.objects.filter(provisional=True, met_at__isnull=True).dates("due_on", "year")
    }
    if today.month >= 11:
        years.add(today.year + 1)
    return {"calendar_warning_years": sorted(y for y in years if not is_confirmed(y))}
