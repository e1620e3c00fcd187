"""The county's help-policy list in the admin: each county keeps its own; others see
their subtree only and cannot change it."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.households.models import PolicyKind, PolicyMeasure
from apps.regions.models import Role

from .conftest import ANDING, LUJIAGOU, TONGWEI, make_staff

pytestmark = pytest.mark.django_db

PERMS = ["view_policymeasure", "add_policymeasure", "change_policymeasure"]


def admin_user(name, region, role):
    user = make_staff(name, region, role)
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=PERMS))
    return user


def form(county_code, regions, **extra):
    data = {
        "county": regions[county_code].pk,
        "name": "乡村公益性岗位",
        "kind": PolicyKind.WELFARE_JOB,
        "eligibility": "有劳动能力、无法外出务工的监测对象",
        "department": "安定区人社局",
        "time_bound": "on",
        "active": "on",
    }
    data.update(extra)
    return data


def test_a_county_clerk_adds_to_the_own_countys_list(client, regions):
    clerk = admin_user("clerk", regions[ANDING], Role.COUNTY)
    client.force_login(clerk)
    response = client.post(reverse("admin:households_policymeasure_add"), form(ANDING, regions))
    assert response.status_code == 302
    policy = PolicyMeasure.objects.get()
    assert policy.county.code == ANDING and policy.time_bound


def test_another_countys_list_is_neither_offered_nor_accepted(client, regions):
    clerk = admin_user("clerk", regions[ANDING], Role.COUNTY)
    client.force_login(clerk)
    response = client.post(reverse("admin:households_policymeasure_add"), form(TONGWEI, regions))
    assert response.status_code == 200  # the form again, with the error at the field
    assert "county" in response.context["adminform"].form.errors
    assert not PolicyMeasure.objects.exists()


def test_a_township_sees_the_list_but_cannot_change_it(client, regions):
    mine = PolicyMeasure.objects.create(
        county=regions[ANDING], name="临时救助", kind=PolicyKind.TEMPORARY, department="民政局"
    )
    PolicyMeasure.objects.create(
        county=regions[TONGWEI], name="通渭临时救助", kind=PolicyKind.TEMPORARY, department="民政局"
    )
    township = admin_user("township", regions[LUJIAGOU], Role.TOWNSHIP)
    client.force_login(township)
    listing = client.get(reverse("admin:households_policymeasure_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset) == []  # a township is below the county
    assert client.get(reverse("admin:households_policymeasure_add")).status_code == 403
    change = client.post(
        reverse("admin:households_policymeasure_change", args=[mine.pk]),
        form(ANDING, regions, name="改名"),
    )
    assert change.status_code in (403, 404)
    mine.refresh_from_db()
    assert mine.name == "临时救助"


def test_the_province_sees_every_countys_list(client, regions):
    PolicyMeasure.objects.create(
        county=regions[TONGWEI], name="通渭临时救助", kind=PolicyKind.TEMPORARY, department="民政局"
    )
    province = admin_user("prov", regions["620000000000"], Role.PROVINCE)
    client.force_login(province)
    listing = client.get(reverse("admin:households_policymeasure_changelist"))
    assert [p.name for p in listing.context["cl"].queryset] == ["通渭临时救助"]
