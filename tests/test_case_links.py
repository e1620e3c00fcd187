"""The grid worker's new-case SMS carries a short signed link to the case: it leads
there after sign-in, only for users whose region holds the case, and a made-up or
altered link leads nowhere. A revealed phone number can be called with one tap."""

import pytest
from django.urls import reverse

from apps.declarations.services import case_from_link_code, case_link_code
from apps.notifications.models import Message

pytestmark = pytest.mark.django_db


def _link(case) -> str:
    text = Message.objects.get(template="grid_new_declaration", subject__endswith=str(case.pk)).text
    return text.rsplit("：", 1)[1].strip()


def test_the_new_case_sms_carries_a_short_link_to_the_case(client, case, grid_wogou, settings):
    link = _link(case)
    assert link.startswith(settings.PUBLIC_BASE_URL)
    assert len(link) - len(settings.PUBLIC_BASE_URL) <= 30  # short enough for one SMS
    path = link.removeprefix(settings.PUBLIC_BASE_URL)
    # Signing in is still required ...
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    # ... then the link opens the case.
    client.force_login(grid_wogou)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:detail", args=[case.tracking_number])


def test_the_link_opens_nothing_for_a_user_of_another_region(client, case, grid_taiping):
    client.force_login(grid_taiping)
    path = reverse("staff:case_link", args=[case_link_code(case.pk)])
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("tamper", ["next-id", "bad-mac", "no-mac", "junk"])
def test_a_made_up_or_altered_link_leads_nowhere(client, case, grid_wogou, tamper):
    code = case_link_code(case.pk)
    key, mac = code.split("-")
    bad = {
        "next-id": f"{case_link_code(case.pk + 1).split('-')[0]}-{mac}",
        "bad-mac": f"{key}-{'0' * len(mac)}",
        "no-mac": key,
        "junk": "%%%-x" * 20,
    }[tamper]
    assert case_from_link_code(bad) is None
    client.force_login(grid_wogou)
    assert client.get(reverse("staff:case_link", args=[bad])).status_code == 404


def test_a_revealed_phone_number_is_tap_to_call(client, case, grid_wogou):
    client.force_login(grid_wogou)
    response = client.post(reverse("staff:reveal", args=[case.tracking_number, "phone"]))
    assert 'href="tel:13912345678"' in response.content.decode()
    response = client.post(reverse("staff:reveal", args=[case.tracking_number, "id_number"]))
    assert "tel:" not in response.content.decode()
