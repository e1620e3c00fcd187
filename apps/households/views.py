"""Staff pages of monitored households: the help plan (一户一策) through village,
township and county, delivery of its measures, follow-up visits (走访), risk
elimination (风险消除), look-back reviews (回头看) and re-identification.

As on the case pages (apps/declarations/views_staff.py): every page loads the
household through `visible_to` (404 outside one's region), every change is one
service call, which checks role, region and state again, and a refusal redirects back
to the page (GET) with its message, so that a refresh sends nothing again. Each form is a small page of its own, for a
phone, without JavaScript.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.errors import ActionRefused, NotPermitted
from apps.core.forms import ReasonForm
from apps.core.views import at_field, private_download, refused, store_cleaned, with_upload
from apps.regions.models import VILLAGE_ROLES, roles_over, user_transitions

from . import services
from .forms import (
    CategoryForm,
    ConfirmForm,
    DeliveryForm,
    EliminationForm,
    FollowUpForm,
    IndustryForm,
    LookBackForm,
    MeasureForm,
    OverrideForm,
)
from .models import (
    Difficulty,
    EliminationProposal,
    FollowUp,
    HelpPlan,
    HouseholdDocument,
    HouseholdMember,
    LookBack,
    MonitoredHousehold,
    PlanMeasure,
)
from .selectors import (
    LIST_FILTERS,
    abilities,
    elimination_outlook,
    event_label,
    household_documents_visible_to,
    household_overview,
    household_rows,
    households_list,
    households_visible_to,
    policies_for,
)

PAGE_SIZE = 50


def _household(request, pk) -> MonitoredHousehold:
    return get_object_or_404(households_visible_to(request.user), pk=pk)


def _bound(request) -> tuple:
    """The form's data and files on a POST (even an empty one: a bare button), else
    nothing (an unbound form)."""
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)


# --- the list and the household's page ----------------------------------------------------


@login_required
def household_list(request):
    status = request.GET.get("status", "")
    status = status if status in LIST_FILTERS else ""
    page = Paginator(households_list(request.user, status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "households/list.html",
        {"page": page, "rows": household_rows(page.object_list), "status": status},
    )


def _detail_context(request, household: MonitoredHousehold) -> dict:
    overview = household_overview(household)
    can = abilities(request.user, household, overview.plan)
    suggestions, combined = [], False
    if can.draft:
        suggestions, combined = services.plan_suggestions(
            household, policies=list(policies_for(household))
        )
    labels = dict(Difficulty.choices)
    return {
        "household": household,
        "o": overview,
        "can": can,
        "members": household.members.order_by("pk"),
        # Members who died or left: on record, with the date and why.
        "former_members": HouseholdMember.on_record.filter(
            household=household, left_on__isnull=False
        ).order_by("left_on", "pk"),
        "risks": [labels.get(r, r) for r in household.risk_types],
        "incomes": household.incomes.all()[:10],
        "check": elimination_outlook(household) if can.monitoring else None,
        "proposals": [(p, user_transitions(p, request.user)) for p in overview.proposals],
        "suggestions": suggestions,
        "combined": combined,
        "events": [(e, event_label(e.kind)) for e in overview.events],
        # Its declarations, through the reverse relation: scoped like any case list.
        "declarations": household.declarations.visible_to(request.user).order_by("-submitted_at"),
    }


@never_cache
@login_required
def household_detail(request, pk):
    household = _household(request, pk)
    record(Action.VIEW, request=request, target=household)
    return render(request, "households/detail.html", _detail_context(request, household))


def _detail_refused(request, household, exc: ActionRefused):
    """A refused step: back to the household's page (GET), the refusal shown there."""
    return refused(request, exc, "households:detail", household.pk)


