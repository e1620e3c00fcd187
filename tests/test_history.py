"""Every write a user makes leaves exactly one row in the history of what it changed
(the case's log, the household's log, the warning's log), naming who acted.

One table: each step brings a case, a household or a warning to where the service
applies, then makes the one service call inside `logged` and says which rows it expects.
"""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from apps.declarations import services as ds
from apps.declarations.models import AppealOutcome, EvaluationOutcome, Transition
from apps.declarations.services import life_events as ls
from apps.households import services as hs
from apps.households.models import (
    HouseholdEvent,
    LookBack,
    LookBackOutcome,
    MemberLeft,
    MonitoredHousehold,
    MonitoringThreshold,
    PolicyKind,
    Stability,
)
from apps.households.services import life_events as hs_life
from apps.screening import services as ss
from apps.screening.models import Warning, WarningEvent

from .conftest import ANDING, ID_B, TAIPING, WOGOU, declaration_input
from .households_steps import approve_plan, days_ago, enrol, member, new_id
from .review_steps import to_county, to_notice, to_township, to_verified, visit
from .screening_steps import medical, person, record, roster_household, rule_hit

pytestmark = pytest.mark.django_db

# Each log and the field naming its subject.
LOGS = {Transition: "declaration", HouseholdEvent: "household", WarningEvent: "warning"}


class Logged:
    """The history rows written inside the `with` block: (subject, kind, who)."""

    def __enter__(self):
        self.last = {log: log.objects.aggregate(pk=Max("pk"))["pk"] or 0 for log in LOGS}

    def __exit__(self, *exc):
        self.rows = [
            (getattr(row, subject), row.kind, row.actor or row.actor_label)
            for log, subject in LOGS.items()
            for row in log.objects.filter(pk__gt=self.last[log]).order_by("pk")
        ]


@pytest.fixture
def w(regions, grid_wogou, township_lujiagou, county_anding, case, line, batch):
    return SimpleNamespace(
        regions=regions,
        grid=grid_wogou,
        township=township_lujiagou,
        county=county_anding,
        case=case,
        batch=batch,
    )


# --- declarations ---------------------------------------------------------------------------


def evaluate(w):
    today = timezone.localdate()
    return ds.declaration_record_evaluation(
        declaration=w.case,
        actor=w.grid,
        evaluation_date=today - dt.timedelta(days=15),
        outcome=EvaluationOutcome.AGREED,
        notice_start=today - dt.timedelta(days=14),
        notice_end=today - dt.timedelta(days=8),
    )


def returned(w):
    to_township(w.case, w.grid)
    ds.declaration_township_return(declaration=w.case, actor=w.township, reason="补充车辆核查")


def rejected(w):
    ds.declaration_accept(declaration=w.case, actor=w.grid)
    ds.declaration_village_reject(declaration=w.case, actor=w.grid, reason="收入超标")


def case_step(kind, actor, setup, call):
    """A step on the case: `setup(w)`, then `call(w, user)` writes the row `kind`."""

    def step(w, logged):
        setup(w)
        user = getattr(w, actor)
        with logged:
            call(w, user)
        return [(w.case, kind, user)]

    return step


def nothing(w):
    pass


def accepted(w):
    ds.declaration_accept(declaration=w.case, actor=w.grid)


def verified(w):
    to_verified(w.case, w.grid)


def assessed(w):
    verified(w)
    ds.declaration_assess_income(
        declaration=w.case,
        actor=w.grid,
        household_size=2,
        compared_on=timezone.localdate() - dt.timedelta(days=18),
    )


def at_township(w):
    to_township(w.case, w.grid)


def at_county(w):
    to_county(w.case, w.grid, w.township)


def green(w):
    ds.declaration_open_green_channel(
        declaration=w.case, actor=w.grid, cause="illness", reason="重病"
    )


