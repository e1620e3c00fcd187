"""Everything a public page sends by SMS is limited (per phone, address, village), and
a daily budget holds non-urgent SMS once it is spent; notices of new cases always go."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from apps.declarations.models import Declaration
from apps.declarations.services import declaration_submit
from apps.notifications import backends
from apps.notifications.models import Message
from apps.notifications.services import messages_dispatch_pending
from apps.regions.models import Role

from .conftest import PROVINCE, WOGOU, declaration_input, form_data, make_staff
from .test_rate_limits import person

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def form_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})


def receipts() -> int:
    return Message.objects.filter(template="applicant_receipt").count()


# --- limits on the public pages' SMS ------------------------------------------------------


def test_over_the_per_phone_sms_limit_the_declaration_is_taken_without_a_receipt(
    client, form_url, grid_wogou, settings
):
    settings.RATELIMIT_SMS_PER_PHONE = "2/h"
    for i in range(3):  # three people give the same phone (a family, or a pest)
        data = form_data(**person(i))
        data["phone"] = "13912345678"
        assert client.post(form_url, data).status_code == 302
    assert Declaration.objects.count() == 3
    assert receipts() == 2
    # The grid worker hears of every case.
    assert Message.objects.filter(template="grid_new_declaration").count() == 3


def test_the_per_village_sms_limit(client, form_url, grid_wogou, settings):
    settings.RATELIMIT_SMS_PER_VILLAGE = "2/h"
    for i in range(3):
        assert client.post(form_url, form_data(**person(i))).status_code == 302
    assert receipts() == 2
    assert Message.objects.filter(template="grid_new_declaration").count() == 3


def test_the_per_address_sms_limit(client, form_url, settings):
    settings.RATELIMIT_SMS_PER_IP = "2/h"
    for i in range(3):
        client.post(form_url, form_data(**person(i)), REMOTE_ADDR="10.0.0.1")
    assert receipts() == 2
    client.post(form_url, form_data(**person(9)), REMOTE_ADDR="10.0.0.2")
    assert receipts() == 3


def test_codes_are_limited_per_phone_on_file(client, regions, settings):
    settings.RATELIMIT_SMS_PER_PHONE = "2/h"
    case = declaration_submit(
        village=regions[WOGOU], data=declaration_input(), applicant_receipt=False
    ).declaration
    token = client.post(
        reverse("public:status"), {"tracking_number": case.tracking_number, "phone": case.phone}
    ).context["case_token"]
    url = reverse("public:status_code", args=["withdraw"])
    statuses = [client.post(url, {"case": token}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_the_default_limits_let_a_whole_village_behind_one_address_get_receipts(client, form_url):
    for i in range(60):
        client.post(form_url, form_data(**person(i)), REMOTE_ADDR="100.64.0.1")
    assert receipts() == 60


# --- the daily budget ---------------------------------------------------------------------


@pytest.fixture
def secadmin(regions):
    return make_staff("secadmin", regions[PROVINCE], Role.SECURITY_ADMIN, mobile="13500135000")


def submit(regions, i):
    id_number = person(i)["id_number"]
    return declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(id_number=id_number, phone=f"1390000{i:04d}"),
    )


@time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=LOCAL), tick=False)
def test_a_spent_budget_holds_receipts_but_never_a_grid_workers_notice(
    regions, grid_wogou, secadmin, settings, django_capture_on_commit_callbacks
):
    settings.SMS_DAILY_BUDGET = 3
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            submit(regions, i)
    # Two SMS a declaration: the first declaration's go, the second overspends the
    # budget of 3 and its receipt is held, as is the third's.
    first = Message.objects.filter(subject=f"declaration:{Declaration.objects.earliest('pk').pk}")
    assert set(first.values_list("status", flat=True)) == {"sent"}
    assert (
        list(
            Message.objects.filter(template="grid_new_declaration").values_list("status", flat=True)
        )
        == ["sent"] * 3
    )
    held = Message.objects.filter(status=Message.Status.HELD)
    assert set(held.values_list("template", flat=True)) == {"applicant_receipt"}
    assert held.count() == 2
    # The province's security administrator is told, once.
    alerts = [m for m in backends.outbox if m["template"] == "sms_budget_reached"]
    assert [(a["phone"], a["params"]["budget"]) for a in alerts] == [("13500135000", 3)]
    assert len([m for m in backends.outbox if m["phone"] == "13500135000"]) == 1


def test_the_alert_goes_to_province_staff_without_a_security_administrator(
    regions, settings, django_capture_on_commit_callbacks
):
    make_staff("province", regions[PROVINCE], Role.PROVINCE, mobile="13400134000")
    settings.SMS_DAILY_BUDGET = 1
    with django_capture_on_commit_callbacks(execute=True):
        submit(regions, 0)
        submit(regions, 1)
    assert Message.objects.get(template="sms_budget_reached").recipient == "13400134000"


def test_held_messages_go_the_next_morning(regions, grid_wogou, settings):
    settings.SMS_DAILY_BUDGET = 2
    with time_machine.travel(dt.datetime(2026, 11, 20, 15, tzinfo=LOCAL), tick=False):
        submit(regions, 0)
        submit(regions, 1)
    held = Message.objects.get(status=Message.Status.HELD)
    # Just after midnight the sweep releases it, but not into the night's quiet hours.
    with time_machine.travel(dt.datetime(2026, 11, 21, 0, 5, tzinfo=LOCAL), tick=False):
        messages_dispatch_pending()
    held.refresh_from_db()
    assert held.status == Message.Status.PENDING and held.sent_at is None
    with time_machine.travel(dt.datetime(2026, 11, 21, 8, 2, tzinfo=LOCAL), tick=False):
        messages_dispatch_pending()
    held.refresh_from_db()
    assert held.status == Message.Status.SENT
    assert any(m["template"] == "applicant_receipt" for m in backends.outbox)


def test_held_messages_are_not_sent_the_same_day(regions, grid_wogou, settings):
    settings.SMS_DAILY_BUDGET = 2
    with time_machine.travel(dt.datetime(2026, 11, 20, 15, tzinfo=LOCAL), tick=False):
        submit(regions, 0)
        submit(regions, 1)
    with time_machine.travel(dt.datetime(2026, 11, 20, 20, tzinfo=LOCAL), tick=False):
        messages_dispatch_pending()
    assert Message.objects.get(template="applicant_receipt", status=Message.Status.HELD)
