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
        self.regions, self.staff, self.batch = regions, staff, batch
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


def reason(service, **extra):
    return lambda row, user: service(declaration=row, actor=user, reason="理由", **extra)


def verify(outcome, **applicant):
    return lambda row, user: ss.warning_verify(
        warning=row,
        actor=user,
        method="visited",
        outcome=outcome,
        reason="已入户核实。",
        applicant=ss.Applicant(**applicant) if applicant else None,
    )


def start_notice(case, user):
    s.declaration_assess_income(declaration=case, actor=user, household_size=2)
    s.declaration_record_evaluation(
        declaration=case,
        actor=user,
        evaluation_date=TODAY() - dt.timedelta(days=9),
        outcome="agreed",
        notice_start=TODAY() - dt.timedelta(days=8),
        notice_end=TODAY() + dt.timedelta(days=2),
    )


# (model, transition, the state it is made from): how to get a row there, how to make it.
RECIPES = {
    (Declaration, "accept", State.SUBMITTED): (
        "case",
        lambda c, u: s.declaration_accept(declaration=c, actor=u),
    ),
    (Declaration, "verify", State.ACCEPTED): (
        "case",
        lambda c, u: s.declaration_record_visit(declaration=c, actor=u, visit=visit()),
    ),
    (Declaration, "start_notice", State.VERIFIED): ("case", start_notice),
    (Declaration, "pass_to_township", State.IN_NOTICE): (
        "case",
        lambda c, u: s.declaration_pass_to_township(declaration=c, actor=u),
    ),
    (Declaration, "village_reject", State.ACCEPTED): ("case", reason(s.declaration_village_reject)),
    (Declaration, "township_approve", State.TOWNSHIP_REVIEW): (
        "case",
        lambda c, u: s.declaration_township_approve(declaration=c, actor=u),
    ),
    (Declaration, "township_return", State.TOWNSHIP_REVIEW): (
        "case",
        reason(s.declaration_township_return),
    ),
    (Declaration, "township_reject", State.TOWNSHIP_REVIEW): (
        "case",
        reason(s.declaration_township_reject),
    ),
    (Declaration, "county_approve", State.COUNTY_REVIEW): (
        "case",
        lambda c, u: s.declaration_county_approve(declaration=c, actor=u),
    ),
    (Declaration, "county_return", State.COUNTY_REVIEW): (
        "case",
        reason(s.declaration_county_return),
    ),
    (Declaration, "county_reject", State.COUNTY_REVIEW): (
        "case",
        reason(s.declaration_county_reject),
    ),
    (Declaration, "reopen", State.REJECTED): (
        "rejected",
        lambda c, u: s.appeal_decide(
            appeal=c.appeals.get(), actor=u, outcome="reopened", reason="复核属实"
        ),
    ),
    (Declaration, "withdraw", State.ACCEPTED): ("case", reason(s.declaration_withdraw)),
    (Declaration, "merge", State.SUBMITTED): (
        "case",
        lambda c, u: s.declaration_merge(
            declaration=c,
            into=Declaration.objects.exclude(pk=c.pk).open().first(),
            actor=u,
            reason="同一户",
        ),
    ),
    (HelpPlan, "submit", PlanState.DRAFT): (
        "plan",
        lambda p, u: hs.plan_submit(plan=p, actor=u),
    ),
    (HelpPlan, "township_pass", PlanState.TOWNSHIP_CHECK): (
        "plan",
        lambda p, u: hs.plan_township_pass(plan=p, actor=u),
    ),
    (HelpPlan, "send_back", PlanState.TOWNSHIP_CHECK): (
        "plan",
        lambda p, u: hs.plan_send_back(plan=p, actor=u, reason="缺少就业帮扶"),
    ),
    (HelpPlan, "send_back", PlanState.COUNTY_APPROVAL): (
        "plan",
        lambda p, u: hs.plan_send_back(plan=p, actor=u, reason="金额不符"),
    ),
    (HelpPlan, "approve", PlanState.COUNTY_APPROVAL): (
        "plan",
        lambda p, u: hs.plan_approve(plan=p, actor=u),
    ),
    (HelpPlan, "revise", PlanState.APPROVED): (
        "plan",
        lambda p, u: hs.plan_revise(plan=p, actor=u, reason="新的风险"),
    ),
    (EliminationProposal, "township_pass", E.PROPOSED): (
        "proposal",
        lambda p, u: hs.elimination_township_pass(proposal=p, actor=u),
    ),
    (EliminationProposal, "refuse", E.PROPOSED): (
        "proposal",
        lambda p, u: hs.elimination_refuse(proposal=p, actor=u, reason="收入证明不全"),
    ),
    (EliminationProposal, "refuse", E.TOWNSHIP_CHECKED): (
        "proposal",
        lambda p, u: hs.elimination_refuse(proposal=p, actor=u, reason="收入证明不全"),
    ),
    (EliminationProposal, "approve", E.TOWNSHIP_CHECKED): (
        "proposal",
        lambda p, u: hs.elimination_approve(proposal=p, actor=u),
    ),
    (Warning, "find_no_risk", WarningState.OPEN): ("warning", verify(ss.Outcome.NO_RISK)),
    (Warning, "refer", WarningState.OPEN): ("warning", verify(ss.Outcome.REFER)),
    (Warning, "convert", WarningState.OPEN): (
        "warning",
        verify(ss.Outcome.RISK, phone="13700007777", difficulties=["illness"], address_group="3组"),
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
    make_row, make = RECIPES[key]
    world = World(regions, staff, batch)
    roles = declared(model, name, source)

    def fresh(role):
        row = getattr(world, make_row)(role if make_row == "rejected" else source)
        assert row.state == source
        return row

    if name == "merge":
        world.case(State.SUBMITTED)  # the twin it is merged into
    row = fresh(sorted(roles)[0])
    for role, user in staff.items():
        if role not in roles:
            with pytest.raises(s.NotPermitted):
                make(row, user)
            assert model.objects.get(pk=row.pk).state == source, role
    for i, role in enumerate(sorted(roles)):
        row = row if i == 0 else fresh(role)
        make(row, staff[role])
        assert model.objects.get(pk=row.pk).state != source, role
