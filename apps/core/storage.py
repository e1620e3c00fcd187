"""Uploaded files encrypted at rest, written and read in bounded memory.

`EncryptedFileSystemStorage` is Django's FileSystemStorage with the ciphers and keys of
apps.core.crypto, in a segmented format (the STREAM construction, as in age or Tink's
streaming AEAD), so that a 100 MB import file is never held whole in memory:

    MAGIC (10 bytes) | version (1 byte) | base nonce (12 random bytes)
    | segment 0 | segment 1 | ... | last segment

The version byte is a field token's (0x01 AES-256-GCM, 0x02 SM4-GCM). Each segment is
SEGMENT (64 KiB) bytes of plaintext sealed with the AEAD, ciphertext then 16-byte tag;
only the last is shorter (empty only for an empty file). Segment i is sealed under the
nonce `base XOR (i || last)` (i as 8 bytes, last as 1 byte: 1 for the last segment,
else 0), with the header and `i || last` as associated data: a segment that is changed,
moved, dropped or cut short, or a file cut at a segment's end, fails its tag, so a
reader gets an error, never wrong or truncated data. The file does not name its key:
reading tries the configured keys in order on the first segment and keeps the one that
opens it.

Saving seals the content's chunks as they come; opening gives a read-only, seekable file
that decrypts one segment at a time (a seek computes the segment), so CSV readers and
openpyxl read it like the plain file. The storage's `size()` is the size on disk: the
content plus 23 bytes of header and 16 bytes a segment.

Still read: files in the first, whole-file format (`LEGACY_MAGIC` then `encrypt_bytes`
of the content; photos and scans, decrypted whole) and files written before encryption
was switched on (no magic, read as they are). `manage.py rotate_keys` rewrites any
stored file in the segmented format under the current key and cipher (`reencrypt`).
"""

import io
import os
import struct
import tempfile
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.fernet import InvalidToken
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage

from . import crypto

# Each starts no JPEG, PNG, PDF, CSV or XLSX file (the NUL byte comes first).
MAGIC = b"\x00YJSB-ENC2"
LEGACY_MAGIC = b"\x00YJSB-ENC\x00"
SEGMENT = 64 * 1024

_HEADER = len(MAGIC) + 1 + crypto.NONCE_SIZE
_SEALED_SEGMENT = SEGMENT + crypto.TAG_SIZE


def _position(header: bytes, index: int, last: bool) -> tuple[bytes, bytes]:
    """The nonce and associated data of segment `index`."""
    position = struct.pack(">QB", index, last)
    base = int.from_bytes(header[-crypto.NONCE_SIZE :])
    nonce = (base ^ int.from_bytes(position)).to_bytes(crypto.NONCE_SIZE)
    return nonce, header + position


