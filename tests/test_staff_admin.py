"""Scoped staff management (attack 6: role escalation). Counties and townships manage
their own staff through their system administrators, in their own subtree only, and
nobody grants a role or a region above their own — checked by the forms and by the
querysets, so a forged POST fares no better than the page."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.accounts.models import User
from apps.regions.models import Role, StaffMembership

from .conftest import ANDING, LUJIAGOU, PROVINCE, TONGWEI, WOGOU, make_staff

pytestmark = pytest.mark.django_db

XIANGQUAN = "621102101000"  # 香泉镇, the other township of 安定区


def staff_user(name, region, role, *perms):
    user = make_staff(name, region, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    return user


@pytest.fixture
def county_sysadmin(regions):
    return staff_user("anding-sysadmin", regions[ANDING], Role.SYSTEM_ADMIN)


@pytest.fixture
def township_sysadmin(regions):
    return staff_user("lujiagou-sysadmin", regions[LUJIAGOU], Role.SYSTEM_ADMIN)


def membership_form(user, region, role):
    return {"user": user.pk, "region": region.pk, "role": role, "is_active": "on"}


ADD = reverse("admin:regions_staffmembership_add")


def test_a_county_clerk_with_the_add_permission_cannot_make_himself_province_staff(client, regions):
    clerk = staff_user(
        "anding-clerk",
        regions[ANDING],
        Role.COUNTY,
        "add_staffmembership",
        "change_staffmembership",
        "view_staffmembership",
    )
    client.force_login(clerk)
    response = client.post(ADD, membership_form(clerk, regions[PROVINCE], Role.PROVINCE))
    assert response.status_code == 403
    assert not StaffMembership.objects.filter(user=clerk, role=Role.PROVINCE).exists()


def test_a_county_sysadmin_gives_no_membership_above_his_county(
    client, regions, county_sysadmin, township_lujiagou
):
    client.force_login(county_sysadmin)
    for region, role in [(PROVINCE, Role.PROVINCE), (TONGWEI, Role.COUNTY)]:
        response = client.post(ADD, membership_form(township_lujiagou, regions[region], role))
        assert response.status_code == 200  # the form again, the error at the field
        assert "region" in response.context["adminform"].form.errors
    # Nor to himself, anywhere.
    response = client.post(ADD, membership_form(county_sysadmin, regions[ANDING], Role.COUNTY))
    assert "user" in response.context["adminform"].form.errors
    assert set(StaffMembership.objects.values_list("user__username", "role")) == {
        ("anding-sysadmin", Role.SYSTEM_ADMIN),
        ("township-lujiagou", Role.TOWNSHIP),
    }


def test_a_system_administrator_is_appointed_only_below_and_the_others_by_the_superuser(
    client, regions, county_sysadmin
):
    newcomer = make_staff("newcomer", regions[LUJIAGOU], Role.TOWNSHIP)
    newcomer.memberships.update(is_active=False)
    client.force_login(county_sysadmin)
    for role in (Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
        response = client.post(ADD, membership_form(newcomer, regions[ANDING], role))
        assert "role" in response.context["adminform"].form.errors
    response = client.post(ADD, membership_form(newcomer, regions[ANDING], Role.SYSTEM_ADMIN))
    assert "role" in response.context["adminform"].form.errors
    response = client.post(ADD, membership_form(newcomer, regions[LUJIAGOU], Role.SYSTEM_ADMIN))
    assert response.status_code == 302
    assert StaffMembership.objects.filter(
        user=newcomer, role=Role.SYSTEM_ADMIN, region=regions[LUJIAGOU]
    ).exists()


def test_an_administrator_holds_no_other_role(client, regions, county_sysadmin, township_lujiagou):
    client.force_login(county_sysadmin)
    response = client.post(
        ADD, membership_form(township_lujiagou, regions[LUJIAGOU], Role.SYSTEM_ADMIN)
    )
    assert "role" in response.context["adminform"].form.errors
    assert not StaffMembership.objects.filter(role=Role.SYSTEM_ADMIN, user=township_lujiagou)


def test_a_county_sysadmin_creates_an_account_in_a_township_of_his_county(
    client, regions, county_sysadmin
):
    client.force_login(county_sysadmin)
    data = {
        "username": "new-clerk",
        "usable_password": "true",
        "password1": "a-Long-pass-2026",
        "password2": "a-Long-pass-2026",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "1",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-region": regions[LUJIAGOU].pk,
        "memberships-0-role": Role.TOWNSHIP,
        "memberships-0-is_active": "on",
    }
    response = client.post(reverse("admin:accounts_user_add"), data)
    assert response.status_code == 302
    user = User.objects.get(username="new-clerk")
    assert list(user.memberships.values_list("region__code", "role")) == [(LUJIAGOU, Role.TOWNSHIP)]
    # Without a membership, or with one outside his county, no account is made.
    for region in (None, regions[TONGWEI]):
        bad = {**data, "username": "stray"}
        if region is None:
            bad["memberships-TOTAL_FORMS"] = "0"
            del bad["memberships-0-region"]
        else:
            bad["memberships-0-region"] = region.pk
        assert client.post(reverse("admin:accounts_user_add"), bad).status_code == 200
    assert not User.objects.filter(username="stray").exists()


def test_a_township_sysadmin_neither_sees_nor_edits_users_of_another_township(
    client, regions, township_sysadmin, township_lujiagou, grid_wogou
):
    other = make_staff("xiangquan-clerk", regions[XIANGQUAN], Role.TOWNSHIP)
    client.force_login(township_sysadmin)
    listing = client.get(reverse("admin:accounts_user_changelist"))
    assert {u.username for u in listing.context["cl"].queryset} == {
        "township-lujiagou",
        "grid-wogou",
    }
    assert client.get(reverse("admin:accounts_user_change", args=[other.pk])).status_code == 302
    reset = client.post(
        reverse("admin:auth_user_password_change", args=[other.pk]),
        {"password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026"},
    )
    assert reset.status_code == 404
    assert User.objects.get(pk=other.pk).check_password("pw-for-tests-only")
    # The memberships of the other township are out of reach too.
    membership = other.memberships.get()
    change = client.post(
        reverse("admin:regions_staffmembership_change", args=[membership.pk]),
        membership_form(other, regions[XIANGQUAN], Role.TOWNSHIP) | {"is_active": ""},
    )
    assert change.status_code == 302  # "does not exist", back to the list
    assert StaffMembership.objects.get(pk=membership.pk).is_active


def test_a_township_sysadmin_resets_and_deactivates_his_own_staff(
    client, township_sysadmin, grid_wogou
):
    client.force_login(township_sysadmin)
    reset = client.post(
        reverse("admin:auth_user_password_change", args=[grid_wogou.pk]),
        {"password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026"},
    )
    assert reset.status_code == 302
    assert User.objects.get(pk=grid_wogou.pk).check_password("a-Long-pass-2026")
    membership = grid_wogou.memberships.get()
    client.post(
        reverse("admin:regions_staffmembership_change", args=[membership.pk]),
        {"user": grid_wogou.pk, "region": membership.region_id, "role": Role.GRID},
    )
    assert not StaffMembership.objects.get(pk=membership.pk).is_active


def test_an_account_with_a_membership_above_is_out_of_reach(
    client, regions, county_sysadmin, province_user
):
    """A province member who also works in the county is not the county's to manage:
    otherwise a county sysadmin could reset a province account's password."""
    StaffMembership.objects.create(user=province_user, region=regions[WOGOU], role=Role.GRID)
    client.force_login(county_sysadmin)
    reset = client.post(
        reverse("admin:auth_user_password_change", args=[province_user.pk]),
        {"password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026"},
    )
    assert reset.status_code == 404
    listing = client.get(reverse("admin:regions_staffmembership_changelist"))
    assert province_user not in {m.user for m in listing.context["cl"].queryset}


def test_a_sysadmin_makes_no_superuser_and_gives_no_administrator_permission(
    client, regions, township_sysadmin, grid_wogou
):
    client.force_login(township_sysadmin)
    audit = Permission.objects.get(codename="view_auditentry")
    data = {
        "username": grid_wogou.username,
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "user_permissions": [audit.pk],
        "full_name": "grid",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "1",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": grid_wogou.memberships.get().pk,
        "memberships-0-user": grid_wogou.pk,
        "memberships-0-region": regions[WOGOU].pk,
        "memberships-0-role": Role.GRID,
        "memberships-0-is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
    }
    url = reverse("admin:accounts_user_change", args=[grid_wogou.pk])
    response = client.post(url, data)
    assert response.status_code == 200
    assert "user_permissions" in response.context["adminform"].form.errors
    del data["user_permissions"]
    assert client.post(url, data).status_code == 302  # saved, without the superuser flag
    grid_wogou.refresh_from_db()
    assert not grid_wogou.is_superuser
    assert not grid_wogou.user_permissions.filter(pk=audit.pk).exists()