def property_checked(w):
    at_township(w)
    ds.declaration_record_property_check(
        declaration=w.case, actor=w.township, vehicles="无", housing="无", business="无"
    )


def routed(w):
    verified(w)
    ss.declaration_route(
        declaration=w.case, actor=w.township, to_civil_affairs=True, to_monitoring=False
    )


def reason(service):
    return lambda w, user: service(declaration=w.case, actor=user, reason="理由")


CASE_STEPS = {
    "accept": case_step(
        "accept", "grid", nothing, lambda w, u: ds.declaration_accept(declaration=w.case, actor=u)
    ),
    "visit": case_step(
        "verify",
        "grid",
        accepted,
        lambda w, u: ds.declaration_record_visit(declaration=w.case, actor=u, visit=visit()),
    ),
    "visit amended": case_step(
        "visit_amended",
        "grid",
        returned,
        lambda w, u: ds.declaration_record_visit(declaration=w.case, actor=u, visit=visit()),
    ),
    "income": case_step(
        "income_assessed",
        "grid",
        verified,
        lambda w, u: ds.declaration_assess_income(declaration=w.case, actor=u, household_size=2),
    ),
    "evaluation": case_step("start_notice", "grid", assessed, lambda w, u: evaluate(w)),
    "evaluation amended": case_step(
        "evaluation_recorded", "grid", returned, lambda w, u: evaluate(w)
    ),
    "pass to township": case_step(
        "pass_to_township",
        "grid",
        lambda w: to_notice(w.case, w.grid),
        lambda w, u: ds.declaration_pass_to_township(declaration=w.case, actor=u),
    ),
    "village reject": case_step(
        "village_reject", "grid", accepted, reason(ds.declaration_village_reject)
    ),
    "property check": case_step(
        "property_checked",
        "township",
        at_township,
        lambda w, u: ds.declaration_record_property_check(
            declaration=w.case, actor=u, vehicles="无", housing=None, business=None
        ),
    ),
    "township approve": case_step(
        "township_approve",
        "township",
        property_checked,
        lambda w, u: ds.declaration_township_approve(declaration=w.case, actor=u),
    ),
    "township return": case_step(
        "township_return", "township", at_township, reason(ds.declaration_township_return)
    ),
    "township reject": case_step(
        "township_reject", "township", at_township, reason(ds.declaration_township_reject)
    ),
    "county return": case_step(
        "county_return", "county", at_county, reason(ds.declaration_county_return)
    ),
    "county reject": case_step(
        "county_reject", "county", at_county, reason(ds.declaration_county_reject)
    ),
    "withdraw": case_step("withdraw", "grid", nothing, reason(ds.declaration_withdraw)),
    "merge": case_step(
        "merge",
        "grid",
        nothing,
        lambda w, u: ds.declaration_merge(
            declaration=w.case,
            into=ds.declaration_submit(
                village=w.regions[WOGOU], data=declaration_input(id_number=ID_B)
            ).declaration,
            actor=u,
            reason="重复申报",
        ),
    ),
    "appeal filed by staff": case_step(
        "appeal_filed",
        "grid",
        rejected,
        lambda w, u: ds.appeal_file(declaration=w.case, reason="不服", channel="paper", actor=u),
    ),
    "green channel": case_step("green_channel_opened", "grid", nothing, lambda w, u: green(w)),
    "green help": case_step(
        "green_help_recorded",
        "grid",
        green,
        lambda w, u: ds.green_channel_record_help(
            declaration=w.case,
            actor=u,
            help=ds.HelpInput(
                title="临时救助",
                responsible="王书记",
                delivered_on=timezone.localdate(),
                kind=PolicyKind.TEMPORARY,
            ),
        ),
    ),
    "route": case_step(
        "routed",
        "township",
        verified,
        lambda w, u: ss.declaration_route(
            declaration=w.case, actor=u, to_civil_affairs=True, to_monitoring=True
        ),
    ),
    "routing received": case_step(
        "routing_received",
        "township",
        routed,
        lambda w, u: ss.routing_receive(routing=w.case.routing, actor=u),
    ),
}


