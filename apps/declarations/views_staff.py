"""Pages for the people who work cases: grid workers on phones, township staff.

Every page loads the case through the scoped selectors (404 outside one's region) and
every change goes through a service, which checks role, region and state again.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from apps.audit.models import Action, Result
from apps.audit.services import record
from apps.core.identity import mask_id_number
from apps.core.uploads import clean_upload
from apps.core.views import (
    REFUSAL_STATUS,
    at_field,
    client_ip,
    private_download,
    refused,
    store_cleaned,
    with_upload,
)
from apps.deadlines.models import Clock, Stage
from apps.deadlines.services import clock_marks
from apps.households import views as household_views
from apps.households.forms import ReidentifyForm
from apps.households.models import PolicyMeasure
from apps.regions.models import (
    CASEWORK_ROLES,
    COUNTY_ROLES,
    TOWNSHIP_ROLES,
    VILLAGE_ROLES,
    Absence,
    Role,
    StaffMembership,
    roles_over,
    user_memberships,
)

from . import services
from .forms import StaffDeclarationForm
from .forms_green import GreenChannelForm, GreenHelpForm
from .forms_queue import BatchApproveForm, QueueFilterForm
from .forms_review import (
    AnnouncementForm,
    AppealDecisionForm,
    DocumentForm,
    EvaluationForm,
    IncomeForm,
    MergeForm,
    PropertyCheckForm,
    ReasonForm,
    SearchForm,
    StaffAppealForm,
    VisitDateForm,
    VisitFindingsForm,
    VisitMoneyForm,
    member_formset,
)
from .models import (
    CLOSED_STATES,
    IDENTITY_KINDS,
    Appeal,
    AppealOutcome,
    Declaration,
    DocumentKind,
    State,
    Step,
    VisitDocument,
    VisitDraft,
)
from .models.review import EXPENSE_FIELDS, INCOME_FIELDS
from .resumable import discard_upload, new_form_key, once, take_upload
from .selectors import (
    BUTTONS,
    available_steps,
    case_household,
    declaration_timeline,
    declarations_search,
    declarations_visible_to,
    procedure_dates,
    queue_filter,
    queue_ordered,
    queue_procedure_dates,
    queue_rows,
    stage_counts,
    stage_filter,
    villages_for_entry,
    with_due_on,
    worker_open_cases,
)
from .services import declaration_clocks
from .services.appeals import DECIDING_ROLES
from .services.green import GREEN_ROLES, HelpInput
from .services.life_events import MOVE_ROLES
from .services.review import MemberInput, VisitInput


def _case(request, tracking_number) -> Declaration:
    return get_object_or_404(
        declarations_visible_to(request.user).select_related("created_by", "merged_into"),
        tracking_number=tracking_number,
    )


@login_required
def home(request):
    """My open cases, the highest risk score first."""
    rows = worker_open_cases(request.user)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    memberships = StaffMembership.objects.filter(user=request.user, is_active=True).select_related(
        "region"
    )
    standing_in = (
        Absence.objects.on(timezone.localdate())
        .filter(substitute=request.user)
        .select_related("user", "region")
    )
    return render(
        request,
        "declarations/staff/home.html",
        {
            "page": page,
            "memberships": memberships,
            "standing_in": standing_in,
            "search": SearchForm(),
            "can_enter": villages_for_entry(request.user).exists(),
        },
    )


QUEUE_PAGE_SIZE = 50  # light enough for a phone: no photos, one line a case


def _default_stage(user) -> str:
    """The township works its review queue; a county clerk who opens it, theirs."""
    roles = {role for _prefix, role in user_memberships(user)}
    if roles & COUNTY_ROLES and not roles & TOWNSHIP_ROLES:
        return State.COUNTY_REVIEW
    return State.TOWNSHIP_REVIEW


def _query_with(params, **changes) -> str:
    params = params.copy()
    params.pop("page", None)
    for key, value in changes.items():
        params[key] = value
    return params.urlencode()


# A refused batch approval, kept in the session for the queue's next GET.
QUEUE_REFUSAL = "queue_refusal"


def _queue_refusal(request) -> tuple[dict | None, set]:
    """The refusal of the batch approval just posted (Post/Redirect/Get), once: its
    message, each refused case (those the user can still see) with its reason, and the
    boxes that were ticked."""
    stored = request.session.pop(QUEUE_REFUSAL, None)
    if not stored:
        return None, set()
    cases = declarations_visible_to(request.user).in_bulk(
        [number for number, _reason in stored["refusals"]], field_name="tracking_number"
    )
    refusals = [
        {"declaration": cases[number], "reason": reason}
        for number, reason in stored["refusals"]
        if number in cases
    ]
    return {"message": stored["message"], "refusals": refusals}, set(stored["ticked"])


def _queue_page(request, *, batch_form=None, status=200):
    """The queue: filters, counts by stage, a page of cases highest risk score first, and the
    boxes to tick for batch approval."""
    refusal, ticked = _queue_refusal(request) if request.method == "GET" else (None, set())
    params = request.GET.copy()
    params.setdefault("stage", _default_stage(request.user))
    form = QueueFilterForm(request.user, params)
    if not form.is_valid() and status == 200:
        status = 400
    base = queue_filter(with_due_on(Declaration.objects.visible_to(request.user)), **form.filters())
    stage = form.cleaned_data.get("stage", "")
    counts = stage_counts(base)
    stages = [
        {
            "label": label,
            "count": counts.get(value, 0),
            "query": _query_with(params, stage=value),
            "selected": value == stage,
        }
        for value, label in State.choices
        if counts.get(value)
    ]
    open_count = sum(n for state, n in counts.items() if state not in CLOSED_STATES)
    cases = queue_ordered(stage_filter(base, stage)).select_related("village")
    page = Paginator(cases, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = queue_rows(page.object_list)
    selectable = {
        r.declaration.tracking_number
        for r in rows
        if r.declaration.state == State.TOWNSHIP_REVIEW
        and roles_over(request.user, r.declaration.region_code) & TOWNSHIP_ROLES
    }
    appeals = [
        a
        for a in Appeal.objects.visible_to(request.user)
        .pending()
        .select_related("declaration__village")
        if roles_over(request.user, a.declaration.region_code) & DECIDING_ROLES[a.level]
    ]
    return render(
        request,
        "declarations/staff/queue.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "stages": stages,
            "all_open": {
                "count": open_count,
                "query": _query_with(params, stage=""),
                "selected": not stage,
            },
            "query": _query_with(params),
            "selectable": selectable,
            # A refused batch comes back with its boxes still ticked.
            "ticked": set(request.POST.getlist("cases")) if batch_form else ticked,
            "batch_form": batch_form,
            "refusal": refusal,
            "appeals": appeals,
            "procedure_rows": queue_procedure_dates(rows),
        },
        status=status,
    )


@never_cache
@login_required
def queue(request):
    """The township's review queue across its villages, and the appeals waiting for the
    user's level to decide."""
    return _queue_page(request)


