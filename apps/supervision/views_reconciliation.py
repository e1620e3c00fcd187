"""Reconciliation pages (账账相符): a county's three books and the households they
disagree on; a city or the province sees a row per county and drills into each. County
staff and above; read off the primary (`replica_reads`). The export is audited (its row
written to the primary)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.replica import replica_reads
from apps.core.tabular import XLSX_TYPE
from apps.core.xlsx import period_line, workbook
from apps.regions.models import Level, Region

from .reconciliation import reconcile


def _region(request, code) -> Region:
    """A region the user sees, from the county up (a township has no books of its own)."""
    region = get_object_or_404(Region.objects.visible_to(request.user), code=code)
    if region.level > Level.COUNTY:
        raise Http404
    return region


@login_required
@replica_reads()
def reconciliation(request, code):
    region = _region(request, code)
    books = reconcile(request.user, region)
    if not books:
        raise Http404  # none of its counties is the user's
    return render(
        request,
        "supervision/reconciliation.html",
        {
            "region": region,
            "ancestors": region.ancestors(),
            "books": books,
            "county": books[0] if region.level == Level.COUNTY else None,
        },
    )


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


@login_required
@replica_reads()
def reconciliation_export(request, code):
    region = _region(request, code)
    books = reconcile(request.user, region)
    if not books:
        raise Http404
    header = [
        _("County"),
        _("Head of household"),
        _("Village"),
        _("Monitored here"),
        _("In the last national import"),
        _("Monitored in the roster"),
    ]
    rows = []
    for county in books:
        rows.append(
            [
                county.county.name,
                _("Number of households"),
                "",
                county.here,
                county.national,
                county.roster,
            ]
        )
        rows += [
            [county.county.name, d.name, d.village, _yes(d.here), _yes(d.national), _yes(d.roster)]
            for d in county.differences
        ]
    name = f"reconciliation-{region.code}"
    record(Action.EXPORT, request=request, target=region, file=name, rows=len(rows))
    content = workbook(
        _("Reconciliation of the books") + f" · {region.name}",
        period_line(region=region.name, at=timezone.now()),
        header,
        rows,
    )
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    response["Cache-Control"] = "private, no-store"
    return response