def applicant_withdraws(w, logged):
    with logged:
        ds.declaration_withdraw(declaration=w.case, reason="情况好转", by_applicant=True)
    return [(w.case, "withdraw", "applicant")]


def applicant_appeals(w, logged):
    rejected(w)
    with logged:
        ds.appeal_file(declaration=w.case, reason="不服", channel="online")
    return [(w.case, "appeal_filed", "applicant")]


def appeal_decided(outcome, kind):
    def step(w, logged):
        rejected(w)
        appeal = ds.appeal_file(declaration=w.case, reason="不服", channel="online")
        with logged:
            ds.appeal_decide(appeal=appeal, actor=w.township, outcome=outcome, reason="复核")
        return [(w.case, kind, w.township)]

    return step


def county_approves(w, logged):
    """The case is enrolled and the household it enrols starts its own log."""
    at_county(w)
    with logged:
        ds.declaration_county_approve(declaration=w.case, actor=w.county)
    household = MonitoredHousehold.objects.get()
    return [(w.case, "county_approve", w.county), (household, "enrolled", w.county)]


# --- households -----------------------------------------------------------------------------


def household_step(kind, actor, call, setup=lambda w, household: household):
    """A step on a newly enrolled household: `call(setup(w, household), user)`."""

    def step(w, logged):
        household = enrol(w.regions, w.county)
        target = setup(w, household)
        user = getattr(w, actor)
        with logged:
            call(target, user)
        return [(household, kind, user)]

    return step


def add_measure(plan, user):
    return hs.plan_add_measure(
        plan=plan,
        actor=user,
        measure=hs.MeasureInput(
            policy=None, kind=PolicyKind.MEDICAL, title="医疗救助", responsible="王书记"
        ),
    )


def drafted(w, household):
    plan = household.plans.get()
    add_measure(plan, w.grid)
    return plan


def submitted(w, household):
    plan = drafted(w, household)
    hs.plan_submit(plan=plan, actor=w.grid)
    return plan


def checked(w, household):
    plan = submitted(w, household)
    hs.plan_township_pass(plan=plan, actor=w.township)
    return plan


def approved(w, household):
    return approve_plan(household, grid=w.grid, township=w.township, county=w.county)


def with_line(w, household):
    MonitoringThreshold.objects.get_or_create(
        county=w.regions[ANDING], year=days_ago(1).year, defaults={"amount": Decimal("7000")}
    )
    return household


def propose(household, user):
    return hs.elimination_propose(
        household=household,
        actor=user,
        evidence=hs.EliminationEvidence(
            period_start=days_ago(365),
            period_end=days_ago(1),
            net_income=Decimal("24000"),
            household_size=2,
            risk_removed="老伴出院。",
            measures_in_place="公益岗位在岗。",
        ),
    )


def proposed(w, household):
    return propose(with_line(w, household), w.grid)


def township_checked(w, household):
    proposal = proposed(w, household)
    hs.elimination_township_pass(proposal=proposal, actor=w.township)
    return proposal


def sampled(w, household):
    hs.elimination_approve(proposal=township_checked(w, household), actor=w.county)
    hs.lookbacks_sample(rate=1.0, window_days=365)
    return LookBack.objects.get(household=household)