def seal_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The segmented file of the content in `chunks`, piece by piece, under the first
    key and the current cipher; holds at most a segment and a chunk."""
    version, aead = crypto.sealing_aead()
    header = MAGIC + version + os.urandom(crypto.NONCE_SIZE)
    yield header
    index, pending = 0, bytearray()
    for chunk in chunks:
        pending += chunk
        # A full segment is sealed once more content follows it: only then is it known
        # not to be the last.
        while len(pending) > SEGMENT:
            yield _seal(aead, header, index, False, pending[:SEGMENT])
            del pending[:SEGMENT]
            index += 1
    yield _seal(aead, header, index, True, pending)


def _seal(aead, header: bytes, index: int, last: bool, data) -> bytes:
    nonce, associated = _position(header, index, last)
    return aead.encrypt(nonce, bytes(data), associated)


class SegmentReader(io.RawIOBase):
    """The plaintext of a segmented file, read-only, decrypted a segment at a time.

    `raw` is the file on disk opened "rb"; this reader owns and closes it. InvalidToken
    if no configured key opens the file or a segment fails its tag."""

    def __init__(self, raw):
        super().__init__()
        self._raw = raw
        raw.seek(0)
        self._header = raw.read(_HEADER)
        body = os.fstat(raw.fileno()).st_size - _HEADER
        self._count = max(1, -(-body // _SEALED_SEGMENT))
        last = body - (self._count - 1) * _SEALED_SEGMENT
        # Only an empty file has an empty last segment; a shorter one was cut.
        if not self._header.startswith(MAGIC) or last < crypto.TAG_SIZE + (self._count > 1):
            raise InvalidToken
        self._size = body - self._count * crypto.TAG_SIZE
        self._pos = 0
        for aead in crypto.opening_aeads(self._header[len(MAGIC) : len(MAGIC) + 1]):
            try:
                self._segment = (0, self._decrypt(aead, 0))
            except InvalidTag:
                continue
            self._aead = aead
            break
        else:
            raise InvalidToken

    def _decrypt(self, aead, index: int) -> bytes:
        last = index == self._count - 1
        start = index * SEGMENT
        length = (self._size - start if last else SEGMENT) + crypto.TAG_SIZE
        self._raw.seek(_HEADER + index * _SEALED_SEGMENT)
        sealed = self._raw.read(length)
        if len(sealed) != length:  # changed on disk since it was opened
            raise InvalidToken
        nonce, associated = _position(self._header, index, last)
        return aead.decrypt(nonce, sealed, associated)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, SEGMENT)
        if self._segment[0] != index:
            try:
                self._segment = (index, self._decrypt(self._aead, index))
            except InvalidTag:
                raise InvalidToken from None
        plaintext = memoryview(self._segment[1])[offset:]
        n = min(len(buffer), len(plaintext))
        buffer[:n] = plaintext[:n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
            self._segment = (None, b"")
        super().close()


def open_stored(path: str):
    """A stored file's content as a read-only binary file: segmented, whole-file
    encrypted (decrypted into memory) or plain."""
    raw = open(path, "rb")  # noqa: SIM115 — handed to the caller, who closes it
    try:
        start = raw.read(len(MAGIC))
        if start == MAGIC:
            return io.BufferedReader(SegmentReader(raw), buffer_size=SEGMENT)
        if start == LEGACY_MAGIC:
            with raw:
                return io.BytesIO(crypto.decrypt_bytes(raw.read()))
        raw.seek(0)
        return raw
    except BaseException:
        raw.close()
        raise


class DecryptedFile(File):
    """A stored file's plaintext; reopening (FieldFile.open on a closed file) opens
    and decrypts it again, from the start."""

    def __init__(self, path: str, name: str):
        self._path = path
        super().__init__(open_stored(path), name=name)

    def open(self, mode=None, *args, **kwargs):
        if self.closed:
            self.file = open_stored(self._path)
        else:
            self.seek(0)
        return self


class _Sealed(File):
    """What FileSystemStorage._save writes for `content`: its chunks, sealed as they
    come (it has no temporary_file_path, so the upload is never moved in as it is)."""

    def chunks(self, chunk_size=None):
        return seal_chunks(self.file.chunks(chunk_size))


class EncryptedFileSystemStorage(FileSystemStorage):
    """Encrypts on save, decrypts on open; names, listing and deletion as usual.

    `size()` is the size on disk (the content, 23 bytes of header and 16 bytes a
    segment), not the content's: open the file and seek to its end for that."""

    def _open(self, name, mode="rb"):
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("Encrypted files are written through save().")
        return DecryptedFile(self.path(name), name)

    def _save(self, name, content):
        return super()._save(name, _Sealed(content, name=content.name))

    def reencrypt(self, name) -> bool:
        """Rewrite a stored file in the segmented format under the current key and
        cipher (encrypting it if it was plain), a segment at a time, replacing it
        atomically; False if the file is missing."""
        path = self.path(name)
        try:
            content = open_stored(path)
        except FileNotFoundError:
            return False
        with content:
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".rotate-")
            try:
                with os.fdopen(fd, "wb") as out:
                    for piece in seal_chunks(iter(lambda: content.read(SEGMENT), b"")):
                        out.write(piece)
                if self.file_permissions_mode is not None:
                    os.chmod(tmp, self.file_permissions_mode)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        return True
