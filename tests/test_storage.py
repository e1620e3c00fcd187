"""Stored files in the segmented format: written and read in bounded memory, refused
when tampered with, seekable, and the older formats still read."""

import csv
import hashlib
import io
import os
import tracemalloc

import openpyxl
import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.files.base import ContentFile, File

from apps.core import crypto
from apps.core.storage import (
    LEGACY_MAGIC,
    MAGIC,
    SEGMENT,
    EncryptedFileSystemStorage,
)

HEADER = len(MAGIC) + 1 + 12
SEALED = SEGMENT + 16
CIPHERS = ["aes-256-gcm", "sm4-gcm"]


@pytest.fixture
def store(tmp_path):
    return EncryptedFileSystemStorage(location=tmp_path)


def content_of(size: int) -> bytes:
    return (hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1))[:size]


def read_all(store, name) -> bytes:
    with store.open(name) as f:
        return f.read()


def on_disk(store, name) -> bytes:
    with open(store.path(name), "rb") as f:
        return f.read()


def write_disk(store, name, raw: bytes) -> None:
    with open(store.path(name), "wb") as f:
        f.write(raw)


@pytest.mark.parametrize("cipher", CIPHERS)
@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT, 3 * SEGMENT + 1234], ids=["empty", "1-byte", "1-segment", "3.x"]
)
def test_round_trip(store, settings, cipher, size):
    settings.FIELD_CIPHER = cipher
    content = content_of(size)
    name = store.save("f.bin", ContentFile(content))
    raw = on_disk(store, name)
    segments = max(1, -(-size // SEGMENT))
    assert raw.startswith(MAGIC) and raw[len(MAGIC)] == crypto.CIPHERS[cipher][0]
    assert store.size(name) == len(raw) == size + HEADER + 16 * segments
    assert size < 64 or content[:64] not in raw
    assert read_all(store, name) == content


@pytest.fixture
def sealed(store):
    """A file of three full segments and a partial one, and its content."""
    content = content_of(3 * SEGMENT + 1234)
    return store.save("f.bin", ContentFile(content)), content


def segment(raw: bytes, i: int) -> slice:
    return slice(HEADER + i * SEALED, HEADER + (i + 1) * SEALED)


def tampered(raw: bytes, how: str) -> bytes:
    raw = bytearray(raw)
    if how == "flip-middle":
        raw[HEADER + SEALED + 100] ^= 1
    elif how == "swap":
        first, second = raw[segment(raw, 0)], raw[segment(raw, 1)]
        raw[segment(raw, 0)], raw[segment(raw, 1)] = second, first
    elif how == "swap-inner":
        first, second = raw[segment(raw, 1)], raw[segment(raw, 2)]
        raw[segment(raw, 1)], raw[segment(raw, 2)] = second, first
    elif how == "cut-last":
        del raw[-5:]
    elif how == "cut-into-last":  # leave less than a tag of the last segment
        del raw[HEADER + 3 * SEALED + 5 :]
    elif how == "drop-last":
        del raw[HEADER + 3 * SEALED :]
    elif how == "drop-middle":
        del raw[segment(raw, 1)]
    elif how == "header":
        raw[len(MAGIC) + 3] ^= 1
    return bytes(raw)


@pytest.mark.parametrize(
    "how",
    [
        "flip-middle",
        "swap",
        "swap-inner",
        "cut-last",
        "cut-into-last",
        "drop-last",
        "drop-middle",
        "header",
    ],
)
def test_a_tampered_file_is_refused(store, sealed, how):
    name, content = sealed
    write_disk(store, name, tampered(on_disk(store, name), how))
    # Refused while reading, before the end: what was handed out is the content's start.
    got = bytearray()
    with pytest.raises(InvalidToken), store.open(name) as f:
        while data := f.read(1000):
            got += data
    assert content.startswith(got) and len(got) < len(content)


def test_seek_tell_and_read_anywhere(store, sealed):
    name, content = sealed
    with store.open(name) as f:
        for offset, length in [
            (0, 10),
            (SEGMENT - 3, 10),  # across a boundary
            (2 * SEGMENT + 7, SEGMENT + 100),  # over a whole segment
            (len(content) - 5, 100),  # past the end
            (5, 0),
            (len(content) + 10, 5),
        ]:
            assert f.seek(offset) == offset
            assert f.read(length) == content[offset : offset + length]
            assert f.tell() == min(offset + length, max(offset, len(content)))
        f.seek(-100, io.SEEK_END)
        assert f.read() == content[-100:]
        f.seek(SEGMENT)
        f.seek(-10, io.SEEK_CUR)
        assert f.read(20) == content[SEGMENT - 10 : SEGMENT + 10]
        assert f.size == len(content)
        with pytest.raises(ValueError):
            f.seek(-1)


def test_csv_and_xlsx_read_through_the_decrypting_file(store):
    rows = [["户主", f"{i:06d}"] for i in range(20000)]
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    name = store.save("roster.csv", ContentFile(text.getvalue().encode()))
    with store.open(name) as f:
        assert list(csv.reader(io.TextIOWrapper(f, encoding="utf-8", newline=""))) == rows

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    name = store.save("roster.xlsx", ContentFile(buffer.getvalue()))
    with store.open(name) as f:
        sheet = openpyxl.load_workbook(f, read_only=True).active
        assert [list(r) for r in sheet.iter_rows(values_only=True)] == rows


def test_a_closed_file_reopens_from_the_start(store, sealed):
    name, content = sealed
    stored = store.open(name)
    stored.read(10)
    stored.close()
    for _ in range(2):
        with stored.open("rb") as f:
            assert f.read() == content


def test_files_under_an_older_key_open_and_others_are_refused(store, sealed, settings):
    name, content = sealed
    old = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old]
    assert read_all(store, name) == content
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(InvalidToken):
        store.open(name)


def test_whole_file_and_plain_files_still_open_and_rotate_into_segments(store, settings):
    content = content_of(SEGMENT + 10)
    write_disk(store, "legacy.bin", LEGACY_MAGIC + crypto.encrypt_bytes(content))
    write_disk(store, "plain.bin", content)
    for name in ("legacy.bin", "plain.bin"):
        assert read_all(store, name) == content

    settings.FIELD_CIPHER = "sm4-gcm"
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    for name in ("legacy.bin", "plain.bin"):
        assert store.reencrypt(name)
        raw = on_disk(store, name)
        assert raw.startswith(MAGIC) and raw[len(MAGIC)] == 0x02
        assert len(raw) == len(content) + HEADER + 2 * 16
        assert read_all(store, name) == content
    assert not store.reencrypt("missing.bin")
    assert sorted(os.listdir(store.location)) == ["legacy.bin", "plain.bin"]


class Generated(File):
    """`size` bytes made as they are read, never held whole."""

    def __init__(self, size: int):
        super().__init__(None, name="big.csv")
        self._size = size

    def chunks(self, chunk_size=None):
        for start in range(0, self._size, SEGMENT):
            yield piece(start, min(SEGMENT, self._size - start))


def piece(start: int, length: int) -> bytes:
    return (b"%011d\n" % start * (length // 12 + 1))[:length]  # CSV-like lines


def test_a_large_file_is_written_read_and_rotated_in_bounded_memory(store):
    size = 20 * 1024 * 1024 + 77
    expected = hashlib.sha256()
    for chunk in Generated(size).chunks():
        expected.update(chunk)

    tracemalloc.start()
    try:
        name = store.save("big.csv", Generated(size))
        got = hashlib.sha256()
        with store.open(name) as f:
            text = io.TextIOWrapper(f, encoding="latin-1", newline="")
            for line in text:
                got.update(line.encode("latin-1"))
            text.detach()
            f.seek(0)
            assert f.size == size
        store.reencrypt(name)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert got.hexdigest() == expected.hexdigest()
    assert read_all(store, name)[-77:] == piece(size - 77, 77)
    assert peak < 2 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