HOUSEHOLD_STEPS = {
    "industry willing": household_step(
        "industry_willing",
        "grid",
        lambda h, u: hs.household_set_industry_willing(household=h, actor=u, willing=True),
    ),
    "category": household_step(
        "category",
        "county",
        lambda h, u: hs.household_set_category(
            household=h, actor=u, category="marginal", reason="核实后调整"
        ),
    ),
    "measure added": household_step(
        "measure_added", "grid", lambda h, u: add_measure(h.plans.get(), u)
    ),
    "measure removed": household_step(
        "measure_removed",
        "grid",
        lambda m, u: hs.plan_remove_measure(measure=m, actor=u),
        lambda w, h: add_measure(h.plans.get(), w.grid),
    ),
    "plan submitted": household_step(
        "plan_submitted", "grid", lambda p, u: hs.plan_submit(plan=p, actor=u), drafted
    ),
    "plan checked": household_step(
        "plan_township_checked",
        "township",
        lambda p, u: hs.plan_township_pass(plan=p, actor=u),
        submitted,
    ),
    "plan sent back": household_step(
        "plan_sent_back",
        "township",
        lambda p, u: hs.plan_send_back(plan=p, actor=u, reason="措施不足"),
        submitted,
    ),
    "plan approved": household_step(
        "plan_approved", "county", lambda p, u: hs.plan_approve(plan=p, actor=u), checked
    ),
    "plan revised": household_step(
        "plan_revised",
        "grid",
        lambda p, u: hs.plan_revise(plan=p, actor=u, reason="新的风险"),
        lambda w, h: approved(w, h)[0],
    ),
    "measure delivered": household_step(
        "measure_delivered",
        "grid",
        lambda m, u: hs.measure_record_delivery(
            measure=m, actor=u, delivered_on=timezone.localdate(), evidence_note="已发放"
        ),
        lambda w, h: approved(w, h)[1],
    ),
    "follow-up visit": household_step(
        "follow_up",
        "grid",
        lambda h, u: hs.follow_up_record(
            follow_up=h.follow_ups.get(),
            actor=u,
            done_on=timezone.localdate(),
            findings="恢复良好。",
            stability=Stability.STABLE,
        ),
    ),
    "elimination proposed": household_step("elimination_proposed", "grid", propose, with_line),
    "elimination checked": household_step(
        "elimination_township_checked",
        "township",
        lambda p, u: hs.elimination_township_pass(proposal=p, actor=u),
        proposed,
    ),
    "elimination refused": household_step(
        "elimination_refused",
        "township",
        lambda p, u: hs.elimination_refuse(proposal=p, actor=u, reason="收入不稳"),
        proposed,
    ),
    "eliminated": household_step(
        "eliminated",
        "county",
        lambda p, u: hs.elimination_approve(proposal=p, actor=u),
        township_checked,
    ),
    # Not stable: one row, whose outcome says that the household is monitored again.
    "look-back": household_step(
        "look_back",
        "grid",
        lambda lb, u: hs.lookback_record(
            look_back=lb,
            actor=u,
            reviewed_on=timezone.localdate(),
            outcome=LookBackOutcome.UNSTABLE,
            findings="公益岗位到期后无稳定收入。",
        ),
        sampled,
    ),
}


# --- life events (test_life_events.py tests each in full) ----------------------------------


def spouse(w, household):
    return household.members.get(name="李梅")


def moved(subject):
    def step(w, logged):
        household = enrol(w.regions, w.county) if subject == "household" else None
        with logged:
            ls.case_move(
                declaration=w.case if household is None else None,
                household=household,
                actor=w.township,
                village=w.regions[TAIPING],
                reason="举家迁移",
            )
        return [(household or w.case, "moved", w.township)]

    return step


def split(w, logged):
    household = enrol(
        w.regions,
        w.county,
        members=[
            member("魏家常", "户主"),
            hs.MemberFacts(
                name="魏小军", relation="子", id_number=new_id(60), labour_capacity="full"
            ),
        ],
    )
    son = household.members.get(name="魏小军")
    with logged:
        new = hs_life.household_split(
            household=household,
            actor=w.county,
            members=[son],
            head=son,
            split_on=days_ago(1),
            reason="分家",
        )
    return [(household, "split", w.county), (new, "split_from", w.county)]


