"""Each staff member lands on their own work after signing in, and the bar shows only
the links that lead somewhere for them."""

import pytest
from django.urls import reverse

from apps.screening.models import Department

from .conftest import ANDING
from .screening_steps import department_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def civil_clerk(regions):
    department = Department.objects.create(
        code="ad-mz", name="安定区民政局", region=regions[ANDING], kinds=["assistance"]
    )
    return department_user("minzheng", department, regions[ANDING])


@pytest.fixture
def medical_clerk(regions, medical_dept):
    return department_user("yibao", medical_dept, regions[ANDING])


def landing(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("staff_start"))["Location"]


def test_each_lands_on_their_own_work(client, grid_wogou, medical_clerk, civil_clerk):
    assert landing(client, grid_wogou) == reverse("staff:home")
    assert landing(client, medical_clerk) == reverse("feeds:list")
    assert landing(client, civil_clerk) == reverse("screening:civil_affairs")


def test_signing_in_goes_to_the_landing(client, medical_clerk):
    response = client.post(reverse("login"), {"username": "yibao", "password": "pw-for-tests-only"})
    assert response["Location"] == reverse("staff_start")


def test_the_bar_shows_what_leads_somewhere(client, grid_wogou, medical_clerk, township_lujiagou):
    client.force_login(medical_clerk)
    bar = client.get(reverse("feeds:list")).content.decode()
    assert reverse("feeds:list") in bar
    assert reverse("staff:queue") not in bar and reverse("roster:list") not in bar
    client.force_login(grid_wogou)
    bar = client.get(reverse("staff:home")).content.decode()
    assert reverse("staff:queue") in bar and reverse("feeds:list") not in bar
    assert reverse("roster:list") not in bar  # grid workers do not import the roster
    client.force_login(township_lujiagou)
    assert reverse("roster:list") in client.get(reverse("staff:home")).content.decode()


def test_the_province_lands_on_its_dashboard_and_sees_no_casework(client, province_user):
    client.force_login(province_user)
    assert client.get(reverse("staff_start"))["Location"] == reverse("supervision:start")
    bar = client.get(reverse("accounts:security")).content.decode()
    assert f'href="{reverse("staff:home")}"' not in bar and reverse("regions:qr_list") not in bar


def test_a_new_page_is_one_line_of_the_menu(rf, grid_wogou, monkeypatch):
    from apps.supervision.templatetags import staff_nav as nav

    entry = nav.Entry("Somewhere", "accounts:security", frozenset({"grid"}), priority=1)
    monkeypatch.setattr(nav, "MENU", (entry, *nav.MENU))
    menu = nav.staff_menu(grid_wogou)
    assert menu.shown[0].label == "Somewhere" and len(menu.shown) == nav.SHOWN
