"""Anomaly alerts for township staff and above (docs/anomalies.md): the list of their
subtree's alerts, one alert with links to its cases, and acknowledging it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from apps.declarations.models import Declaration
from apps.regions.models import Region, user_memberships

from .anomalies import alert_acknowledge
from .forms import AcknowledgeForm
from .models import ALERT_ROLES, Alert

PAGE_SIZE = 50
STATES = {"open": Alert.State.OPEN, "acknowledged": Alert.State.ACKNOWLEDGED, "all": None}


def _alerts(request):
    """The user's alerts; nobody but township staff and above gets the pages at all."""
    user = request.user
    if not user.is_superuser and not any(
        role in ALERT_ROLES for _p, role in user_memberships(user)
    ):
        raise PermissionDenied
    return Alert.objects.visible_to(user)


@never_cache
@login_required
def alert_list(request):
    alerts = _alerts(request)
    state = request.GET.get("state", "open")
    if state not in STATES:
        state = "open"
    if STATES[state]:
        alerts = alerts.filter(state=STATES[state])
    rule = request.GET.get("rule", "")
    if rule in Alert.Rule.values:
        alerts = alerts.filter(rule=rule)
    region = None
    code = request.GET.get("region", "")
    if code:
        region = Region.objects.visible_to(request.user).filter(code=code).first()
        if region is not None:
            alerts = alerts.filter(region_code__startswith=region.prefix)
    page = Paginator(alerts.order_by("-raised_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    names = dict(
        Region.objects.filter(code__in={a.region_code for a in page}).values_list("code", "name")
    )
    for alert in page:
        alert.region_name = names.get(alert.region_code, alert.region_code)
    return render(
        request,
        "supervision/alerts.html",
        {
            "page": page,
            "state": state,
            "rule": rule,
            "rules": Alert.Rule.choices,
            "region": region,
        },
    )


def _detail(request, alert, form, status=200):
    # The case links go to the case pages, which are scoped themselves; the list shows
    # only the cases the user may open.
    cases = (
        Declaration.objects.visible_to(request.user)
        .filter(pk__in=alert.case_ids)
        .select_related("village")
        .order_by("submitted_at", "pk")
    )
    region = Region.objects.filter(code=alert.region_code).first()
    context = {
        "alert": alert,
        "region": region,
        "cases": cases,
        "events": alert.events.select_related("actor"),
        "form": form if alert.state == Alert.State.OPEN else None,
    }
    return render(request, "supervision/alert.html", context, status=status)


@never_cache
@login_required
def alert_detail(request, pk):
    alert = get_object_or_404(_alerts(request).select_related("acknowledged_by"), pk=pk)
    if request.method != "POST":
        return _detail(request, alert, AcknowledgeForm())
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        return _detail(request, alert, form, status=400)
    if not alert_acknowledge(alert=alert, actor=request.user, note=form.cleaned_data["note"]):
        messages.info(request, _("This alert was already acknowledged."))
    else:
        messages.success(request, _("The alert is acknowledged."))
    return redirect("supervision:alert", alert.pk)
