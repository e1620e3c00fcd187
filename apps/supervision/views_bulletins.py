"""Issued bulletins: issuing the region's bulletin for a period (numbered, dated,
archived), the list of bulletins a user receives or supervises, and one bulletin as it
was issued."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.errors import ActionRefused
from apps.regions.models import Region

from .bulletins import bulletin_issue, may_issue
from .forms import parse_period
from .models_bulletins import Bulletin
from .views import bulletin_context


def _figures(total, period) -> dict:
    return {
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "received": total.received,
        "closed": total.closed,
        "completion_rate": total.completion_rate,
        "overdue_rate": total.overdue_rate,
        "currently_overdue": total.currently_overdue,
    }


@login_required
@require_POST
def issue(request, code):
    """Issue the bulletin the page shows (region and period from the query string)."""
    region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
    if not may_issue(request.user, region):
        raise PermissionDenied
    form, period = parse_period(request.GET)
    context = bulletin_context(request, region)
    if request.GET and not form.is_valid():
        # The period the page was asked for is not one: say why, issue nothing.
        context["may_issue"] = True
        context["issue_errors"] = [e for errors in form.errors.values() for e in errors]
        return render(request, "supervision/bulletin.html", context, status=400)
    try:
        bulletin = bulletin_issue(
            region=region,
            actor=request.user,
            title=_("Bulletin on One-Click Declaration handling in %(region)s")
            % {"region": region.name},
            period_start=period.start,
            period_end=period.end,
            figures=_figures(context["total"], period),
            content=render_to_string("supervision/_bulletin_body.html", context, request=request),
        )
    except ActionRefused as exc:
        raise PermissionDenied(exc.message) from None
    return redirect("supervision:bulletin_issued", bulletin.pk)


@login_required
def bulletins(request):
    """The bulletins issued to the user (by their regions' offices and those above) and
    in the regions they supervise, newest first."""
    issued = Bulletin.objects.visible_to(request.user).select_related("region", "issued_by")
    page = Paginator(issued, 50).get_page(request.GET.get("page"))
    return render(request, "supervision/bulletins.html", {"page": page})


@login_required
def issued(request, pk):
    bulletin = get_object_or_404(Bulletin.objects.visible_to(request.user), pk=pk)
    return render(request, "supervision/bulletin_issued.html", {"bulletin": bulletin})
