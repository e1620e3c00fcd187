"""docs/state-diagram.md is generated from the FSM and agrees with the code and the tests.

The committed file must be the command's current output; the FSM's edges must be the
ones written out below (the workflow tests/test_review.py walks); every transition must
be called by a service, which is the only way the views reach the state machine.
"""

import inspect
import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.declarations.management.commands import state_diagram as cmd
from apps.declarations.models import Declaration, Level, State
from apps.declarations.services import appeals, review

SERVICES_DIR = Path(settings.BASE_DIR) / "apps" / "declarations" / "services"
REVIEW_TESTS = Path(__file__).with_name("test_review.py")

S = State
OPEN = [S.SUBMITTED, S.ACCEPTED, S.VERIFIED, S.IN_NOTICE, S.RETURNED]
OPEN += [S.TOWNSHIP_REVIEW, S.COUNTY_REVIEW]

# (source, target, transition), as tests/test_review.py walks them.
EXPECTED_EDGES = {
    # test_the_whole_path_ends_in_a_monitored_household
    (S.SUBMITTED, S.ACCEPTED, "accept"),
    (S.ACCEPTED, S.VERIFIED, "verify"),
    (S.VERIFIED, S.IN_NOTICE, "start_notice"),
    (S.IN_NOTICE, S.TOWNSHIP_REVIEW, "pass_to_township"),
    (S.TOWNSHIP_REVIEW, S.COUNTY_REVIEW, "township_approve"),
    (S.COUNTY_REVIEW, S.ENROLLED, "county_approve"),
    # test_village_reject_then_appeal_then_reopen_then_enrol: the village may reject
    # anywhere in its own stages
    *((source, S.REJECTED, "village_reject") for source in OPEN[1:5]),
    # test_township_return_then_village_amends_then_township_approves
    (S.TOWNSHIP_REVIEW, S.RETURNED, "township_return"),
    (S.RETURNED, S.TOWNSHIP_REVIEW, "pass_to_township"),
    # test_township_actions_belong_to_the_township
    (S.TOWNSHIP_REVIEW, S.REJECTED, "township_reject"),
    # the county sends a case back to the township (no review test walks it yet)
    (S.COUNTY_REVIEW, S.TOWNSHIP_REVIEW, "county_return"),
    # test_county_reject_then_appeal_upheld_by_another_county_clerk
    (S.COUNTY_REVIEW, S.REJECTED, "county_reject"),
    # an appeal reopens the case at the stage that rejected it
    (S.REJECTED, S.ACCEPTED, "reopen"),
    (S.REJECTED, S.TOWNSHIP_REVIEW, "reopen"),
    (S.REJECTED, S.COUNTY_REVIEW, "reopen"),
    # test_the_applicant_withdraws, test_a_duplicate_is_merged_into_its_twin: any open case
    *((source, S.WITHDRAWN, "withdraw") for source in OPEN),
    *((source, S.MERGED, "merge") for source in OPEN),
}

# Transitions no test in tests/test_review.py exercises yet; take a name out when its
# test is added.
NOT_YET_WALKED: set[str] = set()


def fsm_edge_set():
    return {(e.source, e.target, e.name) for e in cmd.fsm_edges()}


# --- the document cannot drift from the code ------------------------------------------


def test_the_committed_document_is_the_commands_current_output():
    assert cmd.DOC_PATH.read_text(encoding="utf-8") == cmd.render_document(), (
        "docs/state-diagram.md is out of date: run `python manage.py state_diagram --write`"
    )
    call_command("state_diagram", "--check", stdout=StringIO())


def test_the_command_prints_the_mermaid_diagram_of_the_document():
    out = StringIO()
    call_command("state_diagram", stdout=out)
    diagram = out.getvalue()
    assert diagram.startswith("stateDiagram-v2\n")
    assert f"```mermaid\n{diagram}```\n" in cmd.DOC_PATH.read_text(encoding="utf-8")