@never_cache
@login_required
@require_POST
def queue_approve(request):
    """Approve the ticked cases to the county, all or none: a case that is not ready
    (property check missing, no longer under township review) stops the batch, and the
    page lists why. The queue's filters ride along in the query string."""
    form = BatchApproveForm(request.user, request.POST)
    if not form.is_valid():
        return _queue_page(request, batch_form=form, status=400)
    try:
        done = services.declarations_township_approve_batch(
            declarations=form.cleaned_data["cases"], actor=request.user
        )
    except services.ActionRefused as exc:
        # Back to the queue (GET), which shows why each case was refused, with the
        # boxes still ticked.
        request.session[QUEUE_REFUSAL] = {
            "message": str(exc.message),
            "refusals": [
                (d.tracking_number, str(r.message)) for d, r in getattr(exc, "refusals", [])
            ],
            "ticked": request.POST.getlist("cases"),
        }
        query = request.GET.urlencode()
        return redirect(reverse("staff:queue") + (f"?{query}" if query else ""))
    messages.success(
        request,
        ngettext(
            "%(count)d case approved to the county.",
            "%(count)d cases approved to the county.",
            len(done),
        )
        % {"count": len(done)},
    )
    query = request.GET.urlencode()
    return redirect(reverse("staff:queue") + (f"?{query}" if query else ""))


