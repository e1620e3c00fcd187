"""Staff pages of the life events that reach a case: the household moves to another
village (from the case's page or the household's), and the applicant dies during the
review. The pages and their form template are the households' life-event pages'
(apps/households/views_life.py)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from apps.audit.models import Action
from apps.audit.services import record
from apps.households.forms_life import CLOSE, ApplicantDiedForm, MoveForm
from apps.households.views import Page, _bound, _household
from apps.households.views_life import life_form_page
from apps.regions.models import CASEWORK_ROLES

from .services.life_events import MOVE_ROLES, Successor, case_move, declaration_applicant_died
from .views_staff import _case


def _move_page():
    return Page(
        _("The household moves to another village"),
        _("Move the household"),
        _(
            "Its open case and its monitoring go to the new village, whose grid worker is "
            "told by SMS; the deadlines run on. The old village no longer sees them. The "
            "county decides, or the township when both villages are in it."
        ),
    )


@never_cache
@login_required
def case_move_page(request, tracking_number):
    declaration = _case(request, tracking_number)
    form = MoveForm(*_bound(request)[:1], user=request.user, current_code=declaration.region_code)
    if request.method == "GET":
        record(Action.VIEW, request=request, target=declaration)

    def call(d):
        case_move(
            declaration=declaration, actor=request.user, village=d["village"], reason=d["reason"]
        )
        # The mover holds a role over both villages: the case stays in sight.
        return redirect("staff:detail", declaration.tracking_number)

    back = reverse("staff:detail", args=[declaration.tracking_number])
    return life_form_page(
        request,
        form,
        _move_page(),
        call,
        _("The household is moved."),
        back,
        roles=MOVE_ROLES,
        region_code=declaration.region_code,
        declaration=declaration,
    )


@never_cache
@login_required
def household_move_page(request, pk):
    household = _household(request, pk)
    form = MoveForm(*_bound(request)[:1], user=request.user, current_code=household.region_code)
    if request.method == "GET":
        record(Action.VIEW, request=request, target=household)

    def call(d):
        case_move(household=household, actor=request.user, village=d["village"], reason=d["reason"])
        return redirect("households:detail", household.pk)

    back = reverse("households:detail", args=[household.pk])
    return life_form_page(
        request,
        form,
        _move_page(),
        call,
        _("The household is moved."),
        back,
        roles=MOVE_ROLES,
        region_code=household.region_code,
        household=household,
    )


@never_cache
@login_required
def applicant_died(request, tracking_number):
    declaration = _case(request, tracking_number)
    form = ApplicantDiedForm(*_bound(request)[:1])
    if request.method == "GET":
        record(Action.VIEW, request=request, target=declaration)

    def call(d):
        successor = None
        if d["continues"] != CLOSE:
            successor = Successor(id_number=d["id_number"], phone=d["phone"])
        declaration_applicant_died(
            declaration=declaration,
            actor=request.user,
            died_on=d["died_on"],
            reason=d["reason"],
            successor=successor,
        )

    page = Page(
        _("The applicant has died"),
        _("Record"),
        _(
            "The declaration continues with another member of the household, one recorded "
            "on the home visit or in the roster; if no member remains, the case is closed."
        ),
        danger=True,
    )
    back = reverse("staff:detail", args=[declaration.tracking_number])
    return life_form_page(
        request,
        form,
        page,
        call,
        _("Recorded."),
        back,
        roles=CASEWORK_ROLES,
        region_code=declaration.region_code,
        declaration=declaration,
    )
