"""A case page offers only the steps the case's state and data allow now; a step not
possible yet is shown disabled with its reason; a refused step redirects back to the
page (Post/Redirect/Get), so the refusal shows on a GET and a refresh sends nothing."""

import datetime as dt
import html
import re

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import formats, timezone, translation

from apps.declarations.models import Declaration, DocumentKind, State, Transition
from apps.declarations.selectors import available_steps

from .conftest import make_staff
from .review_steps import to_notice, to_township, to_verified

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("line")]

TODAY = timezone.localdate


def detail(declaration) -> str:
    return reverse("staff:detail", args=[declaration.tracking_number])


def steps(declaration, user) -> dict[str, tuple[bool, str]]:
    with translation.override("zh-hans"):
        return {o.name: (o.available, o.reason) for o in available_steps(declaration, user)}


def page_steps(response) -> tuple[set[str], dict[str, str]]:
    """The steps on the case page: those one can press (a form posting to the step, or a
    link to its page), and the disabled ones (by name) with the reason shown with them."""
    text = response.content.decode()
    found = re.search(r'<section class="card actions">(.*?)</section>', text, re.S)
    if found is None:
        return set(), {}
    section = found.group(1)
    pressable = set(re.findall(r'<form method="post" action="/[^"]*/act/(\w+)/"', section))
    pressable |= set(re.findall(r'<a class="button secondary" href="/[^"]*/(\w+)/"', section))
    disabled = {
        name: html.unescape(why)
        for name, _label, why in re.findall(
            r'<button type="button" class="button secondary" disabled '
            r'aria-describedby="why-(\w+)">(.*?)</button>\s*'
            r'<p class="small why" id="why-\1">(.*?)</p>',
            section,
            re.S,
        )
    }
    return pressable, disabled


def zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


def test_a_new_case_offers_acceptance_and_the_closing_steps(client, case, grid_wogou):
    assert steps(case, grid_wogou) == {
        "accept": (True, ""),
        "withdraw": (True, ""),
        "merge": (True, ""),
    }
    client.force_login(grid_wogou)
    pressable, disabled = page_steps(client.get(detail(case)))
    assert pressable == {"accept", "withdraw", "merge"}
    assert disabled == {}


def test_without_the_signed_letter_the_income_step_is_disabled_with_what_is_missing(
    client, case, grid_wogou
):
    to_verified(case, grid_wogou, letter=False)
    offered = steps(case, grid_wogou)
    letter = zh(DocumentKind.CONSENT.label)
    assert offered["income"] == (False, f"请先上传：{letter}。")
    assert offered["evaluation"] == (False, "请先测算家庭收入。")
    assert "visit" not in offered  # the visit is done; it is amended only when returned

    client.force_login(grid_wogou)
    pressable, disabled = page_steps(client.get(detail(case)))
    assert "income" not in pressable and "evaluation" not in pressable
    assert disabled == {"income": f"请先上传：{letter}。", "evaluation": "请先测算家庭收入。"}


def test_a_case_in_public_notice_shows_the_township_step_disabled_until_the_notice_ends(
    client, case, grid_wogou
):
    end = TODAY() + dt.timedelta(days=2)
    to_notice(case, grid_wogou, notice_end=end)
    with translation.override("zh-hans"):
        until = "公示期至" + formats.date_format(end, "DATE_FORMAT")
    available, reason = steps(case, grid_wogou)["pass_to_township"]
    assert not available and reason.startswith(until)
    assert until == f"公示期至{end.year}年{end.month}月{end.day}日"

    client.force_login(grid_wogou)
    pressable, disabled = page_steps(client.get(detail(case)))
    assert "pass_to_township" not in pressable
    assert any(r.startswith(until) for r in disabled.values())

    # The day after the notice ends, the step is offered and done.
    with time_machine.travel(timezone.now() + dt.timedelta(days=3)):
        assert steps(case, grid_wogou)["pass_to_township"] == (True, "")
        client.force_login(grid_wogou)  # the idle session ended meanwhile
        pressable, disabled = page_steps(client.get(detail(case)))
        assert "pass_to_township" in pressable and disabled == {}
        response = client.post(
            reverse("staff:act", args=[case.tracking_number, "pass_to_township"])
        )
        assert response.status_code == 302
    assert Declaration.objects.get(pk=case.pk).state == State.TOWNSHIP_REVIEW


def test_missing_documents_are_listed_at_the_pass_up_step(client, case, grid_wogou):
    to_notice(case, grid_wogou, documents=False)
    available, reason = steps(case, grid_wogou)["pass_to_township"]
    assert not available
    for kind in (DocumentKind.HOUSEHOLD_REGISTER, DocumentKind.ID_CARD, DocumentKind.MINUTES):
        assert zh(kind.label) in reason


def test_the_township_sees_its_steps_and_the_village_none_of_them(
    client, case, grid_wogou, township_lujiagou
):
    to_township(case, grid_wogou)
    offered = steps(case, township_lujiagou)
    assert offered["property"] == (True, "")
    assert offered["township_approve"] == (False, "请先完成财产核查（车辆、房产、工商登记）。")
    assert offered["township_return"] == (True, "") and offered["township_reject"] == (True, "")

    # The village may not act on a case under the township's review: no button at all.
    assert set(steps(case, grid_wogou)) == {"withdraw", "merge"}
    client.force_login(grid_wogou)
    pressable, disabled = page_steps(client.get(detail(case)))
    assert not pressable & {"property", "township_approve", "township_return", "township_reject"}
    assert disabled == {}


def test_a_refused_step_redirects_to_the_case_page_and_a_refresh_sends_nothing(
    client, case, grid_wogou
):
    end = TODAY() + dt.timedelta(days=2)
    to_notice(case, grid_wogou, notice_end=end)
    logged = Transition.objects.filter(declaration=case).count()
    client.force_login(grid_wogou)

    response = client.post(reverse("staff:act", args=[case.tracking_number, "pass_to_township"]))
    assert response.status_code == 302 and response["Location"] == detail(case)
    page = client.get(response["Location"])
    shown = [(m.level_tag, str(m)) for m in get_messages(page.wsgi_request)] or None
    text = page.content.decode()
    with translation.override("zh-hans"):
        until = "公示期至" + formats.date_format(end, "DATE_FORMAT")
    assert f'<li class="error">{until}' in text, shown
    assert Declaration.objects.get(pk=case.pk).state == State.IN_NOTICE

    # A refresh is a GET of the case page: nothing is sent, the refusal is not repeated.
    again = client.get(detail(case))
    assert again.status_code == 200 and '<li class="error">' not in again.content.decode()
    assert Transition.objects.filter(declaration=case).count() == logged


def test_a_refused_form_page_redirects_to_its_own_page(client, case, grid_wogou):
    to_verified(case, grid_wogou, letter=False)
    client.force_login(grid_wogou)
    income = reverse("staff:income", args=[case.tracking_number])
    response = client.post(income, {"household_size": 2, "compared_on": TODAY().isoformat()})
    assert response.status_code == 302 and response["Location"] == income
    letter = zh(DocumentKind.CONSENT.label)
    assert f"请先上传：{letter}。" in client.get(income).content.decode()
    assert not hasattr(Declaration.objects.get(pk=case.pk), "income")


def test_a_role_that_may_not_act_sees_no_step(client, case, regions):
    from apps.regions.models import Role

    from .conftest import TONGWEI

    other_county = make_staff("county-other", regions[TONGWEI], Role.COUNTY)
    assert steps(case, other_county) == {}