@never_cache
@login_required
@sensitive_post_parameters("phone", "id_number", "declarant_phone")
def enter(request):
    """A new declaration from a cadre visit, the 12317 hotline or a paper application,
    entered by staff of the village's subtree. A person with a case in progress gets no
    second one: the page says so, with a link to the case when the user may see it."""
    villages = villages_for_entry(request.user)
    if not villages.exists():
        raise Http404
    form = StaffDeclarationForm(request.POST or None, villages=villages)
    context = {"form": form, "existing": None, "existing_hidden": False}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "declarations/staff/enter.html", context, status=400)
        try:
            result = services.declaration_enter(
                village=form.cleaned_data["village"],
                data=form.to_input(),
                channel=form.cleaned_data["channel"],
                actor=request.user,
                submission_token=form.cleaned_data["token"],
            )
        except services.ActionRefused as exc:
            if at_field(form, exc):
                return render(request, "declarations/staff/enter.html", context, status=400)
            return refused(request, exc, "staff:enter")
        if result.created or result.reason == "duplicate_submit":
            messages.success(request, _("The declaration is entered."))
            return redirect("staff:detail", result.declaration.tracking_number)
        # The person has a case in progress: shown only to those who may see it.
        existing = declarations_visible_to(request.user).filter(pk=result.declaration.pk).first()
        if existing is not None:
            record(Action.VIEW, request=request, target=existing)
        context.update(existing=existing, existing_hidden=existing is None)
        return render(request, "declarations/staff/enter.html", context, status=409)
    return render(request, "declarations/staff/enter.html", context)


@login_required
def search(request):
    form = SearchForm(request.GET)
    results = declarations_search(request.user, form.cleaned_data["q"]) if form.is_valid() else []
    return render(request, "declarations/staff/search.html", {"search": form, "results": results})


def _appeal_context(declaration: Declaration, user) -> dict:
    pending = next((a for a in declaration.appeals.all() if not a.outcome), None)
    roles = roles_over(user, declaration.region_code)
    return {
        "pending_appeal": pending,
        "can_record_appeal": declaration.state == State.REJECTED
        and pending is None
        and not any(a.outcome == AppealOutcome.UPHELD for a in declaration.appeals.all())
        and roles & CASEWORK_ROLES,
        "is_rejecter": pending is not None and pending.rejected_by_id == user.pk,
        "can_decide_appeal": pending is not None
        and bool(roles & DECIDING_ROLES[pending.level])
        and pending.rejected_by_id != user.pk,
    }


def _clock_rows(declaration: Declaration) -> list[tuple]:
    """Every deadline of the case and of its appeals, with its mark (受理核查时限标注)."""
    clocks = list(declaration_clocks(declaration).values())
    appeal_ids = [a.pk for a in declaration.appeals.all()]
    clocks += list(Clock.objects.filter(subject_type="appeal", subject_id__in=appeal_ids))
    order = {stage: i for i, stage in enumerate(Stage.values)}
    clocks.sort(key=lambda c: (order.get(c.stage, 99), c.started_at))
    return list(zip(clocks, clock_marks(clocks), strict=True))


def _green_context(declaration: Declaration, user, clocks: list[tuple]) -> dict:
    """The green channel (绿色通道): what was given, and its one-month clock."""
    green = getattr(declaration, "green_channel", None)
    may = bool(roles_over(user, declaration.region_code) & GREEN_ROLES) and declaration.is_open
    return {
        "green": green,
        "green_help": list(green.help.select_related("policy")) if green else [],
        "green_clock": next(((c, m) for c, m in clocks if c.stage == Stage.GREEN_CHANNEL), None),
        "can_open_green": may and green is None,
        "can_record_green_help": may and green is not None,
    }


def _detail_context(request, declaration: Declaration, **forms) -> dict:
    visit = declaration.visits.prefetch_related("members").first()
    clocks = _clock_rows(declaration)
    timeline = declaration_timeline(declaration)
    return {
        "declaration": declaration,
        "timeline": timeline,
        # Why the case stands where it is: the reason of its last change of state.
        "returned_reason": next((e.reason for e in reversed(timeline) if e.changes_state), ""),
        "visit": visit,
        "income": getattr(declaration, "income", None),
        "evaluation": declaration.evaluations.order_by("-pk").first(),
        "property_check": getattr(declaration, "property_check", None),
        "documents": declaration.documents.order_by("kind", "pk"),
        "consents": declaration.consents.all(),
        "letter_missing": services.authorization_missing(declaration),
        "appeals": declaration.appeals.all(),
        "actions": available_steps(declaration, request.user),
        "can_reveal": request.user.has_perm("declarations.reveal_personal_data"),
        # Where the visit was recorded: the township and above; the village sees only
        # whether it was.
        "can_see_location": bool(
            roles_over(request.user, declaration.region_code) & LOCATION_ROLES
        ),
        "identity_kinds": IDENTITY_KINDS,
        "can_upload": declaration.is_open
        and bool(roles_over(request.user, declaration.region_code) & VILLAGE_ROLES),
        # Life events (views_life.py): the household moves; the applicant died.
        "can_move": declaration.is_open
        and bool(roles_over(request.user, declaration.region_code) & MOVE_ROLES),
        "can_record_death": declaration.is_open
        and bool(roles_over(request.user, declaration.region_code) & CASEWORK_ROLES),
        "clocks": clocks,
        "declarants": declaration.declarants.all(),
        "household": case_household(declaration, request.user),
        **_green_context(declaration, request.user, clocks),
        "reason_form": forms.get("reason_form") or ReasonForm(),
        "merge_form": forms.get("merge_form") or MergeForm(),
        "document_form": forms.get("document_form") or DocumentForm(),
        "appeal_form": forms.get("appeal_form") or StaffAppealForm(),
        "decision_form": forms.get("decision_form") or AppealDecisionForm(),
        "failed_action": forms.get("failed_action", ""),
        **_appeal_context(declaration, request.user),
        **_procedure_context(declaration, request.user, clocks),
    }


