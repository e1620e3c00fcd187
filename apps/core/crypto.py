"""Encryption at rest and keyed hashes for sensitive personal data.

ID and phone numbers, free text that may describe someone's health and uploaded files
are stored encrypted under keys from the environment (`FIELD_ENCRYPTION_KEYS`: the
first encrypts, all decrypt, for rotation), with a keyed hash beside the numbers: the
hash serves look-ups and duplicate checks without decrypting anything, and cannot be
reversed by someone who has the database but not the key.

The algorithms are settings, so a deployment can use the Chinese national standards
that a 密评 (GB/T 39786-2021) assessment expects:

* `FIELD_CIPHER`: "aes-256-gcm" (AES-256 in GCM) or "sm4-gcm" (SM4, GB/T 32907, in
  GCM). Both are authenticated, with a random 96-bit nonce per value. A token is the
  URL-safe base64 of a version byte naming the algorithm (0x01 AES-256-GCM, 0x02
  SM4-GCM), the nonce and the ciphertext with its 128-bit tag; `encrypt_bytes` gives
  the same without the base64 (for files). Tokens of either algorithm decrypt whatever
  `FIELD_CIPHER` says, so a change of algorithm, like a change of key, is a matter of
  re-encrypting at leisure (`manage.py rotate_keys`). The token does not name its key:
  decryption tries the configured keys in order and GCM's tag tells the right one.
* `FIELD_HASH`: "hmac-sha256" or "hmac-sm3" (HMAC with SM3, GB/T 32905), keyed with
  `FIELD_HASH_KEY`.

The cipher keys are derived from each configured key (Fernet's format: URL-safe
base64 of 32 bytes, so the setting stays what it was) with HKDF: HKDF-SHA256 to a
256-bit AES key, HKDF-SM3 to a 128-bit SM4 key, each with its own `info`. Tokens in
Fernet's format (version byte 0x80), which the first releases wrote, still decrypt.
"""

import base64
import binascii
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

AES_256_GCM = "aes-256-gcm"
SM4_GCM = "sm4-gcm"
HMAC_SHA256 = "hmac-sha256"
HMAC_SM3 = "hmac-sm3"

# Version byte of a token, per algorithm; a Fernet token starts with 0x80.
CIPHERS = {AES_256_GCM: b"\x01", SM4_GCM: b"\x02"}
HASHES = (HMAC_SHA256, HMAC_SM3)
FERNET = "fernet"

_NONCE = 12
_TAG = 16
NONCE_SIZE, TAG_SIZE = _NONCE, _TAG  # GCM's, either cipher


class _SM4GCM:
    """SM4 in GCM with AESGCM's interface (`cryptography` has no SM4 AEAD class)."""

    def __init__(self, key: bytes):
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        encryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            encryptor.authenticate_additional_data(associated_data)
        return encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        if len(data) < _TAG:
            raise InvalidTag
        ciphertext, tag = data[:-_TAG], data[-_TAG:]
        decryptor = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        if associated_data:
            decryptor.authenticate_additional_data(associated_data)
        return decryptor.update(ciphertext) + decryptor.finalize()


# How each cipher's key is made from a configured key: (HKDF hash, length, info, AEAD).
_DERIVATION = {
    AES_256_GCM: (hashes.SHA256, 32, b"yjsb field encryption: aes-256-gcm v1", AESGCM),
    SM4_GCM: (hashes.SM3, 16, b"yjsb field encryption: sm4-gcm v1", _SM4GCM),
}
_BY_VERSION = {version: name for name, version in CIPHERS.items()}


def current_cipher() -> str:
    name = settings.FIELD_CIPHER
    if name not in CIPHERS:
        raise ImproperlyConfigured(f"FIELD_CIPHER must be one of {', '.join(CIPHERS)}.")
    return name


def current_hash() -> str:
    name = settings.FIELD_HASH
    if name not in HASHES:
        raise ImproperlyConfigured(f"FIELD_HASH must be one of {', '.join(HASHES)}.")
    return name


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


