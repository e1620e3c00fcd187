"""A grid worker's absences: recorded by the worker or by staff over the village; the
substitute stands in meanwhile (services.absence_record)."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.errors import ActionRefused
from apps.core.views import REFUSAL_STATUS

from .forms import AbsenceForm
from .models import Absence, Role, StaffMembership
from .services import (
    AbsenceRefused,
    absence_end,
    absence_record,
    may_record_absence,
    substitutes_for,
)

# Past absences stay on the page this long.
SHOWN_DAYS = 90


def _grid_memberships(user):
    """The grid workers whose absence the user may record: themself, and those of the
    villages where they are village, township or county staff."""
    rows = (
        StaffMembership.objects.visible_to(user)
        .filter(role=Role.GRID, is_active=True, user__is_active=True)
        .select_related("user", "region")
        .order_by("region__code", "user__full_name")
    )
    allowed = [m.pk for m in rows if may_record_absence(user, m)]
    return StaffMembership.objects.filter(pk__in=allowed).select_related("user", "region")


def _absences(user):
    since = timezone.localdate() - dt.timedelta(days=SHOWN_DAYS)
    return (
        Absence.objects.filter(
            Q(pk__in=Absence.objects.visible_to(user)) | Q(user=user) | Q(substitute=user),
            end__gte=since,
        )
        .select_related("user", "substitute", "region")
        .order_by("-start", "pk")
    )


@login_required
def absences(request):
    memberships = _grid_memberships(request.user)
    form = None
    if memberships.exists():
        codes = memberships.values_list("region__code", flat=True)
        form = AbsenceForm(
            request.POST or None, memberships=memberships, substitutes=substitutes_for(codes)
        )
    elif request.method == "POST":
        raise Http404
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                absence_record(actor=request.user, **form.cleaned_data)
            except AbsenceRefused as exc:
                form.add_error(exc.field, exc.message)
            else:
                messages.success(request, _("The absence is recorded."))
                return redirect("regions:absences")
        status = 400
    today = timezone.localdate()
    rows = [
        (a, may_record_absence(request.user, StaffMembership(user_id=a.user_id, region=a.region)))
        for a in _absences(request.user)
    ]
    return render(
        request,
        "regions/absences.html",
        {"form": form, "rows": rows, "today": today},
        status=status,
    )


@login_required
@require_POST
def absence_stop(request, pk):
    absence = get_object_or_404(_absences(request.user), pk=pk)
    try:
        absence_end(actor=request.user, absence=absence)
    except ActionRefused as exc:
        return render(
            request,
            "error.html",
            {"title": _("Absences"), "message": exc.message},
            status=REFUSAL_STATUS.get(type(exc), 400),
        )
    messages.success(request, _("The absence is ended."))
    return redirect("regions:absences")