# The step a case waits on in each state, and so the documents it needs next.
NEXT_STEP = {
    State.VERIFIED: Step.INCOME,
    State.IN_NOTICE: Step.PASS_UP,
    State.RETURNED: Step.PASS_UP,
    State.TOWNSHIP_REVIEW: Step.PROPERTY,
}


def _procedure_context(declaration: Declaration, user, clocks: list[tuple]) -> dict:
    """The procedure's dates on one line, the documents the next step still needs,
    the result announcement and the printable forms (templates/…/_procedure.html)."""
    step = NEXT_STEP.get(declaration.state)
    missing = services.missing_documents(declaration, step) if step else []
    return {
        "procedure_dates": procedure_dates(declaration, {c.stage: c for c, _m in clocks}),
        "missing_documents": {
            "step": Step(step).label,
            "labels": services.document_labels(missing),
        }
        if missing
        else None,
        "announcements": declaration.announcements.select_related("recorded_by"),
        "can_announce": declaration.state == State.ENROLLED
        and bool(roles_over(user, declaration.region_code) & VILLAGE_ROLES),
    }


@never_cache
@login_required
def detail(request, tracking_number):
    declaration = _case(request, tracking_number)
    record(Action.VIEW, request=request, target=declaration)
    return render(request, "declarations/staff/detail.html", _detail_context(request, declaration))


def _refused(request, declaration, exc: services.ActionRefused):
    """A refused step: back to the case page (GET), the refusal shown there."""
    return refused(request, exc, "staff:detail", declaration.tracking_number)


@never_cache
@login_required
@require_POST
def act(request, tracking_number, action):
    """The buttons on a case page: accept, pass up, approve, return, reject, withdraw, merge."""
    declaration = _case(request, tracking_number)
    spec = BUTTONS.get(action)
    if spec is None:
        raise Http404
    form_class = {"reason": ReasonForm, "merge": MergeForm}.get(spec.form)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        key = "merge_form" if spec.form == "merge" else "reason_form"
        context = _detail_context(request, declaration, failed_action=action, **{key: form})
        return render(request, "declarations/staff/detail.html", context, status=400)
    kwargs = {"declaration": declaration, "actor": request.user}
    if spec.form == "reason":
        kwargs["reason"] = form.cleaned_data["reason"]
    if spec.form == "merge":
        kwargs["reason"] = form.cleaned_data["reason"]
        kwargs["into"] = get_object_or_404(
            declarations_visible_to(request.user), tracking_number=form.cleaned_data["into"]
        )
    try:
        getattr(services, f"declaration_{action}")(**kwargs)
    except services.ActionRefused as exc:
        return _refused(request, declaration, exc)
    messages.success(request, _("Done: %(action)s.") % {"action": spec.label})
    return redirect("staff:detail", declaration.tracking_number)


def _page(request, declaration, template, context, status=200):
    return render(request, template, {"declaration": declaration, **context}, status=status)


LOCATION_ROLES = {Role.TOWNSHIP, Role.COUNTY, Role.CITY, Role.PROVINCE}

# The home visit, one screen at a time on a phone; each step is saved on the server
# (VisitDraft) and the last records the visit through the service.
VISIT_STEPS = ("date", "members", "money", "findings")
VISIT_STEP_TITLES = {
    "date": _lazy("Date and place"),
    "members": _lazy("Household members"),
    "money": _lazy("Income and expenses"),
    "findings": _lazy("Findings and photo"),
}


