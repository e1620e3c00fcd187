"""One open case per person, double taps, and the applicant's status look-up."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from apps.deadlines.models import Clock
from apps.declarations.models import Declaration, State
from apps.declarations.services import declaration_submit
from apps.notifications.models import Message

from .conftest import ID_A, ID_B, TAIPING, WOGOU, declaration_input, form_data, require_postgres

pytestmark = pytest.mark.django_db


@pytest.fixture
def form_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})


def test_declaring_again_while_a_case_is_open_texts_the_existing_tracking_number(
    client, form_url, regions
):
    first = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    # Same person, another phone, another village's poster, another day.
    url_b = reverse("public:village_form", kwargs={"slug": regions[TAIPING].public_slug})
    response = client.post(url_b, form_data(phone="13700000001", token="f" * 32))
    assert response.status_code == 200
    # The page shows nothing of the case (whoever typed the ID number may not be the
    # household); the number goes by SMS to the phone on file.
    assert first.tracking_number_display not in response.content.decode()
    assert Declaration.objects.count() == 1
    assert Message.objects.get(template="applicant_open_case").recipient == first.phone
    assert not Message.objects.exclude(subject__startswith=f"declaration:{first.pk}").exists()


def test_a_double_tap_creates_one_case_and_both_taps_reach_the_same_receipt(client, form_url):
    first = client.post(form_url, form_data())
    second = client.post(form_url, form_data())
    assert first.status_code == second.status_code == 302
    assert Declaration.objects.count() == 1
    assert client.get(first["Location"]).content == client.get(second["Location"]).content


def test_a_closed_case_does_not_block_a_new_declaration(client, form_url, regions):
    old = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    Declaration.objects.filter(pk=old.pk).update(state=State.REJECTED)  # as the review will
    assert client.post(form_url, form_data(token="e" * 32)).status_code == 302
    assert Declaration.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_for_one_person_create_one_case(regions):
    require_postgres()
    village = regions[WOGOU]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit(token):
        try:
            barrier.wait()
            results.append(
                declaration_submit(
                    village=village, data=declaration_input(), submission_token=token
                )
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(t * 32,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Declaration.objects.count() == 1
    assert sorted(r.created for r in results) == [False, True]
    assert len({r.declaration.pk for r in results}) == 1
    # The loser wrote nothing: one set of clocks and SMS.
    assert Message.objects.count() == 1  # no grid worker here: the applicant's receipt
    assert Clock.objects.count() == 2


# --- status look-up -----------------------------------------------------------------


@pytest.fixture
def case(regions):
    return declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(
            on_behalf=True,
            declarant_name="魏小军",
            declarant_phone="13600136000",
            declarant_relation="儿子",
        ),
    ).declaration


def lookup(client, tracking, phone):
    return client.post(reverse("public:status"), {"tracking_number": tracking, "phone": phone})


def test_the_right_pair_shows_the_stage_and_dates(client, case):
    response = lookup(client, case.tracking_number_display, "139 1234 5678")
    assert response.status_code == 200
    result = response.context["result"]
    assert result.state == State.SUBMITTED
    assert result.village_name == "窝沟村"
    assert result.verify_due > result.submitted_at.date()
    page = response.content.decode()
    assert case.tracking_number_display in page
    # Nothing personal is echoed back.
    assert ID_A not in page and case.name not in page


def test_the_declarant_s_phone_also_works(client, case):
    assert lookup(client, case.tracking_number, "13600136000").context["result"] is not None


def test_a_wrong_phone_and_an_unknown_number_look_exactly_alike(client, case):
    wrong_phone = lookup(client, case.tracking_number, "13700137000")
    unknown = "100000000008" if case.tracking_number != "100000000008" else "100000000016"
    no_such = lookup(client, unknown, "13700137000")
    assert wrong_phone.status_code == no_such.status_code == 200
    assert wrong_phone.context["result"] is None and no_such.context["result"] is None
    strip = lambda r: r.content.decode().replace(str(r.context["csrf_token"]), "")  # noqa: E731
    assert strip(wrong_phone).replace(case.tracking_number, "") == strip(no_such).replace(
        unknown, ""
    )


def test_a_malformed_tracking_number_is_a_field_error(client, case):
    response = lookup(client, "12ab", "13912345678")
    assert response.status_code == 400
    assert "tracking_number" in response.context["form"].errors


def test_a_second_person_in_the_same_village_can_declare(client, form_url):
    client.post(form_url, form_data())
    client.post(
        form_url, form_data(id_number=ID_B, name="李秀兰", phone="13800001111", token="b" * 32)
    )
    assert Declaration.objects.count() == 2
