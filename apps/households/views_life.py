"""Staff pages of a household's life events: a member joins, leaves or dies; the
household splits, or merges into another. Like the other household pages: the
household is loaded through `visible_to` (404 outside one's region), every change is one
service call that checks the role again; a refusal naming a field comes back at that
field (400), any other as a redirect to the page with its message (Post/Redirect/Get). The move to another village is
on the case's side (apps/declarations/views_life.py): the open case follows.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from apps.audit.models import Action
from apps.audit.services import record
from apps.core.errors import ActionRefused, NotPermitted
from apps.core.views import at_field, refused
from apps.regions.models import COUNTY_ROLES, VILLAGE_ROLES, roles_over

from .forms_life import MemberJoinForm, MemberLeaveForm, MergeForm, SplitForm
from .models import HouseholdMember
from .services.enrolment import MemberFacts
from .services.life_events import (
    household_merge,
    household_split,
    member_join,
    member_leave,
)
from .views import Page, _bound, _household

TEMPLATE = "households/life/form.html"


def life_form_page(
    request, form, page: Page, call, done: str, back: str, *, roles, region_code, **context
):
    """Show the form; on a valid POST make the one service call and go to `back`. Bad
    input is 400 at the field, whether the form or the service found it; any other
    refusal redirects to the page (GET) with its message. Without one of `roles` over the
    region, the page says so (403) before anything is read from the form; the service
    checks again."""
    base = {"form": form, "page": page, "back": back, **context}
    if not roles_over(request.user, region_code) & roles:
        return render(request, TEMPLATE, {**base, "refusal": NotPermitted().message}, status=403)
    if request.method != "POST":
        return render(request, TEMPLATE, base)
    if not form.is_valid():
        return render(request, TEMPLATE, base, status=400)
    try:
        target = call(form.cleaned_data)
    except ActionRefused as exc:
        # Bad input named at a field is the form's (400); any other refusal goes back
        # to the page (GET) with its message.
        if at_field(form, exc):
            return render(request, TEMPLATE, base, status=400)
        return refused(request, exc, request.get_full_path())
    messages.success(request, done)
    return target or redirect(back)


def _page(request, household, form, page, call, done, roles):
    if request.method == "GET":
        record(Action.VIEW, request=request, target=household)
    back = reverse("households:detail", args=[household.pk])
    return life_form_page(
        request,
        form,
        page,
        call,
        done,
        back,
        roles=roles,
        region_code=household.region_code,
        household=household,
    )


@never_cache
@login_required
def member_add(request, pk):
    household = _household(request, pk)
    form = MemberJoinForm(*_bound(request)[:1])

    def call(d):
        member_join(
            household=household,
            actor=request.user,
            member=MemberFacts(
                name=d["name"],
                relation=d["relation"],
                id_number=d["id_number"],
                labour_capacity=d["labour_capacity"],
                health=d["health"],
                schooling=d["schooling"],
            ),
            joined_on=d["joined_on"],
            reason=d["reason"],
        )

    page = Page(
        _("A member joins the household"),
        _("Add the member"),
        _("Born, married in or moved in: the member counts from the date given."),
    )
    return _page(request, household, form, page, call, _("The member is added."), VILLAGE_ROLES)


@never_cache
@login_required
def member_leave_page(request, pk, member_pk):
    household = _household(request, pk)
    member = get_object_or_404(HouseholdMember.objects, pk=member_pk, household=household)
    form = MemberLeaveForm(*_bound(request)[:1], member=member)

    def call(d):
        member_leave(
            member=member,
            actor=request.user,
            why=d["why"],
            left_on=d["left_on"],
            reason=d["reason"],
            new_head=d["new_head"],
        )

    page = Page(
        _("%(name)s: died or left the household") % {"name": member.name},
        _("Record"),
        _(
            "The member stays on record with the date; the household's size and labour "
            "count the members now. When the head leaves, choose the new head."
        ),
        danger=True,
    )
    return _page(request, household, form, page, call, _("Recorded."), VILLAGE_ROLES)


@never_cache
@login_required
def split(request, pk):
    household = _household(request, pk)
    form = SplitForm(*_bound(request)[:1], household=household)

    def call(d):
        new = household_split(
            household=household,
            actor=request.user,
            members=list(d["members"]),
            head=d["head"],
            split_on=d["split_on"],
            reason=d["reason"],
        )
        return redirect("households:detail", new.pk)

    page = Page(
        _("The household splits"),
        _("Split the household"),
        _(
            "The members chosen form a monitored household of their own, with a new help "
            "plan and follow-up visits; this household keeps its plan and visits."
        ),
    )
    return _page(
        request, household, form, page, call, _("The new household is created."), COUNTY_ROLES
    )


@never_cache
@login_required
def merge(request, pk):
    household = _household(request, pk)
    form = MergeForm(*_bound(request)[:1], household=household, user=request.user)

    def call(d):
        into = household_merge(
            household=household,
            into=d["into"],
            actor=request.user,
            merged_on=d["merged_on"],
            reason=d["reason"],
        )
        return redirect("households:detail", into.pk)

    page = Page(
        _("Merge into another household"),
        _("Merge"),
        _(
            "The other household absorbs this one's members; this household is closed "
            "with a reference to it, its history kept."
        ),
        danger=True,
    )
    return _page(
        request, household, form, page, call, _("The households are merged."), COUNTY_ROLES
    )
