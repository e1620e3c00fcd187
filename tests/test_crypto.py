"""国密 algorithms, files and free text encrypted at rest, and key rotation."""

import base64
import hashlib
import hmac
import os

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.db.migrations import RunPython
from django.db.migrations.executor import MigrationExecutor

from apps.accounts.models import User
from apps.audit.management.commands.rotate_keys import rotated_models
from apps.audit.models import Action, AuditEntry, KeyRotation
from apps.core import crypto, storage
from apps.core.identity import id_hash, mobile_hash
from apps.core.uploads import CleanedUpload
from apps.core.views import private_download, store_cleaned
from apps.declarations.models import Declaration, Transition, VisitDocument
from apps.declarations.selectors import declaration_public_status
from apps.declarations.services import declaration_submit
from apps.households.models import HouseholdDocument, MonitoredHousehold
from apps.notifications.models import Message

from .conftest import ID_A, ID_B, WOGOU, declaration_input

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
DECLARANT_PHONE = "13600136000"
NEW_KEY = Fernet.generate_key().decode()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"  # GB/T 32905 A.1


def test_sm4_gcm_round_trip_with_an_hkdf_sm3_key(settings):
    settings.FIELD_CIPHER = "sm4-gcm"
    token = crypto.encrypt(PHONE)
    raw = base64.urlsafe_b64decode(token)
    assert raw[0] == 0x02 and crypto.cipher_of(token) == crypto.SM4_GCM
    assert crypto.decrypt(token) == PHONE and PHONE not in token
    # It is SM4 in GCM under the documented key: HKDF-SM3 of the configured key.
    key = HKDF(
        algorithm=hashes.SM3(), length=16, salt=None, info=b"yjsb field encryption: sm4-gcm v1"
    ).derive(base64.urlsafe_b64decode(settings.FIELD_ENCRYPTION_KEYS[0]))
    nonce, sealed = raw[1:13], raw[13:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, sealed[-16:])).decryptor()
    assert decryptor.update(sealed[:-16]) + decryptor.finalize() == PHONE.encode()


def test_a_change_of_cipher_leaves_the_other_cipher_readable(settings):
    aes = crypto.encrypt(ID_A)
    settings.FIELD_CIPHER = "sm4-gcm"
    sm4 = crypto.encrypt(ID_A)
    assert crypto.cipher_of(aes) == crypto.AES_256_GCM and crypto.decrypt(aes) == ID_A
    settings.FIELD_CIPHER = "aes-256-gcm"
    assert crypto.decrypt(sm4) == ID_A


def test_a_tampered_sm4_token_is_refused(settings):
    settings.FIELD_CIPHER = "sm4-gcm"
    raw = bytearray(base64.urlsafe_b64decode(crypto.encrypt(PHONE)))
    raw[-1] ^= 1
    with pytest.raises(InvalidToken):
        crypto.decrypt(base64.urlsafe_b64encode(bytes(raw)).decode())


@pytest.mark.parametrize(
    "token", ["Ag==", "AgAAAA==", "AQ=="], ids=["sm4-empty", "sm4-short", "aes"]
)
def test_a_truncated_token_is_refused(settings, token):
    settings.FIELD_CIPHER = "sm4-gcm"
    with pytest.raises(InvalidToken):
        crypto.decrypt(token)


def test_hmac_sm3_is_hmac_with_the_national_hash(settings):
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"abc")
    assert digest.finalize().hex() == SM3_ABC  # the standard's own test vector
    sha256 = crypto.keyed_hash("id", ID_A)
    settings.FIELD_HASH = "hmac-sm3"
    sm3 = crypto.keyed_hash("id", ID_A)
    # RFC 2104 HMAC over SM3, computed independently with OpenSSL's hashlib.
    assert (
        sm3 == hmac.new(settings.FIELD_HASH_KEY.encode(), f"id:{ID_A}".encode(), "sm3").hexdigest()
    )
    assert sm3 != sha256 and len(sm3) == 64
    assert crypto.keyed_hasher("id")(ID_A) == sm3 == id_hash(ID_A)


def test_an_unknown_algorithm_is_refused(settings):
    settings.FIELD_CIPHER = "des-cbc"
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt(PHONE)
    settings.FIELD_CIPHER = "aes-256-gcm"
    settings.FIELD_HASH = "md5"
    with pytest.raises(ImproperlyConfigured):
        id_hash(ID_A)


# --- files ---------------------------------------------------------------------------------


def stored_bytes(name: str) -> bytes:
    with open(default_storage.path(name), "rb") as f:
        return f.read()