@lru_cache(maxsize=8)
def _aeads(cipher: str, keys: tuple[str, ...]) -> tuple:
    hash_cls, length, info, aead = _DERIVATION[cipher]
    return tuple(
        aead(
            HKDF(algorithm=hash_cls(), length=length, salt=None, info=info).derive(
                base64.urlsafe_b64decode(k)
            )
        )
        for k in keys
    )


def _encrypt_with(cipher: str, aead, data: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return CIPHERS[cipher] + nonce + aead.encrypt(nonce, data, None)


def encrypt_bytes(data: bytes) -> bytes:
    """`data` sealed under the first key and the current cipher: version, nonce,
    ciphertext and tag."""
    cipher = current_cipher()
    return _encrypt_with(cipher, _aeads(cipher, tuple(settings.FIELD_ENCRYPTION_KEYS))[0], data)


def decrypt_bytes(raw: bytes) -> bytes:
    """The plaintext of `encrypt_bytes`'s output under any configured key and either
    cipher; InvalidToken if none of them made it."""
    cipher = _BY_VERSION.get(raw[:1])
    if cipher is None or len(raw) < 1 + _NONCE + _TAG:
        raise InvalidToken
    nonce, sealed = raw[1 : 1 + _NONCE], raw[1 + _NONCE :]
    for aead in _aeads(cipher, tuple(settings.FIELD_ENCRYPTION_KEYS)):
        try:
            return aead.decrypt(nonce, sealed, None)
        except InvalidTag:
            continue
    raise InvalidToken


def sealing_aead() -> tuple[bytes, object]:
    """(version byte, AEAD) of the current cipher under the first key, for callers
    that frame their own messages (the segmented file format of apps.core.storage)."""
    cipher = current_cipher()
    return CIPHERS[cipher], _aeads(cipher, tuple(settings.FIELD_ENCRYPTION_KEYS))[0]


def opening_aeads(version: bytes) -> tuple:
    """The AEADs, one per configured key in order, of the cipher a version byte
    names; InvalidToken if it names none."""
    cipher = _BY_VERSION.get(version)
    if cipher is None:
        raise InvalidToken
    return _aeads(cipher, tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return base64.urlsafe_b64encode(encrypt_bytes(plaintext.encode())).decode()


def _raw(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        raise InvalidToken from None


def decrypt(token: str) -> str:
    """The plaintext of a token made by `encrypt` under any configured key and either
    cipher (or of an older Fernet token); InvalidToken if none of them made it."""
    raw = _raw(token)
    if raw[:1] not in _BY_VERSION:
        return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()
    return decrypt_bytes(raw).decode()


def cipher_of(token: str) -> str:
    """Which algorithm made a token: a name of CIPHERS, or FERNET."""
    return _BY_VERSION.get(_raw(token)[:1], FERNET)


def _hasher(name: str, key: bytes) -> Callable[[bytes], str]:
    if name == HMAC_SM3:

        def sm3(msg: bytes) -> str:
            mac = crypto_hmac.HMAC(key, hashes.SM3())
            mac.update(msg)
            return mac.finalize().hex()

        return sm3
    return lambda msg: hmac.digest(key, msg, "sha256").hex()


def keyed_hash(kind: str, normalised: str) -> str:
    """Hex HMAC (FIELD_HASH) of a normalised value; `kind` keeps an ID and a phone
    apart."""
    return keyed_hasher(kind)(normalised)


def encrypter() -> Callable[[str], str]:
    """`encrypt` for many values in a row (bulk imports): the keys are looked up once."""
    cipher = current_cipher()
    aead = _aeads(cipher, tuple(settings.FIELD_ENCRYPTION_KEYS))[0]
    return lambda plaintext: base64.urlsafe_b64encode(
        _encrypt_with(cipher, aead, plaintext.encode())
    ).decode()


def keyed_hasher(kind: str) -> Callable[[str], str]:
    """`keyed_hash(kind, ·)` for many values in a row: the settings are read once."""
    digest = _hasher(current_hash(), settings.FIELD_HASH_KEY.encode())
    prefix = f"{kind}:".encode()
    return lambda normalised: digest(prefix + normalised.encode())
