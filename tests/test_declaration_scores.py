"""Every declaration carries the transparent risk score (the warnings' factors and
`combine`, one implementation): from what it says, its household's members and the home
visit's figures, plus the factors of the warnings merged into it; the worklists put the
highest score first and show its reasons."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core.identity import id_hash
from apps.declarations import services as ds
from apps.declarations.models import Declaration
from apps.declarations.scoring import score_at_intake
from apps.households.models import RosterMember
from apps.households.services import household_match
from apps.regions.models import Role

from .conftest import ANDING, TAIPING, WOGOU, declaration_input, form_data, make_staff
from .households_steps import new_id
from .review_steps import to_verified
from .screening_steps import person, roster_household
from .test_screening import raise_medical

pytestmark = pytest.mark.django_db


def points(declaration) -> dict[str, int]:
    """The factors that count, kind → points."""
    return {f["factor"]: f["points"] for f in declaration.score_factors if f["counted"]}


def declare(regions, serial, *, days_ago=0, village=WOGOU, **data):
    values = {"id_number": new_id(serial), "phone": f"1390000{serial:04d}", **data}
    with time_machine.travel(timezone.now() - dt.timedelta(days=days_ago)):
        return ds.declaration_submit(
            village=regions[village], data=declaration_input(**values)
        ).declaration


# --- hand-worked scores ---------------------------------------------------------------------


def test_a_declared_illness_counts_half_the_medical_weight(client, regions):
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    assert client.post(url, form_data(difficulties=["illness"])).status_code == 302
    declaration = Declaration.objects.get()
    # Illness declared, its costs not yet known: half of the medical weight 30.
    assert points(declaration) == {"medical": 15}
    assert declaration.score == 15
    (factor,) = declaration.score_factors
    assert factor["weight"] == 30 and factor["share"] == 0.5
    assert factor["source"] == "declaration" and "因病" in factor["why"]


def test_the_rosters_members_add_labour_and_disability(regions):
    household = roster_household(regions, serials=(1, 2))
    RosterMember.objects.filter(id_hash=id_hash(new_id(2))).update(
        labour_capacity="none", disability_grade=2
    )
    declaration = declare(regions, 1, difficulties=["illness", "unstable_work", "other"])
    assert declaration.roster_household == household
    # medical 30 × ½ = 15; income 20 × ½ = 10 (unstable work, declared); labour: 1 of 2
    # members cannot work, 20 × ½ = 10; a grade 2 disability, the whole 20. "Other": none.
    assert points(declaration) == {"medical": 15, "income": 10, "labour": 10, "disability": 20}
    assert declaration.score == 55
    assert Declaration.objects.get(pk=declaration.pk).score == 55  # written by the INSERT


def test_the_home_visit_rescores_with_its_facts(case, grid_wogou):
    assert case.score == 15  # illness declared
    to_verified(case, grid_wogou)
    case.refresh_from_db()
    # The visit: 9,000 yuan medical costs against 12,000 income: 30 × 0.75 = 22.5 → 22,
    # stronger than the declared 15; of the 2 members 1 cannot work: 20 × ½ = 10.
    assert points(case) == {"medical": 22, "labour": 10}
    assert case.score == 32
    assert "75%" in next(f["why"] for f in case.score_factors if f["factor"] == "medical")
    # The declared illness is kept on record, not counted (a weaker factor of its kind).
    assert [f["points"] for f in case.score_factors if not f["counted"]] == [15]


# --- merged warnings ------------------------------------------------------------------------


def test_a_merged_warning_raises_the_declarations_score(regions, batch, grid_wogou):
    household = roster_household(regions, serials=(1, 2))
    # The spouse declared unstable work: income 20 × ½ = 10.
    case = declare(regions, 2, difficulties=["unstable_work"], days_ago=21)
    assert case.score == 10
    # The medical insurance: 30,000 yuan out of pocket against 20,000 income, the whole
    # medical weight 30.
    raise_medical(batch, person(household, serial=1, annual_income=Decimal("20000")))
    case.refresh_from_db()
    assert points(case) == {"medical": 30, "income": 10}
    assert case.score == 40
    warning_factor = next(f for f in case.score_factors if f["factor"] == "medical")
    assert warning_factor["source"] == "warning"
    # The visit's facts come on top; the warning's factor stays.
    to_verified(case, grid_wogou)
    case.refresh_from_db()
    assert points(case) == {"medical": 30, "labour": 10, "income": 10}
    assert case.score == 50


def test_a_page_that_loaded_the_case_before_a_merge_keeps_the_merged_score(
    regions, batch, grid_wogou
):
    household = roster_household(regions, serials=(1, 2))
    case = declare(regions, 2, difficulties=["unstable_work"])
    stale = Declaration.objects.get(pk=case.pk)  # a page opened before the merge
    raise_medical(batch, person(household, serial=1, annual_income=Decimal("20000")))
    ds.declaration_accept(declaration=stale, actor=grid_wogou)  # a full save()
    case.refresh_from_db()
    assert case.state == "accepted" and case.score == 40


def test_a_warning_converted_into_a_declaration_brings_its_factors(regions, batch, grid_wogou):
    from apps.screening import services as ss
    from apps.screening.models import Warning

    household = roster_household(regions)
    raise_medical(batch, person(household, annual_income=Decimal("20000")))
    warning = Warning.objects.get()
    ss.warning_verify(
        warning=warning,
        actor=grid_wogou,
        method="visited",
        outcome="risk",
        reason="已入户核实。",
        applicant=ss.Applicant(
            phone="13912345678", difficulties=["unstable_work"], address_group="3组"
        ),
    )
    warning.refresh_from_db()
    case = warning.declaration
    case.refresh_from_db()
    assert points(case) == {"medical": 30, "income": 10} and case.score == 40


# --- the write path ---------------------------------------------------------------------------


def test_the_score_costs_the_intake_one_query_at_most_and_no_update(client, regions):
    roster_household(regions, serials=(1, 2))
    known = Declaration(difficulties=["illness"], roster_household_id=None)
    with CaptureQueriesContext(connection) as none:
        score_at_intake(known)
    assert len(none) == 0  # nobody knows the household: nothing to read
    match = household_match(id_hash(new_id(1)))
    known = Declaration(difficulties=["illness"], roster_household=match.roster)
    with CaptureQueriesContext(connection) as one:
        score_at_intake(known)
    assert len(one) == 1  # the roster's members
    # The public form: the score goes in the INSERT; nothing updates the row after it.
    url = reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})
    with CaptureQueriesContext(connection) as submission:
        response = client.post(url, form_data(id_number=new_id(1)))
    assert response.status_code == 302
    table = Declaration._meta.db_table
    writes = [
        q["sql"] for q in submission if f'"{table}"' in q["sql"] and "SELECT" not in q["sql"][:8]
    ]
    assert len(writes) == 1 and writes[0].startswith("INSERT") and '"score"' in writes[0]
    assert Declaration.objects.get().score == 15


# --- the worklists ------------------------------------------------------------------------------


@pytest.fixture
def three(regions):
    """Three open cases of 窝沟村: a low score, old; a high score, new; a high score,
    older than it."""
    low = declare(regions, 1, difficulties=["other"], days_ago=10)
    high_new = declare(regions, 2, difficulties=["illness", "schooling"], days_ago=1)
    high_old = declare(regions, 3, difficulties=["illness", "disaster"], days_ago=3)
    assert (low.score, high_new.score, high_old.score) == (0, 23, 23)
    return [high_old, high_new, low]


def test_the_grid_workers_home_lists_the_highest_score_first_with_its_reasons(
    client, grid_wogou, grid_taiping, three
):
    client.force_login(grid_wogou)
    response = client.get(reverse("staff:home"))
    rows = [r.declaration for r in response.context["page"].object_list]
    assert rows == three
    content = response.content.decode()
    assert "<details" in content and "风险评分 23" in content
    assert "因病（尚未核实）" in content or "因病" in content
    client.force_login(grid_taiping)
    response = client.get(reverse("staff:home"))
    assert list(response.context["page"].object_list) == []


def test_the_township_queue_is_ordered_by_score(
    client, regions, township_lujiagou, grid_taiping, three
):
    client.force_login(township_lujiagou)
    response = client.get(reverse("staff:queue"), {"stage": ""})
    assert [r.declaration for r in response.context["rows"]] == three
    assert "风险评分 23" in response.content.decode()
    client.force_login(grid_taiping)
    response = client.get(reverse("staff:queue"), {"stage": ""})
    assert [r.declaration for r in response.context["rows"]] == []


def test_the_county_admin_list_is_ordered_by_score(client, regions, three):
    clerk = make_staff("anding-clerk", regions[ANDING], Role.COUNTY)
    clerk.is_staff = True
    clerk.save()
    clerk.user_permissions.add(Permission.objects.get(codename="view_declaration"))
    client.force_login(clerk)
    changelist = reverse("admin:declarations_declaration_changelist")
    response = client.get(changelist, {"queue": "all"})
    assert list(response.context["cl"].result_list) == three
    assert "风险评分 23" in response.content.decode()
    other = make_staff("taiping-clerk", regions[TAIPING], Role.GRID)
    other.is_staff = True
    other.save()
    other.user_permissions.add(Permission.objects.get(codename="view_declaration"))
    client.force_login(other)
    response = client.get(changelist, {"queue": "all"})
    assert list(response.context["cl"].result_list) == []


def test_the_case_page_shows_the_score_and_its_factors(client, grid_wogou, case):
    client.force_login(grid_wogou)
    response = client.get(reverse("staff:detail", args=[case.tracking_number]))
    content = response.content.decode()
    assert "风险评分 15" in content and "<details" in content


# --- existing rows ------------------------------------------------------------------------------


def test_the_data_migration_fills_existing_declarations_as_the_services_do(
    regions, batch, grid_wogou
):
    import importlib

    from django.apps import apps

    fill = importlib.import_module("apps.screening.migrations.0009_declaration_scores").fill
    household = roster_household(regions, serials=(1, 2))
    merged = declare(regions, 2, difficulties=["unstable_work"], days_ago=21)
    raise_medical(batch, person(household, serial=1, annual_income=Decimal("20000")))
    # `merged` was loaded before the warning was merged: its transitions' saves leave
    # the score alone, and the visit rescores from the stored factors.
    to_verified(merged, grid_wogou)
    plain = declare(regions, 5, difficulties=["illness", "schooling"])
    expected = {d.pk: (d.score, points(d)) for d in Declaration.objects.all()}
    assert expected[merged.pk][0] == 50 and expected[plain.pk][0] == 23
    Declaration.objects.update(score=0, score_factors=[])  # as before the migration
    fill(apps, None)
    assert {d.pk: (d.score, points(d)) for d in Declaration.objects.all()} == expected
