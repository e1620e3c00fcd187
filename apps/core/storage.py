"""Uploaded files encrypted at rest.

`EncryptedFileSystemStorage` is Django's FileSystemStorage with the field-encryption
scheme of apps.core.crypto: a file on disk is `MAGIC` followed by `encrypt_bytes` of
its content (version byte, nonce, ciphertext, tag), so it names its cipher like a
field token and decrypts under any configured key. Files written before encryption
was switched on have no `MAGIC` and are read as they are; `manage.py rotate_keys`
encrypts them (`reencrypt`).

Files are sealed whole (GCM has no streaming decryption that checks the tag before
handing out bytes): a photo or scan is at most UPLOAD_MAX_BYTES, a roster or feed file
at most its own upload limit, and that much is held in memory while it is read.
"""

import io
import os
import tempfile

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage

from . import crypto

# Starts no JPEG, PNG, PDF, CSV or XLSX file (the NUL byte comes first).
MAGIC = b"\x00YJSB-ENC\x00"


def is_encrypted(raw: bytes) -> bool:
    return raw.startswith(MAGIC)


def seal(content: bytes) -> bytes:
    return MAGIC + crypto.encrypt_bytes(content)


def unseal(raw: bytes) -> bytes:
    """The content of a stored file, encrypted or (written before) plain."""
    if not is_encrypted(raw):
        return raw
    return crypto.decrypt_bytes(raw[len(MAGIC) :])


class DecryptedFile(File):
    """A stored file's plaintext, in memory; reopening (FieldFile.open on a closed
    file) reads and decrypts it again."""

    def __init__(self, path: str, name: str):
        self._path = path
        super().__init__(self._read(), name=name)

    def _read(self) -> io.BytesIO:
        with open(self._path, "rb") as raw:
            return io.BytesIO(unseal(raw.read()))

    def open(self, mode=None, *args, **kwargs):
        if self.closed:
            self.file = self._read()
        else:
            self.seek(0)
        return self


class EncryptedFileSystemStorage(FileSystemStorage):
    """Encrypts on save, decrypts on open; names, listing and deletion as usual.

    `size()` is the size on disk (the content plus 39 bytes of framing)."""

    def _open(self, name, mode="rb"):
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("Encrypted files are written through save().")
        return DecryptedFile(self.path(name), name)

    def _save(self, name, content):
        if hasattr(content, "seek"):
            content.seek(0)
        sealed = seal(b"".join(content.chunks()))
        return super()._save(name, ContentFile(sealed))

    def reencrypt(self, name) -> bool:
        """Rewrite a stored file under the current key and cipher (encrypting it if it
        was plain), replacing it atomically; False if the file is missing."""
        path = self.path(name)
        try:
            with open(path, "rb") as raw:
                content = unseal(raw.read())
        except FileNotFoundError:
            return False
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".rotate-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(seal(content))
            if self.file_permissions_mode is not None:
                os.chmod(tmp, self.file_permissions_mode)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return True
