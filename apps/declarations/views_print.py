"""Printable A4 forms of the procedure, for one case or for a village's batch: the
pre-filled authorization letter (申请及承诺授权书), the household visit sheet
(入户核查表), the village's public-notice list (公示名单) and the result announcement
(结果公告). Cases load through the user's scope; each page that shows personal data
leaves an audit row (it leaves the system on paper: an export)."""

from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.identity import mask_name
from apps.regions.models import CASEWORK_ROLES, Region, roles_over

from .models import Declaration, State, Step, StepPolicy
from .selectors import declarations_visible_to
from .services.procedure import approval_date

# form: (template, the states of the cases a village's batch takes, the policy step
# whose rule on names applies to the posted list)
FORMS = {
    "letter": ("declarations/print/letter.html", [State.SUBMITTED, State.ACCEPTED], None),
    "visit": ("declarations/print/visit.html", [State.SUBMITTED, State.ACCEPTED], None),
    "notice": ("declarations/print/notice.html", [State.IN_NOTICE], Step.NOTICE),
    "announcement": (
        "declarations/print/announcement.html",
        [State.ENROLLED],
        Step.ANNOUNCEMENT,
    ),
}
BATCH_LIMIT = 300


def _entries(declarations: list[Declaration], form: str, masked: bool) -> list[dict]:
    prefetch_related_objects(declarations, "visits__members", "evaluations")
    entries = []
    for d in declarations:
        visit = max(d.visits.all(), key=lambda v: (v.visit_date, v.pk), default=None)
        entries.append(
            {
                "declaration": d,
                "shown_name": mask_name(d.name) if masked else d.name,
                "members": list(visit.members.all()) if visit else [],
                "evaluation": max(d.evaluations.all(), key=lambda e: e.pk, default=None),
                "approved": approval_date(d) if form == "announcement" else None,
            }
        )
    return entries


def _render(request, form: str, declarations: list[Declaration], *, village, target):
    template, _states, step = FORMS[form]
    masked = bool(step) and StepPolicy.for_step(step).names_masked
    entries = _entries(declarations, form, masked)
    record(
        Action.EXPORT,
        request=request,
        target=target,
        printed=form,
        cases=[d.tracking_number for d in declarations],
    )
    notice = next((e["evaluation"] for e in entries if e["evaluation"]), None)
    return render(
        request,
        template,
        {
            "entries": entries,
            "village": village,
            "today": timezone.localdate(),
            "notice": notice,
            "blank_rows": range(max(0, 6 - max((len(e["members"]) for e in entries), default=0))),
        },
    )


@never_cache
@login_required
def print_case(request, tracking_number, form):
    if form not in FORMS:
        raise Http404
    declaration = get_object_or_404(
        declarations_visible_to(request.user), tracking_number=tracking_number
    )
    if form == "announcement" and declaration.state != State.ENROLLED:
        raise Http404
    if form == "notice" and not declaration.evaluations.exists():
        raise Http404
    return _render(request, form, [declaration], village=declaration.village, target=declaration)


@never_cache
@login_required
def print_village(request, code, form):
    """A village's batch: the letters and visit sheets of the cases waiting for their
    visit, the notice list of the cases under notice, the announcement of the enrolled
    cases not yet announced."""
    if form not in FORMS:
        raise Http404
    village = get_object_or_404(Region.objects.visible_to(request.user).villages(), code=code)
    if not roles_over(request.user, village.code) & CASEWORK_ROLES:
        raise Http404
    _template, states, _step = FORMS[form]
    qs = declarations_visible_to(request.user).filter(village=village, state__in=states)
    if form == "announcement":
        qs = qs.filter(announcements__isnull=True)
    declarations = list(qs.order_by("address_group", "submitted_at")[:BATCH_LIMIT])
    return _render(request, form, declarations, village=village, target=village)