def test_uploaded_files_are_encrypted_on_disk_and_open_as_they_were(media, case, grid_wogou):
    document = store_cleaned(
        VisitDocument(declaration=case, kind="hukou", uploaded_by=grid_wogou), pdf_upload()
    )
    on_disk = stored_bytes(document.file.name)
    assert on_disk.startswith(storage.MAGIC) and b"%PDF" not in on_disk
    with VisitDocument.objects.get(pk=document.pk).file.open("rb") as f:
        assert f.read() == PDF


def test_files_stored_before_encryption_still_open(media, case, grid_wogou):
    document = plain_document(case, grid_wogou)
    with document.file.open("rb") as f:
        assert f.read() == PDF


def test_the_download_view_serves_the_decrypted_file(media, client, case, grid_wogou):
    document = store_cleaned(
        VisitDocument(declaration=case, kind="hukou", uploaded_by=grid_wogou), pdf_upload()
    )
    response = private_download(document, name="户口簿")
    assert b"".join(response.streaming_content) == PDF


def pdf_upload() -> CleanedUpload:
    return CleanedUpload(
        content=PDF,
        content_type="application/pdf",
        extension="pdf",
        original_name="户口簿.pdf",
        sha256=hashlib.sha256(PDF).hexdigest(),
    )


def plain_document(case, user) -> VisitDocument:
    """A document whose file was written before files were encrypted."""
    name = "documents/2026/01/old-scan.pdf"
    path = default_storage.path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(PDF)
    return VisitDocument.objects.create(
        declaration=case,
        kind="consent",
        file=name,
        content_type="application/pdf",
        sha256=hashlib.sha256(PDF).hexdigest(),
        uploaded_by=user,
    )


# --- free text -----------------------------------------------------------------------------


@pytest.fixture
def case(regions, grid_wogou):
    return declaration_submit(
        village=regions[WOGOU],
        data=declaration_input(
            description="老伴住院，尿毒症透析。",
            on_behalf=True,
            declarant_name="魏小军",
            declarant_phone=DECLARANT_PHONE,
            declarant_relation="儿子",
        ),
    ).declaration


def raw_column(model, field: str) -> list[str]:
    table, column = model._meta.db_table, model._meta.get_field(field).column
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" ORDER BY id')  # noqa: S608 — model names
        return [row[0] for row in cursor.fetchall()]


def test_free_text_about_health_is_encrypted_at_rest(case):
    Declaration.objects.filter(pk=case.pk).update(rejection_reason="患有慢性病，收入已超线。")
    stored = raw_column(Declaration, "description") + raw_column(Declaration, "rejection_reason")
    assert not any("尿毒症" in v or "慢性病" in v for v in stored)
    fresh = Declaration.objects.get(pk=case.pk)
    assert fresh.description == "老伴住院，尿毒症透析。"
    assert fresh.rejection_reason == "患有慢性病，收入已超线。"


def test_the_migration_encrypts_free_text_written_in_plain(case):
    executor = MigrationExecutor(connection)
    before = executor.loader.project_state(("declarations", "0011_consent")).apps
    # The row as an older release left it: the column written without encryption.
    before.get_model("declarations", "Declaration").objects.filter(pk=case.pk).update(
        description="旧的明文：高血压，长期服药。"
    )
    assert raw_column(Declaration, "description") == ["旧的明文：高血压，长期服药。"]
    # The migration's data steps (values already encrypted are left as they are).
    migration = executor.loader.get_migration("declarations", "0012_encrypt_free_text")
    with connection.schema_editor() as editor:
        for op in migration.operations:
            if isinstance(op, RunPython):
                op.code(before, editor)
    (stored,) = raw_column(Declaration, "description")
    assert "高血压" not in stored and crypto.cipher_of(stored) == crypto.AES_256_GCM
    assert Declaration.objects.get(pk=case.pk).description == "旧的明文：高血压，长期服药。"


# --- rotation ------------------------------------------------------------------------------


def snapshot() -> dict:
    """Every encrypted value, decrypted, by (model, pk, field)."""
    values = {}
    for model, encrypted, _files in rotated_models():
        for obj in model._base_manager.all():
            for name in encrypted:
                values[model._meta.label_lower, obj.pk, name] = getattr(obj, name)
    return values


def stored_ciphers() -> set[str]:
    found = set()
    for model, encrypted, _files in rotated_models():
        for name in encrypted:
            found |= {crypto.cipher_of(v) for v in raw_column(model, name) if v}
    return found


