"""The applicant appeals or withdraws from the status page (tracking number + phone)."""

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.declarations import services as s
from apps.declarations.models import Appeal, Declaration, Level, State

from .conftest import WOGOU, declaration_input

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(regions, grid_wogou):
    return s.declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration


def look_up(client, case):
    response = client.post(
        reverse("public:status"), {"tracking_number": case.tracking_number, "phone": "13912345678"}
    )
    return response, response.context.get("case_token")


def test_a_rejected_applicant_appeals_to_the_township(client, case, grid_wogou):
    s.declaration_accept(declaration=case, actor=grid_wogou)
    s.declaration_village_reject(declaration=case, actor=grid_wogou, reason="收入高于标准")
    response, token = look_up(client, case)
    page = response.content.decode()
    assert "收入高于标准" in page and reverse("public:status_act", args=["appeal"]) in page
    response = client.post(
        reverse("public:status_act", args=["appeal"]), {"case": token, "reason": "药费没算"}
    )
    assert response.status_code == 200
    appeal = Appeal.objects.get()
    assert (appeal.level, appeal.channel, appeal.recorded_by) == (Level.TOWNSHIP, "online", None)
    assert "申诉" in look_up(client, case)[0].content.decode()
    # A second appeal while the first is pending is refused.
    again = client.post(
        reverse("public:status_act", args=["appeal"]), {"case": token, "reason": "再次"}
    )
    assert again.status_code == 409 and Appeal.objects.count() == 1


def test_an_open_declaration_can_be_withdrawn_by_its_applicant(client, case):
    response, token = look_up(client, case)
    assert reverse("public:status_act", args=["withdraw"]) in response.content.decode()
    client.post(
        reverse("public:status_act", args=["withdraw"]), {"case": token, "reason": "情况好转"}
    )
    assert Declaration.objects.get(pk=case.pk).state == State.WITHDRAWN


def test_without_a_valid_token_nothing_happens(client, case):
    forged = client.post(
        reverse("public:status_act", args=["withdraw"]), {"case": f"{case.pk}:x:y", "reason": "x"}
    )
    assert forged.status_code == 403
    _response, token = look_up(client, case)
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        expired = client.post(
            reverse("public:status_act", args=["withdraw"]), {"case": token, "reason": "x"}
        )
    assert expired.status_code == 403
    assert (
        client.post(reverse("public:status_act", args=["delete"]), {"case": token}).status_code
        == 404
    )
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED


def test_a_reason_is_required(client, case):
    _response, token = look_up(client, case)
    response = client.post(
        reverse("public:status_act", args=["withdraw"]), {"case": token, "reason": ""}
    )
    assert response.status_code == 400 and response.context["form"].errors["reason"]
    assert Declaration.objects.get(pk=case.pk).state == State.SUBMITTED
