"""docs/state-diagrams.md is generated from the state machines and agrees with them.

The committed file must be the command's current output; the declaration FSM's edges
must be the ones written out below (the workflow tests/test_review.py walks); who may
make each transition is shown as the transition declares it.
"""

import re
from io import StringIO

from django.core.management import call_command

from apps.core.management.commands import state_diagrams as cmd
from apps.declarations.models import Declaration, Level, State
from apps.households.models import EliminationProposal, HelpPlan, MonitoredHousehold
from apps.screening.models import Warning

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
    # test_spot_checks.py::test_a_disagreement_lets_the_county_reopen_a_rejected_case:
    # a spot check's disagreement, answered by the county, reopens a rejected case
    (S.REJECTED, S.COUNTY_REVIEW, "recheck"),
    # test_the_applicant_withdraws, test_a_duplicate_is_merged_into_its_twin: any open case
    *((source, S.WITHDRAWN, "withdraw") for source in OPEN),
    *((source, S.MERGED, "merge") for source in OPEN),
}


# --- the document cannot drift from the code ------------------------------------------


def test_the_committed_document_is_the_commands_current_output():
    assert cmd.DOC_PATH.read_text(encoding="utf-8") == cmd.render_document(), (
        "docs/state-diagrams.md is out of date: run `python manage.py state_diagrams --write`"
    )
    call_command("state_diagrams", "--check", stdout=StringIO())
    out = StringIO()
    call_command("state_diagrams", stdout=out)
    assert out.getvalue() == cmd.DOC_PATH.read_text(encoding="utf-8")


def test_states_are_english_ids_with_chinese_labels_and_edges_carry_the_method_name():
    diagram = cmd.mermaid(Declaration, "state")
    assert '    state "公示中" as in_notice' in diagram
    assert "    [*] --> submitted" in diagram
    assert "    county_review --> enrolled: county_approve" in diagram
    # The closed states nothing leaves end the diagram; "rejected" can be reopened.
    ends = set(re.findall(r"^    (\w+) --> \[\*\]$", diagram, flags=re.MULTILINE))
    assert ends == {S.ENROLLED, S.WITHDRAWN, S.MERGED}


def test_who_may_make_each_transition_is_shown_as_declared():
    document = cmd.render_document()
    assert (
        "| `township_approve` | `township_review` | `county_review` | 乡镇工作人员 (`township`) |"
        in document
    )
    # A transition declared for each source: one row per level.
    assert "| `send_back` | `township_check` | `draft` | 乡镇工作人员 (`township`) |" in document
    assert "| `send_back` | `county_approval` | `draft` | 县级工作人员 (`county`) |" in document
    # Made by the system inside another transition's service: nobody's to press.
    assert "| `eliminate` | `monitoring` | `eliminated` | — |" in document


# --- the diagram agrees with the tests ------------------------------------------------


def test_the_fsm_edges_are_the_workflow_the_review_tests_walk():
    expected = {(str(s.value), str(t.value), name) for s, t, name in EXPECTED_EDGES}
    assert set(cmd.edges(Declaration, "state")) == expected


def test_reopen_goes_back_to_the_stage_that_rejected():
    allowed = {t for _s, t, name in cmd.edges(Declaration, "state") if name == "reopen"}
    reached = set()
    for level in Level:
        case = Declaration(state=State.REJECTED, rejected_at_level=level)
        case.reopen()  # not saved: the state machine alone
        reached.add(case.state)
    assert reached == allowed == {S.ACCEPTED, S.TOWNSHIP_REVIEW, S.COUNTY_REVIEW}


# --- households, plans, eliminations, warnings ------------------------------------------


def test_the_other_diagrams_show_every_transition_of_their_machines():
    edges = cmd.edges
    assert edges(MonitoredHousehold, "status") == [
        ("monitoring", "eliminated", "eliminate"),
        ("monitoring", "merged", "merge_into"),
        ("eliminated", "monitoring", "return_to_monitoring"),
        ("eliminated", "merged", "merge_into"),
    ]
    plan = {name for _s, _t, name in edges(HelpPlan, "state")}
    assert plan == {"submit", "township_pass", "send_back", "approve", "revise"}
    assert ("township_checked", "approved", "approve") in edges(EliminationProposal, "state")
    warning = edges(Warning, "state")
    assert {source for source, _t, _n in warning} == {"open"}
    assert len(warning) == 4