@never_cache
@login_required
def visit(request, tracking_number):
    """The visit form: the step the worker's draft stopped at, or the first."""
    declaration = _case(request, tracking_number)
    draft = VisitDraft.objects.filter(declaration=declaration, author=request.user).first()
    step = draft.values.get("step") if draft else None
    return redirect("staff:visit_step", declaration.tracking_number, step or VISIT_STEPS[0])


@never_cache
@login_required
def visit_step(request, tracking_number, step):
    if step not in VISIT_STEPS:
        raise Http404
    declaration = _case(request, tracking_number)
    if request.method == "POST":
        response = once(request, lambda: _visit_step_post(request, declaration, step))
    else:
        draft = VisitDraft.objects.filter(declaration=declaration, author=request.user).first()
        values = draft.values if draft else {}
        response = _visit_step_page(
            request, declaration, step, _visit_step_forms(declaration, step, values)
        )
    # The first step asks the phone where it is (with the worker's consent).
    response["Permissions-Policy"] = ", ".join(
        f"{feature}=({'self' if feature == 'geolocation' else ' '.join(origins)})"
        for feature, origins in settings.PERMISSIONS_POLICY.items()
    )
    return response


def _prefilled_members(declaration) -> list[dict]:
    """The household as the roster knows it, or else the applicant."""
    roster = declaration.roster_household
    if roster is not None:
        members = [
            {
                "ref": f"r{m.pk}",
                "name": m.name,
                "relation": m.relation,
                "labour_capacity": m.labour_capacity,
                "health": m.health,
                "disability_grade": m.disability_grade,
                "schooling": m.schooling,
            }
            for m in roster.members.order_by("pk")
        ]
        if members:
            return members
    return [{"ref": "a", "name": declaration.name, "relation": _("applicant")}]


def _ids_on_record(declaration) -> dict[str, str]:
    """The ID numbers the prefilled members have on record, by their `ref`."""
    ids = {"a": declaration.id_number}
    if declaration.roster_household_id:
        for m in declaration.roster_household.members.all():
            ids[f"r{m.pk}"] = m.id_number
    return ids


def _visit_step_forms(declaration, step, values, data=None, files=None) -> dict:
    if step == "date":
        initial = {
            "visit_date": values.get("visit_date") or timezone.localdate(),
            "share_location": bool(values.get("location")),
        }
        return {"form": VisitDateForm(data, initial=initial, declaration=declaration)}
    if step == "members":
        members = values.get("members") or _prefilled_members(declaration)
        extra = 1 if values.get("add_member") else 0
        # What was sent is judged by itself, not against what was prefilled.
        formset = member_formset(extra)(data, initial=members if data is None else None, prefix="m")
        masks = {ref: mask_id_number(n) for ref, n in _ids_on_record(declaration).items() if n}
        for f in formset:
            f.on_record = masks.get(f["ref"].value() or "")
        return {"members": formset}
    if step == "money":
        return {"form": VisitMoneyForm(data, initial=values)}
    return {"form": VisitFindingsForm(data, files, initial=values)}


def _visit_step_page(request, declaration, step, forms_, status=200, refusal=""):
    index = VISIT_STEPS.index(step)
    urls = [reverse("staff:visit_step", args=[declaration.tracking_number, s]) for s in VISIT_STEPS]
    context = {
        **forms_,
        "step": step,
        "step_number": index + 1,
        "step_count": len(VISIT_STEPS),
        "step_title": VISIT_STEP_TITLES[step],
        "previous_url": urls[index - 1] if index else "",
        "next_url": urls[index + 1]
        if index + 1 < len(VISIT_STEPS)
        else reverse("staff:detail", args=[declaration.tracking_number]),
        # Kept on the phone for the signal's sake: the steps and the case page.
        "step_urls": " ".join([*urls, reverse("staff:detail", args=[declaration.tracking_number])]),
        "visit_url": reverse("staff:visit", args=[declaration.tracking_number]),
        "form_key": new_form_key(),
        "refusal": refusal,
    }
    return _page(request, declaration, "declarations/staff/visit_step.html", context, status)