# --- the small form pages -----------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """What a form page says: its heading, an optional line of explanation, the button
    and, optionally, a summary of what it acts on (a template included above the form)."""

    heading: str
    button: str
    intro: str = ""
    summary: str = ""
    danger: bool = False


def _form_page(request, household, form, page: Page, call, done: str, **context):
    """Show the form; on a valid POST make the one service call and go back to the
    household. Bad input is 400 at the field (the form's, or a refusal naming one of its
    fields); any other refusal goes back to the page (GET) with its message."""
    base = {"household": household, "form": form, "page": page, **context}
    if request.method != "POST":
        return render(request, "households/form.html", base)
    if not form.is_valid():
        return render(request, "households/form.html", base, status=400)
    try:
        target = call(form.cleaned_data)
    except ActionRefused as exc:
        if at_field(form, exc):
            return render(request, "households/form.html", base, status=400)
        return refused(request, exc, request.get_full_path())
    messages.success(request, done)
    return target or redirect("households:detail", household.pk)


def _store_document(household, user, cleaned) -> HouseholdDocument | None:
    """Keep an evidence upload (already cleaned) under a name we make."""
    if cleaned is None:
        return None
    if not roles_over(user, household.region_code) & VILLAGE_ROLES:
        raise NotPermitted
    document = HouseholdDocument(
        household=household,
        content_type=cleaned.content_type,
        original_name=cleaned.original_name,
        size=cleaned.size,
        uploaded_by=user,
    )
    return store_cleaned(document, cleaned)


def _with_evidence(household, user, cleaned, call):
    return with_upload(lambda: _store_document(household, user, cleaned), call)


def _plan(household, plan_pk) -> HelpPlan:
    return get_object_or_404(HelpPlan, pk=plan_pk, household=household)


@never_cache
@login_required
def measure_add(request, pk, plan_pk):
    household = _household(request, pk)
    plan = _plan(household, plan_pk)
    policies = policies_for(household)
    initial = {"responsible": str(request.user)}
    if request.GET.get("policy", "").isdigit():
        initial["policy"] = policies.filter(pk=request.GET["policy"]).first()
    if request.GET.get("kind") in dict(MeasureForm.base_fields["kind"].choices):
        initial["kind"] = request.GET["kind"]
    form = MeasureForm(*_bound(request), policies=policies, initial=initial)

    def call(d):
        services.plan_add_measure(plan=plan, actor=request.user, measure=services.MeasureInput(**d))

    page = Page(
        _("Add a help measure"),
        _("Add to the plan"),
        _("Choose from the county's help-policy list, or describe another kind of help."),
    )
    return _form_page(request, household, form, page, call, _("The measure is added."))


@never_cache
@login_required
@require_POST
def measure_remove(request, pk, measure_pk):
    household = _household(request, pk)
    measure = get_object_or_404(PlanMeasure, pk=measure_pk, plan__household=household)
    try:
        services.plan_remove_measure(measure=measure, actor=request.user)
    except ActionRefused as exc:
        return _detail_refused(request, household, exc)
    messages.success(request, _("The measure is removed from the plan."))
    return redirect("households:detail", household.pk)


@never_cache
@login_required
def measure_deliver(request, pk, measure_pk):
    household = _household(request, pk)
    measure = get_object_or_404(
        PlanMeasure.objects.select_related("plan", "policy"),
        pk=measure_pk,
        plan__household=household,
    )
    form = DeliveryForm(*_bound(request))

    def call(d):
        _with_evidence(
            household,
            request.user,
            d["evidence"],
            lambda document: services.measure_record_delivery(
                measure=measure,
                actor=request.user,
                delivered_on=d["delivered_on"],
                evidence_note=d["evidence_note"],
                evidence=document,
            ),
        )

    page = Page(
        _("Record delivery"),
        _("Save"),
        summary="households/_measure_summary.html",
    )
    return _form_page(
        request, household, form, page, call, _("The delivery is recorded."), measure=measure
    )


# The plan's chain: which form each step takes and what its page says.
PLAN_ACTIONS = {
    "submit": (
        ConfirmForm,
        services.plan_submit,
        Page(
            gettext_lazy("Send the plan to the township"),
            gettext_lazy("Send to the township"),
            gettext_lazy("The township checks the plan, then the county approves it."),
            "households/_plan_summary.html",
        ),
        gettext_lazy("The plan is sent to the township."),
    ),
    "township_pass": (
        ConfirmForm,
        services.plan_township_pass,
        Page(
            gettext_lazy("Pass the plan to the county"),
            gettext_lazy("Checked: pass to the county"),
            summary="households/_plan_summary.html",
        ),
        gettext_lazy("The plan is passed to the county."),
    ),
    "send_back": (
        ReasonForm,
        services.plan_send_back,
        Page(
            gettext_lazy("Send the plan back to the village"),
            gettext_lazy("Send back"),
            gettext_lazy("Say what the village should change; the village is told by SMS."),
            "households/_plan_summary.html",
            danger=True,
        ),
        gettext_lazy("The plan is sent back to the village."),
    ),
    "approve": (
        ConfirmForm,
        services.plan_approve,
        Page(
            gettext_lazy("Approve the help plan"),
            gettext_lazy("Approve the plan"),
            gettext_lazy("Once approved, the village delivers the measures and records each."),
            "households/_plan_summary.html",
        ),
        gettext_lazy("The plan is approved."),
    ),
    "revise": (
        ReasonForm,
        services.plan_revise,
        Page(
            gettext_lazy("Revise the approved plan"),
            gettext_lazy("Reopen the plan"),
            gettext_lazy(
                "The plan goes back to drafting and is checked and approved again. "
                "Measures already delivered stay as they are."
            ),
            "households/_plan_summary.html",
        ),
        gettext_lazy("The plan is reopened for revision."),
    ),
}


@never_cache
@login_required
def plan_action(request, pk, plan_pk, action):
    household = _household(request, pk)
    plan = _plan(household, plan_pk)
    if action not in PLAN_ACTIONS:
        raise Http404
    form_class, service, page, done = PLAN_ACTIONS[action]
    form = form_class(*_bound(request))

    def call(d):
        service(plan=plan, actor=request.user, **d)

    measures = plan.measures.select_related("policy").order_by("pk")
    return _form_page(request, household, form, page, call, str(done), plan=plan, measures=measures)


@never_cache
@login_required
def follow_up(request, pk, follow_up_pk):
    household = _household(request, pk)
    visit = get_object_or_404(FollowUp, pk=follow_up_pk, household=household)
    form = FollowUpForm(*_bound(request))

    def call(d):
        services.follow_up_record(follow_up=visit, actor=request.user, **d)

    page = Page(
        _("Record a follow-up visit"),
        _("Save the visit"),
        _("A new risk is added to the household's risk types; then revise the plan."),
    )
    return _form_page(
        request, household, form, page, call, _("The visit is recorded; the next one is scheduled.")
    )


@never_cache
@login_required
def eliminate(request, pk):
    household = _household(request, pk)
    form = EliminationForm(
        *_bound(request),
        initial={"household_size": household.members.count() or None},
    )

    def call(d):
        _with_evidence(
            household,
            request.user,
            d["evidence"],
            lambda document: services.elimination_propose(
                household=household,
                actor=request.user,
                evidence=services.EliminationEvidence(
                    period_start=d["period_start"],
                    period_end=d["period_end"],
                    net_income=d["net_income"],
                    household_size=d["household_size"],
                    risk_removed=d["risk_removed"],
                    measures_in_place=d["measures_in_place"],
                    evidence=document,
                ),
            ),
        )

    page = Page(
        _("Propose to mark the risk eliminated"),
        _("Propose"),
        _(
            "The per-capita net income over the period must reach the county's monitoring "
            "line. The township checks the proposal, then the county decides."
        ),
        "households/_elimination_check.html",
    )
    return _form_page(
        request,
        household,
        form,
        page,
        call,
        _("The proposal is sent to the township."),
        check=elimination_outlook(household),
    )


ELIMINATION_ACTIONS = {
    "township_pass": (
        ConfirmForm,
        services.elimination_township_pass,
        Page(
            gettext_lazy("Pass the proposal to the county"),
            gettext_lazy("Checked: pass to the county"),
            summary="households/_elimination_check.html",
        ),
        gettext_lazy("The proposal is passed to the county."),
    ),
    "refuse": (
        ReasonForm,
        services.elimination_refuse,
        Page(
            gettext_lazy("Refuse the proposal"),
            gettext_lazy("Refuse"),
            gettext_lazy("The household stays under monitoring."),
            "households/_elimination_check.html",
            danger=True,
        ),
        gettext_lazy("The proposal is refused; the household stays under monitoring."),
    ),
    "approve": (
        OverrideForm,
        services.elimination_approve,
        Page(
            gettext_lazy("Mark the risk eliminated"),
            gettext_lazy("Approve: risk eliminated"),
            gettext_lazy(
                "Follow-up visits stop; time-bound measures run on to their end dates; "
                "look-back reviews follow."
            ),
            "households/_elimination_check.html",
        ),
        gettext_lazy("The risk is marked eliminated."),
    ),
}


@never_cache
@login_required
def elimination_action(request, pk, proposal_pk, action):
    household = _household(request, pk)
    proposal = get_object_or_404(
        EliminationProposal.objects.select_related("evidence"), pk=proposal_pk, household=household
    )
    if action not in ELIMINATION_ACTIONS:
        raise Http404
    form_class, service, page, done = ELIMINATION_ACTIONS[action]
    form = form_class(*_bound(request))
    check = elimination_outlook(household)
    if action == "approve" and not check.undelivered:
        del form.fields["override_reason"]  # asked for only when there is something to override

    def call(d):
        service(proposal=proposal, actor=request.user, **d)

    return _form_page(
        request,
        household,
        form,
        page,
        call,
        str(done),
        proposal=proposal,
        check=check,
    )


@never_cache
@login_required
def look_back(request, pk, look_back_pk):
    household = _household(request, pk)
    review = get_object_or_404(LookBack, pk=look_back_pk, household=household)
    form = LookBackForm(*_bound(request))

    def call(d):
        services.lookback_record(look_back=review, actor=request.user, **d)

    page = Page(
        _("Record the look-back review"),
        _("Save the review"),
        _("Not stable: the household goes back under monitoring, with follow-up visits again."),
    )
    return _form_page(request, household, form, page, call, _("The review is recorded."))


@never_cache
@login_required
def industry(request, pk):
    household = _household(request, pk)
    form = IndustryForm(
        *_bound(request),
        initial={"industry_willing": "yes" if household.industry_willing else "no"},
    )

    def call(d):
        services.household_set_industry_willing(
            household=household, actor=request.user, willing=d["industry_willing"]
        )

    page = Page(
        _("Willing to develop farming or a business"),
        _("Save"),
        _("Members able to work and willing are suggested industry support (产业帮扶)."),
    )
    return _form_page(request, household, form, page, call, _("Saved."))


@never_cache
@login_required
def category(request, pk):
    """The county decides the household's monitoring category."""
    household = _household(request, pk)
    form = CategoryForm(*_bound(request), initial={"category": household.category})

    def call(d):
        services.household_set_category(
            household=household, actor=request.user, category=d["category"], reason=d["reason"]
        )

    page = Page(
        _("Monitoring category"),
        _("Save"),
        _(
            "Monthly follow-up visits for households formerly poor and not yet stable, "
            "quarterly for the others."
        ),
    )
    return _form_page(request, household, form, page, call, _("Saved."))


@login_required
def document(request, doc_pk):
    doc = get_object_or_404(household_documents_visible_to(request.user), pk=doc_pk)
    record(Action.DOWNLOAD, request=request, target=doc)
    return private_download(doc, name=f"evidence-{doc.pk}")
