"""ID and phone numbers: encrypted at rest, masked on staff pages, revealed with a log."""

import base64

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.db import connection
from django.urls import reverse

from apps.audit.models import Action, AuditEntry, Result
from apps.core import crypto
from apps.declarations.models import Declaration
from apps.declarations.services import declaration_submit

from .conftest import ID_A, WOGOU, declaration_input

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
DECLARANT_PHONE = "13600136000"


@pytest.fixture
def case(regions, grid_wogou):
    return declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(
            on_behalf=True,
            declarant_name="魏小军",
            declarant_phone=DECLARANT_PHONE,
            declarant_relation="儿子",
        ),
    ).declaration


def dump_tables(*tables) -> str:
    text = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 — fixed table names
            text.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(text)


def test_no_plaintext_id_or_phone_anywhere_in_the_database(case):
    raw = dump_tables(
        "declarations_declaration",
        "declarations_transition",
        "notifications_message",
        "accounts_user",
    )
    for secret in (ID_A, ID_A[:17], PHONE, DECLARANT_PHONE, "13800138000"):
        assert secret not in raw
    assert case.tracking_number in raw  # the dump itself works


def test_tokens_are_aes_gcm_and_each_value_gets_its_own(settings):
    first, second = crypto.encrypt(PHONE), crypto.encrypt(PHONE)
    assert first != second  # a fresh nonce each time: equal values do not show
    assert base64.urlsafe_b64decode(first)[0] == 1 and PHONE not in first
    assert crypto.decrypt(first) == crypto.decrypt(second) == PHONE


def test_values_stored_before_2026_12_02_as_fernet_tokens_still_decrypt(settings):
    (key,) = settings.FIELD_ENCRYPTION_KEYS
    old = Fernet(key.encode()).encrypt(PHONE.encode()).decode()
    assert crypto.decrypt(old) == PHONE


def test_a_rotated_key_still_decrypts_and_the_new_one_encrypts(settings):
    (old_key,) = settings.FIELD_ENCRYPTION_KEYS
    under_old = crypto.encrypt(PHONE)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert crypto.decrypt(under_old) == PHONE
    under_new = crypto.encrypt(PHONE)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(under_new) == PHONE
    with pytest.raises(InvalidToken):
        crypto.decrypt(under_old)  # its key is gone


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),  # tag
        lambda raw: raw[:20] + bytes([raw[20] ^ 1]) + raw[21:],  # ciphertext or nonce
        lambda raw: raw[:14],  # cut short
    ],
)
def test_a_tampered_token_is_refused(mangle):
    raw = base64.urlsafe_b64decode(crypto.encrypt(PHONE))
    with pytest.raises(InvalidToken):
        crypto.decrypt(base64.urlsafe_b64encode(mangle(raw)).decode())
    with pytest.raises(InvalidToken):
        crypto.decrypt("not base64 at all!")


def test_look_ups_go_through_keyed_hashes(case):
    from apps.core.identity import id_hash, mobile_hash

    assert Declaration.objects.get(id_hash=id_hash(ID_A.lower())) == case
    assert Declaration.objects.get(phone_hash=mobile_hash("139 1234 5678")) == case
    assert id_hash(ID_A) != mobile_hash(ID_A)  # kinds are kept apart


def test_staff_pages_show_masked_values(client, grid_wogou, case):
    client.force_login(grid_wogou)
    for url in (reverse("staff:home"), reverse("staff:detail", args=[case.tracking_number])):
        page = client.get(url).content.decode()
        assert ID_A not in page and PHONE not in page and DECLARANT_PHONE not in page
    detail = client.get(reverse("staff:detail", args=[case.tracking_number])).content.decode()
    assert "621102********107X" in detail and "139****5678" in detail and "136****6000" in detail


def test_revealing_needs_the_permission_and_is_logged(client, grid_wogou, case):
    client.force_login(grid_wogou)
    url = reverse("staff:reveal", args=[case.tracking_number, "id_number"])
    response = client.post(url, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert ID_A in response.content.decode()
    access = AuditEntry.objects.get(action=Action.REVEAL)
    assert (access.actor, access.target, access.detail, access.ip) == (
        grid_wogou,
        f"declarations.declaration:{case.pk}",
        {"field": "id_number"},
        "10.1.2.3",
    )
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_user_without_the_permission_cannot_reveal(client, township_lujiagou, case):
    client.force_login(township_lujiagou)  # sees the case, lacks the permission
    assert client.get(reverse("staff:detail", args=[case.tracking_number])).status_code == 200
    response = client.post(reverse("staff:reveal", args=[case.tracking_number, "phone"]))
    assert response.status_code == 403
    assert ID_A not in response.content.decode() and PHONE not in response.content.decode()
    # The refusal is recorded too.
    assert list(AuditEntry.objects.filter(action=Action.REVEAL).values_list("result")) == [
        (Result.DENIED,)
    ]


def test_revealing_is_post_only_and_unknown_fields_are_404(client, grid_wogou, case):
    client.force_login(grid_wogou)
    assert (
        client.get(reverse("staff:reveal", args=[case.tracking_number, "phone"])).status_code == 405
    )
    assert (
        client.post(reverse("staff:reveal", args=[case.tracking_number, "name"])).status_code == 404
    )
    assert not AuditEntry.objects.filter(action=Action.REVEAL).exists()


def test_the_admin_shows_masked_values(client, case):
    from apps.accounts.models import User

    admin = User.objects.create_superuser("root", "", "pw")
    client.force_login(admin)
    page = client.get(
        reverse("admin:declarations_declaration_change", args=[case.pk])
    ).content.decode()
    assert "621102********107X" in page and ID_A not in page and PHONE not in page


def test_an_error_report_hides_the_posted_numbers(rf, regions):
    from django.http import Http404
    from django.views.debug import ExceptionReporter

    from apps.declarations.views_public import village_form

    request = rf.post("/v/nosuch/", {"id_number": ID_A, "phone": PHONE, "name": "魏家常"})
    with pytest.raises(Http404) as info:
        village_form(request, slug="nosuch")  # the view marks its sensitive fields on the request
    report = ExceptionReporter(request, Http404, info.value, None).get_traceback_text()
    assert "魏家常" in report  # the report does show the POST data
    assert ID_A not in report and PHONE not in report