def merged(w, logged):
    household = enrol(w.regions, w.county)
    other = enrol(w.regions, w.county, serial=2, members=[member("张三", "户主")])
    with logged:
        hs_life.household_merge(
            household=other, into=household, actor=w.county, merged_on=days_ago(1), reason="合户"
        )
    return [(other, "merged_into", w.county), (household, "merged", w.county)]


LIFE_STEPS = {
    "member joined": household_step(
        "member_joined",
        "grid",
        lambda h, u: hs_life.member_join(
            household=h,
            actor=u,
            member=member("魏小宝", "孙子"),
            joined_on=days_ago(1),
            reason="出生",
        ),
    ),
    "member died": household_step(
        "member_died",
        "grid",
        lambda m, u: hs_life.member_leave(
            member=m, actor=u, why=MemberLeft.DIED, left_on=days_ago(1), reason="病故"
        ),
        spouse,
    ),
    "household moved": moved("household"),
    "case moved": moved("case"),
    "household split": split,
    "households merged": merged,
    "applicant died, case closed": case_step(
        "applicant_died",
        "grid",
        accepted,
        lambda w, u: ls.declaration_applicant_died(
            declaration=w.case, actor=u, died_on=days_ago(1), reason="独居老人病故"
        ),
    ),
}


def household_enrolled(w, logged):
    with logged:
        household = enrol(w.regions, w.county)
    return [(household, "enrolled", w.county)]


# --- warnings -------------------------------------------------------------------------------


def warning_verified(outcome, **applicant):
    def step(w, logged):
        who = person(roster_household(w.regions))
        hit = rule_hit("medical", medical(30000), who)
        rec = record(w.batch, who, medical(30000))
        ss.warnings_raise(hits=[ss.Hit(**{**hit.__dict__, "record_id": rec.pk})])
        warning = Warning.objects.get()
        with logged:
            ss.warning_verify(
                warning=warning,
                actor=w.grid,
                method="visited",
                outcome=outcome,
                reason="已入户核实。",
                applicant=ss.Applicant(**applicant) if applicant else None,
            )
        return [(warning, outcome, w.grid)]

    return step


STEPS = {
    **CASE_STEPS,
    "withdrawn by the applicant": applicant_withdraws,
    "appeal filed online": applicant_appeals,
    "appeal reopens the case": appeal_decided(AppealOutcome.REOPENED, "reopen"),
    "appeal upheld": appeal_decided(AppealOutcome.UPHELD, "appeal_upheld"),
    "county approve": county_approves,
    "household enrolled": household_enrolled,
    **HOUSEHOLD_STEPS,
    **LIFE_STEPS,
    "warning: no risk": warning_verified(ss.Outcome.NO_RISK),
    "warning: referred": warning_verified(ss.Outcome.REFER),
    # The declaration it opens records its own creation, as every submission does.
    "warning: risk": warning_verified(
        ss.Outcome.RISK, phone="13912345678", difficulties=["illness"], address_group="2组"
    ),
}


@pytest.mark.parametrize("step", STEPS.values(), ids=STEPS.keys())
def test_each_write_leaves_one_history_row_naming_who_and_what(step, w):
    logged = Logged()
    expected = step(w, logged)
    assert logged.rows == expected


def test_the_case_page_shows_records_among_the_changes_and_the_applicant_the_changes_only(
    client, w
):
    returned(w)
    ds.declaration_record_visit(declaration=w.case, actor=w.grid, visit=visit())
    client.force_login(w.grid)
    page = client.get(reverse("staff:detail", args=[w.case.tracking_number])).content.decode()
    assert "重新入户核查" in page  # the amended visit, in the timeline
    assert "退回原因" in page and "补充车辆核查" in page  # why it came back, still on top

    client.logout()
    status = client.post(
        reverse("public:status"),
        {"tracking_number": w.case.tracking_number, "phone": "13912345678"},
    ).context["result"]
    labels = [label for _at, label in status.history]
    assert labels[-1] == "已退回村级补正" and "重新入户核查" not in labels
