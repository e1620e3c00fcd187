"""The village's list of life events departments reported (deaths, hukou moves) and
the page to confirm one — then the existing life-event services act — or not. Loaded
through `visible_to` (an outsider gets an empty list and 404); the service checks the
village role again."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from apps.audit.models import Action
from apps.audit.services import record
from apps.declarations.services.life_events import Successor
from apps.households.forms_life import CLOSE
from apps.households.views import Page, _bound
from apps.households.views_life import life_form_page
from apps.regions.models import VILLAGE_ROLES

from .effects import life_event_confirm, life_event_dismiss, needs_new_head
from .forms_effects import CONFIRM, LifeEventDecisionForm
from .models_effects import LifeEventKind, ReportedLifeEvent


@never_cache
@login_required
def life_events(request):
    reports = (
        ReportedLifeEvent.objects.visible_to(request.user)
        .select_related("village", "household", "declaration")
        .order_by("state", "-created_at", "-pk")[:200]
    )
    return render(request, "screening/life_events.html", {"reports": reports})


@never_cache
@login_required
def life_event(request, pk):
    report = get_object_or_404(
        ReportedLifeEvent.objects.visible_to(request.user).select_related(
            "village", "household", "declaration", "member"
        ),
        pk=pk,
    )
    if request.method == "GET":
        record(Action.VIEW, request=request, target=report)
    case = report.declaration
    case_death = (
        report.kind == LifeEventKind.DIED
        and case is not None
        and case.is_open
        and case.id_hash == report.id_hash
    )
    form = LifeEventDecisionForm(
        *_bound(request)[:1],
        report=report,
        head=report.is_pending and needs_new_head(report),
        case_death=report.is_pending and case_death,
    )

    def call(d):
        if d["decision"] != CONFIRM:
            life_event_dismiss(report=report, actor=request.user, reason=d["reason"])
            return None
        successor = None
        if d.get("continues") and d["continues"] != CLOSE:
            successor = Successor(id_number=d["id_number"], phone=d["phone"])
        life_event_confirm(
            report=report,
            actor=request.user,
            reason=d["reason"],
            new_head=d.get("new_head"),
            successor=successor,
        )
        return None

    page = Page(
        _("%(name)s %(what)s on %(date)s, says %(department)s")
        % {
            "name": report.person_name,
            "what": report.get_kind_display(),
            "date": report.happened_on.isoformat(),
            "department": report.department,
        },
        _("Record"),
        _(
            "Nothing changes on the department's word alone. Confirm it only when the "
            "village has checked it: then it is recorded on the household and the case."
        ),
        danger=True,
    )
    if not report.is_pending:
        # Decided: its outcome and log; a decision sent again is refused (409).
        return render(
            request,
            "screening/life_event.html",
            {"report": report, "log": report.log.select_related("actor")},
            status=409 if request.method == "POST" else 200,
        )
    return life_form_page(
        request,
        form,
        page,
        call,
        _("Recorded."),
        reverse("screening:life_events"),
        roles=VILLAGE_ROLES,
        region_code=report.region_code,
        household=report.household,
        declaration=case,
    )
