"""The county clerk's admin: the approval queue, findings on one page, and buttons
that neither show nor accept a transition the user may not make."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.declarations import services as s
from apps.declarations.models import Declaration, State
from apps.households.models import MonitoredHousehold
from apps.regions.models import Role

from .conftest import ANDING, TONGWEI, declaration_input, make_staff
from .review_steps import to_county

pytestmark = pytest.mark.django_db


def admin_user(username, region, role):
    user = make_staff(username, region, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_declaration"]))
    return user


@pytest.fixture
def clerk(regions):
    return admin_user("anding-clerk", regions[ANDING], Role.COUNTY)


@pytest.fixture
def ready(case, grid_wogou, township_lujiagou, line):
    to_county(case, grid_wogou, township_lujiagou)
    return case


def act_url(declaration, action):
    return reverse("admin:declarations_declaration_act", args=[declaration.pk, action])


def test_the_clerk_lands_on_the_county_s_approval_queue(client, clerk, ready, regions):
    other = s.declaration_submit(
        village=regions["621102100202"],
        data=declaration_input(id_number="621102199005050038", phone="13700001111"),
    ).declaration
    client.force_login(clerk)
    cl = client.get(reverse("admin:declarations_declaration_changelist")).context["cl"]
    assert [d.pk for d in cl.queryset] == [ready.pk]  # the submitted one is not in the queue
    all_cases = client.get(
        reverse("admin:declarations_declaration_changelist") + "?queue=all"
    ).context["cl"]
    assert {d.pk for d in all_cases.queryset} == {ready.pk, other.pk}


def test_findings_of_village_and_township_are_on_one_page(client, clerk, ready):
    client.force_login(clerk)
    page = client.get(
        reverse("admin:declarations_declaration_change", args=[ready.pk])
    ).content.decode()
    for finding in ("老伴住院", "李梅", "1500.00", "土坯房一处", "7000.00"):
        assert finding in page, finding
    for action in ("county_approve", "county_return", "county_reject"):
        assert act_url(ready, action) in page


def test_the_clerk_approves_through_the_admin(client, clerk, ready):
    client.force_login(clerk)
    response = client.post(act_url(ready, "county_approve"))
    assert response.status_code == 302
    assert Declaration.objects.get(pk=ready.pk).state == State.ENROLLED
    assert MonitoredHousehold.objects.count() == 1


def test_return_and_reject_need_a_reason(client, clerk, ready):
    client.force_login(clerk)
    client.post(act_url(ready, "county_reject"), {"reason": ""})
    assert Declaration.objects.get(pk=ready.pk).state == State.COUNTY_REVIEW
    client.post(act_url(ready, "county_return"), {"reason": "补充车辆核查"})
    assert Declaration.objects.get(pk=ready.pk).state == State.TOWNSHIP_REVIEW


def test_a_township_user_in_the_admin_sees_no_buttons_and_a_forged_post_is_refused(
    client, regions, ready
):
    township_admin = admin_user("lujiagou-admin", regions["621102100000"], Role.TOWNSHIP)
    client.force_login(township_admin)
    page = client.get(
        reverse("admin:declarations_declaration_change", args=[ready.pk])
    ).content.decode()
    assert act_url(ready, "county_approve") not in page
    response = client.post(act_url(ready, "county_approve"))
    assert response.status_code == 403
    assert Declaration.objects.get(pk=ready.pk).state == State.COUNTY_REVIEW
    assert not MonitoredHousehold.objects.exists()


def test_a_clerk_of_another_county_gets_404(client, regions, ready):
    tongwei = admin_user("tongwei-clerk", regions[TONGWEI], Role.COUNTY)
    client.force_login(tongwei)
    assert client.post(act_url(ready, "county_approve")).status_code == 404
    assert Declaration.objects.get(pk=ready.pk).state == State.COUNTY_REVIEW


def test_a_transition_in_the_wrong_state_is_refused(client, clerk, case):
    client.force_login(clerk)
    response = client.post(act_url(case, "county_approve"))
    assert response.status_code == 409
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED


def test_other_transitions_cannot_be_posted_through_the_admin(client, clerk, case):
    client.force_login(clerk)
    assert client.post(act_url(case, "accept")).status_code == 404
    assert client.get(act_url(case, "county_approve")).status_code == 405