@pytest.fixture
def world(media, case, grid_wogou, household):
    """Declarations, a household, users, documents and free text, all under AES-256-GCM
    and HMAC-SHA256."""
    Declaration.objects.filter(pk=case.pk).update(rejection_reason="癌症晚期，已纳入低保。")
    second = declaration_submit(
        village=case.village, data=declaration_input(id_number=ID_B, phone="13512345678")
    ).declaration
    encrypted = store_cleaned(
        VisitDocument(declaration=case, kind="hukou", uploaded_by=grid_wogou), pdf_upload()
    )
    plain = plain_document(case, grid_wogou)
    evidence = store_cleaned(
        HouseholdDocument(
            household=household,
            content_type="application/pdf",
            original_name="诊断书.pdf",
            size=len(PDF),
            uploaded_by=grid_wogou,
        ),
        pdf_upload(),
    )
    Transition.objects.filter(declaration=case).update(reason="村医说病情加重。")
    return {
        "case": case,
        "second": second,
        "files": [encrypted, plain, evidence],
        "household": household,
    }


@pytest.fixture
def chinese_algorithms(settings):
    """The settings after the switch: SM4-GCM and HMAC-SM3 with a new first key."""

    def switch():
        settings.FIELD_CIPHER = "sm4-gcm"
        settings.FIELD_HASH = "hmac-sm3"
        settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *settings.FIELD_ENCRYPTION_KEYS]

    return switch


def test_rotation_from_aes_to_sm4_keeps_every_value_readable(
    world, chinese_algorithms, settings, grid_wogou
):
    case, household = world["case"], world["household"]
    before = snapshot()
    assert stored_ciphers() == {crypto.AES_256_GCM}
    chinese_algorithms()

    call_command("rotate_keys", batch_size=2)

    assert stored_ciphers() == {crypto.SM4_GCM}
    # Only the new key is needed from now on.
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    assert snapshot() == before
    # Look-ups by ID and phone find the rows under the new hashes.
    status = declaration_public_status(tracking_number=case.tracking_number, phone=PHONE)
    assert status is not None and status.declaration_id == case.pk
    assert declaration_public_status(tracking_number=case.tracking_number, phone=DECLARANT_PHONE)
    duplicate = declaration_submit(village=case.village, data=declaration_input())
    assert not duplicate.created and duplicate.declaration == case
    assert MonitoredHousehold.objects.get(head_id_hash=id_hash(household.head_id_number)) == (
        household
    )
    assert User.objects.get(mobile_hash=mobile_hash("13800138000")) == grid_wogou
    message = Message.objects.filter(recipient_hash=mobile_hash("13800138000")).first()
    assert message is not None and message.dedupe_key.endswith(message.recipient_hash)
    # Files: all encrypted now, under the new key and SM4, and they open as before.
    for document in world["files"]:
        on_disk = stored_bytes(document.file.name)
        assert on_disk.startswith(storage.MAGIC) and on_disk[len(storage.MAGIC)] == 0x02
        with type(document).objects.get(pk=document.pk).file.open("rb") as f:
            assert f.read() == PDF
    # Audited, and nothing left to resume.
    entry = AuditEntry.objects.get(action=Action.KEY_ROTATION)
    assert entry.detail["finished"] and entry.detail["cipher"] == "sm4-gcm"
    assert entry.detail["tables"]["declarations.declaration"]["rows"] == 2
    assert not KeyRotation.objects.exists()


def test_an_interrupted_rotation_resumes_where_it_stopped(world, chinese_algorithms, settings):
    before = snapshot()
    chinese_algorithms()

    call_command("rotate_keys", batch_size=1, batches=1)

    (progress,) = KeyRotation.objects.all()
    first_model = next(m for m, *_ in rotated_models() if m._meta.label_lower == progress.table)
    assert progress.last_pk and not progress.finished
    assert crypto.SM4_GCM in stored_ciphers() and crypto.AES_256_GCM in stored_ciphers()
    stopped = AuditEntry.objects.get(action=Action.KEY_ROTATION)
    assert stopped.detail["finished"] is False
    # Mark the finished row: a resumed run must not go over it again.
    first_field = next(e for m, e, _f in rotated_models() if m is first_model)[0]
    marker = raw_column(first_model, first_field)[0]

    call_command("rotate_keys", batch_size=1)

    assert raw_column(first_model, first_field)[0] == marker
    assert stored_ciphers() == {crypto.SM4_GCM}
    assert snapshot() == before
    assert not KeyRotation.objects.exists()
    assert AuditEntry.objects.filter(action=Action.KEY_ROTATION, detail__finished=True).exists()


def test_a_closed_stored_file_reopens_decrypted(media, case, grid_wogou):
    document = store_cleaned(
        VisitDocument(declaration=case, kind="hukou", uploaded_by=grid_wogou), pdf_upload()
    )
    stored = VisitDocument.objects.get(pk=document.pk).file
    for _ in range(2):  # the imports read their file twice, reopening it
        with stored.open("rb") as f:
            assert f.read() == PDF