def _visit_step_post(request, declaration, step):
    draft = VisitDraft.objects.filter(declaration=declaration, author=request.user).first()
    forms_ = _visit_step_forms(
        declaration, step, draft.values if draft else {}, request.POST, request.FILES
    )
    form = forms_.get("form") or forms_["members"]
    if not form.is_valid():
        return _visit_step_page(request, declaration, step, forms_, 400)
    if draft is None:
        # Made with the first step saved, not by a refused one.
        draft, _created = VisitDraft.objects.get_or_create(
            declaration=declaration, author=request.user
        )
    next_step = VISIT_STEPS[VISIT_STEPS.index(step) + 1] if step != "findings" else None
    if step == "date":
        d = form.cleaned_data
        draft.store(visit_date=d["visit_date"].isoformat(), location=d["location"], step=next_step)
    elif step == "members":
        members = [
            {k: v for k, v in m.items() if k != "DELETE"}
            for m in form.cleaned_data
            if m and not m.get("DELETE")
        ]
        adding = "add" in request.POST
        draft.store(members=members, add_member=adding, step="members" if adding else next_step)
        if adding:
            return redirect("staff:visit_step", declaration.tracking_number, "members")
    elif step == "money":
        draft.store(**{k: str(v) for k, v in form.cleaned_data.items()}, step=next_step)
    else:
        return _visit_record(request, declaration, draft, forms_)
    return redirect("staff:visit_step", declaration.tracking_number, next_step)


def _visit_record(request, declaration, draft, forms_):
    """The last step: the visit is recorded from the draft, with its photo."""
    form, values = forms_["form"], draft.values
    missing = next((s for s in ("date", "members") if not values.get(_STEP_KEYS[s])), None)
    if missing:
        refusal = _("Fill in the step “%(step)s” first.") % {"step": VISIT_STEP_TITLES[missing]}
        return _visit_step_page(request, declaration, "findings", forms_, 400, refusal)
    d = form.cleaned_data
    photo, upload_id = d["photo"], d["photo_upload"]
    if photo is None and upload_id:
        sent = take_upload(request.user, upload_id)
        if sent is None:
            form.add_error("photo", _("The photo did not arrive whole. Choose it again."))
            return _visit_step_page(request, declaration, "findings", forms_, 400)
        try:
            photo = clean_upload(sent)
        except ValidationError as exc:
            form.add_error("photo", exc)
            return _visit_step_page(request, declaration, "findings", forms_, 400)
    ids = _ids_on_record(declaration)
    members = [
        MemberInput(
            **{k: v for k, v in m.items() if k != "ref"},
        )
        if m.get("id_number") or not ids.get(m.get("ref") or "")
        else MemberInput(
            **{k: v for k, v in m.items() if k not in ("ref", "id_number")},
            id_number=ids[m["ref"]],
        )
        for m in values["members"]
    ]
    visit_data = VisitInput(
        visit_date=dt.date.fromisoformat(values["visit_date"]),
        location=values.get("location", ""),
        members=members,
        risk_types=d["risk_types"],
        findings=d["findings"],
        **{k: Decimal(values.get(k) or 0) for k in INCOME_FIELDS + EXPENSE_FIELDS},
    )
    try:
        _with_document(
            declaration,
            request.user,
            DocumentKind.VISIT_PHOTO,
            photo,
            lambda _doc: services.declaration_record_visit(
                declaration=declaration, actor=request.user, visit=visit_data
            ),
        )
    except services.ActionRefused as exc:
        return _visit_step_page(
            request,
            declaration,
            "findings",
            forms_,
            REFUSAL_STATUS.get(type(exc), 400),
            _at_field(form, exc),
        )
    draft.delete()
    if upload_id:
        user = request.user
        transaction.on_commit(lambda: discard_upload(user, upload_id))
    messages.success(request, _("The home visit is recorded."))
    return redirect("staff:detail", declaration.tracking_number)


_STEP_KEYS = {"date": "visit_date", "members": "members"}