def test_states_are_english_ids_with_chinese_labels_and_edges_carry_the_method_name():
    diagram = cmd.render_diagram()
    assert '    state "公示中" as in_notice' in diagram
    assert "    [*] --> submitted" in diagram
    assert "    county_review --> enrolled: county_approve" in diagram
    # The closed states nothing leaves end the diagram; "rejected" can be reopened.
    ends = set(re.findall(r"^    (\w+) --> \[\*\]$", diagram, flags=re.MULTILINE))
    assert ends == {S.ENROLLED, S.WITHDRAWN, S.MERGED}


def test_the_output_is_stable():
    assert cmd.render_document() == cmd.render_document()
    edges = cmd.fsm_edges()
    order = {s: i for i, s in enumerate(State.values)}
    assert edges == sorted(edges, key=lambda e: (order[e.source], order[e.target], e.name))


# --- the diagram agrees with the tests ------------------------------------------------


def test_the_fsm_edges_are_the_workflow_the_review_tests_walk():
    expected = {(str(s.value), str(t.value), name) for s, t, name in EXPECTED_EDGES}
    assert fsm_edge_set() == expected


def test_every_transition_is_exercised_by_the_review_tests():
    source = REVIEW_TESTS.read_text(encoding="utf-8")
    walked = {
        name
        for name, actor in cmd.ACTORS.items()
        if actor.service.__name__ in source or f'"{name}"' in source
    }
    assert set(cmd.transition_names()) - walked == NOT_YET_WALKED


def test_reopen_goes_back_to_the_stage_that_rejected():
    allowed = {e.target for e in cmd.fsm_edges() if e.name == "reopen"}
    reached = set()
    for level in Level:
        case = Declaration(state=State.REJECTED, rejected_at_level=level)
        case.reopen()  # not saved: the state machine alone
        reached.add(case.state)
    assert reached == allowed == {S.ACCEPTED, S.TOWNSHIP_REVIEW, S.COUNTY_REVIEW}


# --- every transition is reachable from a service --------------------------------------


def test_every_transition_is_called_by_a_service():
    calls = set()
    for path in SERVICES_DIR.glob("*.py"):
        calls |= set(re.findall(r"""method=["'](\w+)["']""", path.read_text(encoding="utf-8")))
    assert set(cmd.transition_names()) == calls


def test_every_transition_has_who_may_make_it():
    assert set(cmd.ACTORS) == set(cmd.transition_names())


@pytest.mark.parametrize("name", sorted(cmd.ACTORS))
def test_the_service_named_for_a_transition_calls_it_with_those_roles(name):
    actor = cmd.ACTORS[name]
    source = inspect.getsource(actor.service)
    assert f'method="{name}"' in source
    constants = {
        "VILLAGE_ROLES": review.VILLAGE_ROLES,
        "TOWNSHIP_ROLES": review.TOWNSHIP_ROLES,
        "COUNTY_ROLES": review.COUNTY_ROLES,
        "CASEWORK_ROLES": review.CASEWORK_ROLES,
        "DECIDING_ROLES": frozenset().union(*appeals.DECIDING_ROLES.values()),
    }
    assert any(roles == actor.roles and const in source for const, roles in constants.items())


# --- households, plans, eliminations, warnings ------------------------------------------


def test_the_other_state_diagrams_are_up_to_date():
    """docs/state-diagrams.md is the current output of `manage.py state_diagrams`."""
    call_command("state_diagrams", "--check", stdout=StringIO())


def test_the_other_diagrams_show_every_transition_of_their_machines():
    from apps.core.fsm_diagram import edges
    from apps.households.models import EliminationProposal, HelpPlan, MonitoredHousehold
    from apps.screening.models import Warning

    assert edges(MonitoredHousehold, "status") == [
        ("monitoring", "eliminated", "eliminate"),
        ("eliminated", "monitoring", "return_to_monitoring"),
    ]
    plan = {name for _s, _t, name in edges(HelpPlan, "state")}
    assert plan == {"submit", "township_pass", "send_back", "approve", "revise"}
    assert ("township_checked", "approved", "approve") in edges(EliminationProposal, "state")
    warning = edges(Warning, "state")
    assert {source for source, _t, _n in warning} == {"open"}
    assert len(warning) == 4
