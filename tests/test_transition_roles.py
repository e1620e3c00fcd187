"""Who may make each transition, as it declares on the state machine: through its
service, a user holding a declared role over the row's region makes it, and a user
holding any other role over that region is refused with nothing changed."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import Declaration, State
from apps.households import services as hs
from apps.households.models import EliminationProposal, HelpPlan, MonitoredHousehold, PlanState
from apps.households.models import EliminationState as E
from apps.regions.models import Role
from apps.screening import services as ss
from apps.screening.models import Warning, WarningState

from .conftest import ANDING, LUJIAGOU, PROVINCE, WOGOU, declaration_input, make_staff
from .households_steps import approve_plan, enrol, new_id
from .review_steps import to_county, to_notice, to_township, to_verified, visit
from .screening_steps import person, roster_household
from .test_monitoring import evidence
from .test_screening import raise_medical

pytestmark = pytest.mark.django_db

SERIALS = itertools.count(100)
TODAY = timezone.localdate


@pytest.fixture
def staff(regions):
    """A user of each role over 窝沟村, each at the level the role belongs to."""
    where = {
        Role.GRID: WOGOU,
        Role.VILLAGE: WOGOU,
        Role.TOWNSHIP: LUJIAGOU,
        Role.COUNTY: ANDING,
        Role.CITY: "621100000000",
        Role.PROVINCE: PROVINCE,
        Role.DEPARTMENT: ANDING,
    }
    return {role: make_staff(f"{role}-user", regions[code], role) for role, code in where.items()}


class World:
    """Fresh rows in a given state, brought there by the right people."""

    def __init__(self, regions, staff, batch):
        self.regions, self.batch = regions, batch
        self.grid, self.township = staff[Role.GRID], staff[Role.TOWNSHIP]
        self.county = staff[Role.COUNTY]

    def case(self, state) -> Declaration:
        serial = next(SERIALS)
        with time_machine.travel(timezone.now() - dt.timedelta(days=21)):
            data = declaration_input(id_number=new_id(serial), phone=f"1390000{serial:04d}")
            case = s.declaration_submit(village=self.regions[WOGOU], data=data).declaration
        grid, township = self.grid, self.township
        steps = {
            State.ACCEPTED: lambda: s.declaration_accept(declaration=case, actor=grid),
            State.VERIFIED: lambda: to_verified(case, grid),
            State.IN_NOTICE: lambda: to_notice(case, grid),
            State.TOWNSHIP_REVIEW: lambda: (
                to_township(case, grid),
                s.declaration_record_property_check(
                    declaration=case, actor=township, vehicles="无", housing="无", business="无"
                ),
            ),
            State.COUNTY_REVIEW: lambda: to_county(case, grid, township),
        }
        steps.get(state, lambda: None)()
        case.refresh_from_db()
        return case

    def rejected(self, role) -> Declaration:
        """Rejected by the level below `role`, and appealed to it."""
        if role == Role.TOWNSHIP:
            case = self.case(State.ACCEPTED)
            s.declaration_village_reject(declaration=case, actor=self.grid, reason="收入超标")
        else:
            case = self.case(State.TOWNSHIP_REVIEW)
            s.declaration_township_reject(declaration=case, actor=self.township, reason="有车")
        s.appeal_file(declaration=case, reason="有异议", channel="online")
        return case

    def plan(self, state) -> HelpPlan:
        household = enrol(self.regions, self.county, serial=next(SERIALS))
        if state == PlanState.APPROVED:
            return approve_plan(
                household, grid=self.grid, township=self.township, county=self.county
            )[0]
        plan = household.plans.get()
        hs.plan_add_measure(
            plan=plan,
            actor=self.grid,
            measure=hs.MeasureInput(
                policy=None, kind="medical", title="医疗救助", responsible="王"
            ),
        )
        if state != PlanState.DRAFT:
            hs.plan_submit(plan=plan, actor=self.grid)
        if state == PlanState.COUNTY_APPROVAL:
            hs.plan_township_pass(plan=plan, actor=self.township)
        return plan

    def proposal(self, state) -> EliminationProposal:
        household = enrol(self.regions, self.county, serial=next(SERIALS))
        proposal = hs.elimination_propose(household=household, actor=self.grid, evidence=evidence())
        if state == E.TOWNSHIP_CHECKED:
            hs.elimination_township_pass(proposal=proposal, actor=self.township)
        return proposal

    def warning(self, state) -> Warning:
        serial = next(SERIALS)
        household = roster_household(self.regions, number=f"{serial:03d}", serials=(serial,))
        raise_medical(self.batch, person(household, serial=serial), row=serial)
        return Warning.objects.latest("pk")


def do(service, row="declaration", **kwargs):
    """Make the transition through `service`, on the row, as the user."""
    return lambda obj, user: service(**{row: obj}, actor=user, **kwargs)


def start_notice(case, user):
    s.declaration_assess_income(
        declaration=case, actor=user, household_size=2, compared_on=TODAY() - dt.timedelta(days=10)
    )
    s.declaration_record_evaluation(
        declaration=case,
        actor=user,
        evaluation_date=TODAY() - dt.timedelta(days=9),
        outcome="agreed",
        notice_start=TODAY() - dt.timedelta(days=8),
        notice_end=TODAY() + dt.timedelta(days=2),
    )


def merge(case, user):
    twin = Declaration.objects.exclude(pk=case.pk).open().first()
    s.declaration_merge(declaration=case, into=twin, actor=user, reason="同一户")


def reopen(case, user):
    appeal = case.appeals.get()
    s.appeal_decide(appeal=appeal, actor=user, outcome="reopened", reason="复核属实")


WHY = {"reason": "理由"}
VERIFIED = {"row": "warning", "method": "visited", "reason": "已入户核实。"}
APPLICANT = ss.Applicant(phone="13700007777", difficulties=["illness"], address_group="3组")

# (model, transition, the state it is made from): how to make it.
RECIPES = {
    (Declaration, "accept", State.SUBMITTED): do(s.declaration_accept),
    (Declaration, "verify", State.ACCEPTED): do(s.declaration_record_visit, visit=visit()),
    (Declaration, "start_notice", State.VERIFIED): start_notice,
    (Declaration, "pass_to_township", State.IN_NOTICE): do(s.declaration_pass_to_township),
    (Declaration, "village_reject", State.ACCEPTED): do(s.declaration_village_reject, **WHY),
    (Declaration, "township_approve", State.TOWNSHIP_REVIEW): do(s.declaration_township_approve),
    (Declaration, "township_return", State.TOWNSHIP_REVIEW): do(
        s.declaration_township_return, **WHY
    ),
    (Declaration, "township_reject", State.TOWNSHIP_REVIEW): do(
        s.declaration_township_reject, **WHY
    ),
    (Declaration, "county_approve", State.COUNTY_REVIEW): do(s.declaration_county_approve),
    (Declaration, "county_return", State.COUNTY_REVIEW): do(s.declaration_county_return, **WHY),
    (Declaration, "county_reject", State.COUNTY_REVIEW): do(s.declaration_county_reject, **WHY),
    (Declaration, "reopen", State.REJECTED): reopen,
    (Declaration, "recheck", State.REJECTED): do(s.declaration_recheck, **WHY),
    (Declaration, "withdraw", State.ACCEPTED): do(s.declaration_withdraw, **WHY),
    (Declaration, "merge", State.SUBMITTED): merge,
    (HelpPlan, "submit", PlanState.DRAFT): do(hs.plan_submit, "plan"),
    (HelpPlan, "township_pass", PlanState.TOWNSHIP_CHECK): do(hs.plan_township_pass, "plan"),
    (HelpPlan, "send_back", PlanState.TOWNSHIP_CHECK): do(hs.plan_send_back, "plan", **WHY),
    (HelpPlan, "send_back", PlanState.COUNTY_APPROVAL): do(hs.plan_send_back, "plan", **WHY),
    (HelpPlan, "approve", PlanState.COUNTY_APPROVAL): do(hs.plan_approve, "plan"),
    (HelpPlan, "revise", PlanState.APPROVED): do(hs.plan_revise, "plan", **WHY),
    (EliminationProposal, "township_pass", E.PROPOSED): do(
        hs.elimination_township_pass, "proposal"
    ),
    (EliminationProposal, "refuse", E.PROPOSED): do(hs.elimination_refuse, "proposal", **WHY),
    (EliminationProposal, "refuse", E.TOWNSHIP_CHECKED): do(
        hs.elimination_refuse, "proposal", **WHY
    ),
    (EliminationProposal, "approve", E.TOWNSHIP_CHECKED): do(hs.elimination_approve, "proposal"),
    (Warning, "find_no_risk", WarningState.OPEN): do(
        ss.warning_verify, outcome=ss.Outcome.NO_RISK, **VERIFIED
    ),
    (Warning, "refer", WarningState.OPEN): do(
        ss.warning_verify, outcome=ss.Outcome.REFER, **VERIFIED
    ),
    (Warning, "convert", WarningState.OPEN): do(
        ss.warning_verify, outcome=ss.Outcome.RISK, applicant=APPLICANT, **VERIFIED
    ),
}


def declared(model, name, source):
    """The roles the transition declares from this state."""
    return getattr(model, name)._django_fsm.get_transition(source).permission


def test_every_transition_someone_may_make_has_a_recipe_here():
    """Whoever adds a transition with roles, or roles to a source, adds it to RECIPES."""
    machines = [Declaration, HelpPlan, EliminationProposal, Warning, MonitoredHousehold]
    found = {
        (model, t.name, t.permission)
        for model in machines
        for field in model._meta.fields
        if hasattr(field, "get_all_transitions")
        for t in field.get_all_transitions(model)
        if t.permission
    }
    assert {(m, n, declared(m, n, src)) for m, n, src in RECIPES} == found


@pytest.mark.parametrize("key", list(RECIPES), ids=lambda k: f"{k[0].__name__}.{k[1]}-{k[2]}")
def test_the_declared_roles_may_make_the_transition_and_no_others(key, regions, staff, batch, line):
    model, name, source = key
    world = World(regions, staff, batch)
    roles = sorted(declared(model, name, source))
    rows = {
        Declaration: world.case,
        HelpPlan: world.plan,
        EliminationProposal: world.proposal,
        Warning: world.warning,
    }

    def fresh(role):
        """A row in the source state; one reopened on appeal is the appeal level's."""
        return world.rejected(role) if name in ("reopen", "recheck") else rows[model](source)

    if name == "merge":
        world.case(State.SUBMITTED)  # the twin it is merged into
    row = fresh(roles[0])
    for role, user in staff.items():
        if role not in roles:
            with pytest.raises(s.NotPermitted):
                RECIPES[key](row, user)
            assert model.objects.get(pk=row.pk).state == source, role
    for role in roles:
        row = row if role == roles[0] else fresh(role)
        RECIPES[key](row, staff[role])
        assert model.objects.get(pk=row.pk).state != source, role
