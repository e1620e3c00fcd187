"""The farmer's form: happy path, each validation error, hostile input."""

from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse, set_script_prefix

from apps.core.identity import id_hash, mobile_hash
from apps.deadlines.models import Clock, Stage
from apps.declarations.models import Channel, Declaration, State, Transition
from apps.declarations.selectors import declaration_timeline
from apps.declarations.services import declaration_submit, intake, verify_due_date
from apps.declarations.views_public import receipt_url
from apps.notifications.models import Message

from .conftest import ID_A, ID_B, WOGOU, declaration_input, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def form_url(regions):
    return reverse("public:village_form", kwargs={"slug": regions[WOGOU].public_slug})


def nothing_saved():
    return (
        not Declaration.objects.exists()
        and not Message.objects.exists()
        and not Transition.objects.exists()
    )


def test_the_form_opens_without_login_and_names_the_village(client, form_url):
    response = client.get(form_url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "窝沟村" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "<script" not in page  # works without JavaScript


def test_an_unknown_village_slug_is_404(client, regions):
    assert (
        client.get(reverse("public:village_form", kwargs={"slug": "nosuch99"})).status_code == 404
    )


def test_happy_path_creates_one_submitted_case_and_its_sms(client, form_url, grid_wogou):
    response = client.post(form_url, form_data(phone="１３９-1234-5678", id_number=ID_A.lower()))
    assert response.status_code == 302
    declaration = Declaration.objects.get()
    assert declaration.state == State.SUBMITTED
    assert declaration.channel == Channel.QR
    assert declaration.region_code == WOGOU
    assert declaration.phone == "13912345678"
    assert declaration.id_number == ID_A
    assert declaration.difficulties == ["illness"]
    (entry,) = declaration_timeline(declaration)  # the submission is the first entry
    assert (entry.state, entry.actor, entry.at) == (State.SUBMITTED, None, declaration.submitted_at)
    assert entry.actor_label == "扫码自主申报"
    templates = sorted(Message.objects.values_list("template", flat=True))
    assert templates == ["applicant_receipt", "grid_new_declaration"]

    receipt = client.get(response["Location"])
    assert receipt.status_code == 200
    assert declaration.tracking_number_display in receipt.content.decode()


def test_no_page_of_the_form_is_kept_in_a_cache(client, form_url):
    # The form carries a CSRF token and errors echo what was typed; the redirect to the
    # receipt carries its signed link.
    page = client.get(form_url)
    invalid = client.post(form_url, form_data(phone="123"))
    accepted = client.post(form_url, form_data())
    assert (page.status_code, invalid.status_code, accepted.status_code) == (200, 400, 302)
    for response in (page, invalid, accepted):
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_tracking_numbers_are_twelve_digits_with_a_check_digit_and_not_sequential(client, form_url):
    from stdnum import luhn

    ids = ["62110219800101107X", "621102199005050038", "621121197503150023"]
    numbers = []
    for i, id_number in enumerate(ids):
        client.post(
            form_url, form_data(id_number=id_number, phone=f"1391234567{i}", token=f"{i:032x}")
        )
    numbers = list(Declaration.objects.values_list("tracking_number", flat=True))
    assert len(numbers) == 3
    for number in numbers:
        assert len(number) == 12 and number.isdigit() and luhn.is_valid(number)
    ordered = sorted(int(n) for n in numbers)
    assert ordered[1] - ordered[0] != 1 or ordered[2] - ordered[1] != 1


def test_declaring_on_someone_s_behalf_records_the_declarant(client, form_url):
    data = form_data(
        on_behalf="on",
        declarant_name="魏小军",
        declarant_phone="13600136000",
        declarant_relation="儿子",
    )
    assert client.post(form_url, data).status_code == 302
    declaration = Declaration.objects.get()
    assert declaration.channel == Channel.PROXY
    assert (declaration.declarant_name, declaration.declarant_phone) == ("魏小军", "13600136000")
    # Both the household and the declarant get the tracking number.
    receipts = Message.objects.filter(template="applicant_receipt")
    assert sorted(m.recipient for m in receipts) == ["13600136000", "13912345678"]


def test_declarant_fields_are_ignored_when_not_on_behalf(client, form_url):
    client.post(form_url, form_data(declarant_name="某人", declarant_phone="13600136000"))
    declaration = Declaration.objects.get()
    assert (declaration.on_behalf, declaration.declarant_name, declaration.declarant_phone) == (
        False,
        "",
        "",
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "张"}, "name"),
        ({"name": "<script>alert(1)</script>"}, "name"),
        ({"name": "张" * 31}, "name"),
        ({"phone": "12345678901"}, "phone"),
        ({"phone": "139123456789"}, "phone"),
        ({"id_number": "621102199005050031"}, "id_number"),
        ({"id_number": "621102199002300035"}, "id_number"),
        ({"id_number": "621102209905050031"}, "id_number"),
        ({"id_number": "62110219900505003"}, "id_number"),
        ({"address_group": ""}, "address_group"),
        ({"address_group": "组" * 31}, "address_group"),
        ({"difficulties": None}, "difficulties"),
        ({"difficulties": ["bribery"]}, "difficulties"),
        ({"description": "苦" * 501}, "description"),
        ({"consent": None}, "consent"),
        ({"on_behalf": "on"}, "declarant_name"),
        (
            {
                "on_behalf": "on",
                "declarant_name": "魏小军",
                "declarant_phone": "123",
                "declarant_relation": "儿子",
            },
            "declarant_phone",
        ),
    ],
)
def test_each_validation_error_is_shown_at_its_field_and_nothing_is_saved(
    client, form_url, overrides, field
):
    response = client.post(form_url, form_data(**overrides))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors
    assert all(message.strip() for message in form.errors[field])
    assert 'class="field has-error"' in response.content.decode() or field in (
        "difficulties",
        "consent",
    )
    assert nothing_saved()