def service_worker(request):
    """static/js/sw.js, served under /staff/ so that it may look after the staff pages
    (a worker's scope is the folder of its script)."""
    path = finders.find("js/sw.js")
    with open(path, "rb") as f:
        response = HttpResponse(f.read(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def _at_field(form, exc: services.ActionRefused) -> str:
    """A refusal that names a field of the form (a date out of the procedure's order)
    is shown at that field; any other above the form."""
    return "" if at_field(form, exc) else exc.message


def _simple_page(request, tracking_number, *, form_class, template, call, done):
    declaration = _case(request, tracking_number)
    form = form_class(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not form.is_valid():
            return _page(request, declaration, template, {"form": form}, 400)
        try:
            call(declaration, form)
        except services.ActionRefused as exc:
            # A date out of order is the form's, at its field; any other refusal is
            # the step's: back to the page (GET) with its message.
            if at_field(form, exc):
                return _page(request, declaration, template, {"form": form}, 400)
            return refused(request, exc, request.get_full_path())
        messages.success(request, done)
        return redirect("staff:detail", declaration.tracking_number)
    return _page(request, declaration, template, {"form": form})


@never_cache
@login_required
def income(request, tracking_number):
    return _simple_page(
        request,
        tracking_number,
        form_class=IncomeForm,
        template="declarations/staff/income.html",
        call=lambda d, f: services.declaration_assess_income(
            declaration=d,
            actor=request.user,
            household_size=f.cleaned_data["household_size"],
            compared_on=f.cleaned_data["compared_on"],
        ),
        done=_("The income is calculated."),
    )


@never_cache
@login_required
def evaluation(request, tracking_number):
    def call(declaration, form):
        d = form.cleaned_data
        _with_document(
            declaration,
            request.user,
            DocumentKind.MINUTES,
            d["minutes"],
            lambda minutes: services.declaration_record_evaluation(
                declaration=declaration,
                actor=request.user,
                evaluation_date=d["evaluation_date"],
                outcome=d["outcome"],
                notice_start=d["notice_start"],
                notice_end=d["notice_end"],
                minutes=minutes,
            ),
        )

    return _simple_page(
        request,
        tracking_number,
        form_class=EvaluationForm,
        template="declarations/staff/evaluation.html",
        call=call,
        done=_("The evaluation and notice are recorded."),
    )


@never_cache
@login_required
def property_check(request, tracking_number):
    return _simple_page(
        request,
        tracking_number,
        form_class=PropertyCheckForm,
        template="declarations/staff/property.html",
        call=lambda d, f: services.declaration_record_property_check(
            declaration=d, actor=request.user, **f.results()
        ),
        done=_("The property check is recorded."),
    )


def _store_document(declaration, user, kind, cleaned, roles=VILLAGE_ROLES) -> VisitDocument:
    if not (declaration.is_open and roles_over(user, declaration.region_code) & roles):
        raise services.NotPermitted
    document = VisitDocument(
        declaration=declaration,
        kind=kind,
        content_type=cleaned.content_type,
        sha256=cleaned.sha256,
        original_name=cleaned.original_name,
        uploaded_by=user,
    )
    return store_cleaned(document, cleaned)


def _with_document(declaration, user, kind, cleaned, call, roles=VILLAGE_ROLES):
    """Store the upload, if any, and make the service call as one: no document (row or
    file) stays without what it documents."""
    return with_upload(
        lambda: _store_document(declaration, user, kind, cleaned, roles) if cleaned else None,
        call,
    )


@never_cache
@login_required
def green_open(request, tracking_number):
    """Open the green channel: help first, the identification within a month."""

    def call(declaration, form):
        d = form.cleaned_data
        _with_document(
            declaration,
            request.user,
            DocumentKind.GREEN_CHANNEL,
            d["evidence"],
            lambda evidence: services.declaration_open_green_channel(
                declaration=declaration,
                actor=request.user,
                cause=d["cause"],
                reason=d["reason"],
                evidence=evidence,
            ),
            roles=GREEN_ROLES,
        )

    return _simple_page(
        request,
        tracking_number,
        form_class=GreenChannelForm,
        template="declarations/staff/green.html",
        call=call,
        done=_("The green channel is open: give help now, identify within a month."),
    )


@never_cache
@login_required
def green_help(request, tracking_number):
    county_code = _case(request, tracking_number).region_code[:6] + "000000"
    policies = PolicyMeasure.objects.for_county(county_code).active()

    def form_class(data=None, files=None):
        initial = {"responsible": str(request.user)}
        return GreenHelpForm(data, files, policies=policies, initial=initial)

    def call(declaration, form):
        services.green_channel_record_help(
            declaration=declaration, actor=request.user, help=HelpInput(**form.cleaned_data)
        )

    return _simple_page(
        request,
        tracking_number,
        form_class=form_class,
        template="declarations/staff/green_help.html",
        call=call,
        done=_("The help given is recorded."),
    )


@never_cache
@login_required
@require_POST
def upload(request, tracking_number):
    declaration = _case(request, tracking_number)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        context = _detail_context(request, declaration, document_form=form)
        return render(request, "declarations/staff/detail.html", context, status=400)
    kind, cleaned = form.cleaned_data["kind"], form.cleaned_data["file"]
    try:
        if kind == DocumentKind.CONSENT:
            # The household's signed authorization letter: its consent, recorded with it.
            services.consent_letter_upload(
                declaration=declaration, actor=request.user, cleaned=cleaned
            )
        else:
            _store_document(declaration, request.user, kind, cleaned)
    except services.ActionRefused as exc:
        return _refused(request, declaration, exc)
    messages.success(request, _("The document is uploaded."))
    return redirect("staff:detail", declaration.tracking_number)


@login_required
def document(request, pk):
    """A document of a case in the user's scope; one that carries identity (an ID card,
    a household register) only with the permission to reveal personal data. Every
    download is recorded, and every refusal."""
    doc = VisitDocument.objects.filter(
        pk=pk, declaration__in=declarations_visible_to(request.user)
    ).first()
    if doc is None:
        record(
            Action.DOWNLOAD,
            request=request,
            target=f"declarations.visitdocument:{pk}",
            result=Result.DENIED,
        )
        raise Http404
    if doc.kind in IDENTITY_KINDS and not request.user.has_perm(
        "declarations.reveal_personal_data"
    ):
        record(Action.DOWNLOAD, request=request, target=doc, kind=doc.kind, result=Result.DENIED)
        raise PermissionDenied
    record(Action.DOWNLOAD, request=request, target=doc, kind=doc.kind)
    return private_download(doc, name=f"{doc.kind}-{doc.pk}")


@never_cache
@login_required
@require_POST
def appeal_record(request, tracking_number):
    declaration = _case(request, tracking_number)
    form = StaffAppealForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, declaration, appeal_form=form)
        return render(request, "declarations/staff/detail.html", context, status=400)
    try:
        services.appeal_file(
            declaration=declaration,
            reason=form.cleaned_data["reason"],
            channel=form.cleaned_data["channel"],
            actor=request.user,
        )
    except services.ActionRefused as exc:
        return _refused(request, declaration, exc)
    messages.success(request, _("The appeal is recorded."))
    return redirect("staff:detail", declaration.tracking_number)


@never_cache
@login_required
@require_POST
def appeal_decide(request, tracking_number):
    declaration = _case(request, tracking_number)
    appeal = get_object_or_404(Appeal, declaration=declaration, outcome="")
    form = AppealDecisionForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, declaration, decision_form=form)
        return render(request, "declarations/staff/detail.html", context, status=400)
    try:
        services.appeal_decide(
            appeal=appeal,
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
            reason=form.cleaned_data["reason"],
        )
    except services.ActionRefused as exc:
        return _refused(request, declaration, exc)
    messages.success(request, _("The appeal is decided."))
    return redirect("staff:detail", declaration.tracking_number)


@login_required
def case_link(request, code):
    """The short link of the new-case SMS: after sign-in, to the case page (which shows
    the case only to users whose region holds it)."""
    pk = services.case_from_link_code(code[:40])
    declaration = get_object_or_404(declarations_visible_to(request.user), pk=pk)
    return redirect("staff:detail", declaration.tracking_number)


@never_cache
@login_required
@require_POST
def reveal(request, tracking_number, field):
    if field not in services.REVEALABLE_FIELDS:
        raise Http404
    declaration = _case(request, tracking_number)
    value = services.declaration_reveal(
        declaration=declaration, field=field, actor=request.user, ip=client_ip(request)
    )
    return render(
        request,
        "declarations/staff/revealed.html",
        {"declaration": declaration, "field": field, "value": value},
    )


@never_cache
@login_required
def reidentify(request, pk):
    """A new risk in a household whose risk was eliminated: a new declaration for it
    (the button is on the household's page; the service is a declarations one)."""
    household = household_views._household(request, pk)
    form = ReidentifyForm(*household_views._bound(request))

    def call(d):
        result = services.declaration_reidentify(
            household=household,
            actor=request.user,
            phone=d["phone"],
            difficulties=d["difficulties"],
            description=d["description"],
        )
        return redirect("staff:detail", result.declaration.tracking_number)

    page = household_views.Page(
        _("Re-identify after a new risk"),
        _("Open a new declaration"),
        _(
            "A new risk after the risk was eliminated is identified again from the start: "
            "the new declaration goes through the village, the township and the county."
        ),
    )
    return household_views._form_page(
        request, household, form, page, call, _("A new declaration is opened.")
    )


@never_cache
@login_required
def announcement(request, tracking_number):
    """结果公告: the village records the result it posted after the county's approval."""

    def call(declaration, form):
        d = form.cleaned_data
        services.declaration_record_announcement(
            declaration=declaration,
            actor=request.user,
            start=d["start"],
            end=d["end"],
            cleaned=d["photo"],
        )

    return _simple_page(
        request,
        tracking_number,
        form_class=AnnouncementForm,
        template="declarations/staff/announcement.html",
        call=call,
        done=_("The result announcement is recorded."),
    )