def test_the_form_keeps_what_was_typed_after_an_error(client, form_url):
    response = client.post(
        form_url, form_data(id_number="621102199005050031", description="房子塌了")
    )
    page = response.content.decode()
    assert "房子塌了" in page and "魏家常" in page


def test_markup_in_the_description_is_stored_as_text_and_escaped(client, form_url, grid_wogou):
    client.post(form_url, form_data(description='<img src=x onerror="alert(1)">\u202e反转'))
    declaration = Declaration.objects.get()
    assert "\u202e" not in declaration.description
    client.force_login(grid_wogou)
    page = client.get(reverse("staff:detail", args=[declaration.tracking_number])).content.decode()
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_null_bytes_are_refused(client, form_url):
    response = client.post(form_url, form_data(name="魏\x00家常"))
    assert response.status_code == 400
    assert nothing_saved()


def test_an_oversized_body_is_refused_before_parsing(client, form_url):
    response = client.post(form_url, form_data(description="x" * 20_000))
    assert response.status_code == 413
    assert nothing_saved()


def test_thousands_of_fields_are_refused(client, form_url):
    data = form_data()
    data.update({f"f{i}": "1" for i in range(300)})
    body = urlencode(data, doseq=True)
    assert len(body) < 16_000  # under the size limit: the field count must trip
    response = client.post(form_url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert nothing_saved()


def test_a_post_without_csrf_token_is_refused(regions, form_url):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(form_url, form_data())
    assert response.status_code == 403
    assert nothing_saved()


def test_a_forged_receipt_link_is_404(client):
    assert client.get(reverse("public:receipt", args=["1:forged:token"])).status_code == 404


def test_receipt_links_are_signed_with_the_current_secret_key(client, regions, settings):
    # The signer is kept between requests, but not across a change of key: a link
    # signed before a key rotation without fallback no longer opens, one signed after
    # does.
    declaration = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    before = receipt_url(declaration)
    settings.SECRET_KEY = "another-secret-key-" + "y" * 40
    after = receipt_url(declaration)
    assert after != before
    assert client.get(after).status_code == 200
    assert client.get(before).status_code == 404


@pytest.mark.parametrize("script_prefix", ["/", "/yjsb/"])
def test_the_receipt_link_is_the_reversed_url_and_opens_the_receipt(client, regions, script_prefix):
    # The receipt's path is reversed once and its token filled in (views_public).
    declaration = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    set_script_prefix(script_prefix)
    try:
        url = receipt_url(declaration)
        token = url.rstrip("/").rsplit("/", 1)[1]
        assert url == reverse("public:receipt", kwargs={"token": token})
        assert url.startswith(f"{script_prefix}receipt/")
    finally:
        set_script_prefix("/")
    response = client.get(url.removeprefix(script_prefix.rstrip("/")))
    assert response.status_code == 200
    assert declaration.tracking_number_display in response.content.decode()


def test_malformed_encoding_is_a_field_error_not_a_crash(client, form_url):
    body = b"name=%FF%FE%FD&phone=13912345678&id_number=62110219800101107X&address_group=3&difficulties=illness&consent=on"
    response = client.post(form_url, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert nothing_saved()


def test_a_json_body_is_refused_cleanly(client, form_url):
    response = client.post(form_url, {"name": ["a", "b"]}, content_type="application/json")
    assert response.status_code == 400
    assert nothing_saved()


def test_the_on_behalf_section_is_folded_unless_used_and_errors_are_linked(client, form_url):
    page = client.get(form_url).content.decode()
    assert '<details class="behalf">' in page  # folded for the usual case
    response = client.post(form_url, form_data(on_behalf="on", id_number="621102199005050031"))
    page = response.content.decode()
    assert '<details class="behalf" open>' in page  # open when the declarant must fill it in
    assert 'href="#id_id_number"' in page and 'href="#id_declarant_name"' in page


# --- what a submission writes ----------------------------------------------------------


def submission_rows(declaration):
    clocks = {c.stage: c for c in Clock.objects.for_subject("declaration", declaration.pk)}
    messages = {
        m.template: m for m in Message.objects.filter(subject=f"declaration:{declaration.pk}")
    }
    return clocks, messages


def test_a_submission_writes_the_case_its_clocks_and_its_sms(
    regions, grid_wogou, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = declaration_submit(
            village=regions[WOGOU], data=declaration_input(), submission_token="a" * 32
        )
    declaration = Declaration.objects.get()
    assert result.created and result.declaration.pk == declaration.pk
    assert not result.declaration._state.adding
    assert (declaration.phone, declaration.id_number) == ("13912345678", ID_A)
    assert declaration.id_hash == id_hash(ID_A) and declaration.phone_hash == mobile_hash(
        "13912345678"
    )
    assert declaration.submission_token == "a" * 32 and declaration.difficulties == ["illness"]
    clocks, messages = submission_rows(declaration)
    assert set(clocks) == {Stage.VERIFY, Stage.ENROL}
    assert Clock.objects.count() == 2 and Message.objects.count() == 2
    assert all(c.started_at == declaration.submitted_at for c in clocks.values())
    assert clocks[Stage.VERIFY].due_on == verify_due_date(declaration)
    grid = messages["grid_new_declaration"]
    assert grid.recipient == "13800138000"
    assert (
        grid.dedupe_key
        == f"declaration:{declaration.pk}:grid_new_declaration:{grid.recipient_hash}"
    )
    assert messages["applicant_receipt"].params["tracking"] == declaration.tracking_number_display
    # Dispatched after commit, once: eager here, so already sent. (The other callback
    # queues the check for a surge of declarations: supervision.)
    assert len(callbacks) == 2
    assert set(Message.objects.values_list("status", flat=True)) == {Message.Status.SENT}


def test_a_refused_submission_writes_nothing_and_spares_the_callers_transaction(
    regions, grid_wogou
):
    with transaction.atomic():  # as declaration_reidentify calls it
        first = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
        again = declaration_submit(
            village=regions[WOGOU], data=declaration_input(phone="13700000001")
        )
        assert (again.created, again.reason, again.declaration.pk) == (False, "open_case", first.pk)
        # The failed INSERT rolled back to its savepoint only: the transaction goes on.
        assert Declaration.objects.count() == 1
    counts = Declaration.objects.count(), Clock.objects.count(), Message.objects.count()
    assert counts == (1, 2, 2)


def test_a_tracking_number_collision_is_retried_with_a_new_number(regions, monkeypatch):
    taken = declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    numbers = iter([taken.tracking_number, "123456789015"])
    monkeypatch.setattr(intake, "new_tracking_number", lambda: next(numbers))
    result = declaration_submit(village=regions[WOGOU], data=declaration_input(id_number=ID_B))
    assert result.created and result.declaration.tracking_number == "123456789015"
    clocks, messages = submission_rows(result.declaration)
    assert len(clocks) == 2 and len(messages) == 1  # no grid worker here: the receipt
    assert Declaration.objects.count() == 2 and Clock.objects.count() == 4
