"""Encryption at rest and keyed hashes for sensitive personal data.

ID and phone numbers are stored encrypted under keys from the environment
(`FIELD_ENCRYPTION_KEYS`: the first encrypts, all decrypt, for rotation), with an
HMAC-SHA256 keyed hash beside them: the hash serves look-ups and duplicate checks
without decrypting anything, and cannot be reversed by someone who has the database but
not the key.

Tokens are AES-256-GCM (`cryptography`'s AESGCM: authenticated, a random 96-bit nonce
per value), URL-safe base64 of a version byte 0x01, the nonce and the ciphertext with
its tag. The AES key is derived from each configured key with HKDF-SHA256, so the
setting stays what it was. Tokens in Fernet's format (version byte 0x80), which the
first releases wrote, still decrypt.
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
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_GCM = b"\x01"  # version byte of an AES-GCM token; a Fernet token starts with 0x80
_NONCE = 12
_HKDF_INFO = b"yjsb field encryption: aes-256-gcm v1"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


@lru_cache(maxsize=4)
def _aeads(keys: tuple[str, ...]) -> tuple[AESGCM, ...]:
    return tuple(
        AESGCM(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
                base64.urlsafe_b64decode(k)
            )
        )
        for k in keys
    )


def _encrypt_with(aead: AESGCM, plaintext: str) -> str:
    nonce = os.urandom(_NONCE)
    sealed = aead.encrypt(nonce, plaintext.encode(), None)
    return base64.urlsafe_b64encode(_GCM + nonce + sealed).decode()


def encrypt(plaintext: str) -> str:
    return _encrypt_with(_aeads(tuple(settings.FIELD_ENCRYPTION_KEYS))[0], plaintext)


def decrypt(token: str) -> str:
    """The plaintext of a token made by `encrypt` under any configured key (or of an
    older Fernet token); InvalidToken if none of them made it."""
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        raise InvalidToken from None
    if raw[:1] != _GCM:
        return _fernet(keys).decrypt(token.encode()).decode()
    nonce, sealed = raw[1 : 1 + _NONCE], raw[1 + _NONCE :]
    for aead in _aeads(keys):
        try:
            return aead.decrypt(nonce, sealed, None).decode()
        except InvalidTag:
            continue
    raise InvalidToken


def keyed_hash(kind: str, normalised: str) -> str:
    """Hex HMAC of a normalised value; `kind` keeps an ID and a phone apart."""
    msg = f"{kind}:{normalised}".encode()
    return hmac.digest(settings.FIELD_HASH_KEY.encode(), msg, "sha256").hex()


def encrypter() -> Callable[[str], str]:
    """`encrypt` for many values in a row (bulk imports): the keys are looked up once."""
    aead = _aeads(tuple(settings.FIELD_ENCRYPTION_KEYS))[0]
    return lambda plaintext: _encrypt_with(aead, plaintext)


def keyed_hasher(kind: str) -> Callable[[str], str]:
    """`keyed_hash(kind, ·)` for many values in a row: the key is read once."""
    key = settings.FIELD_HASH_KEY.encode()
    prefix = f"{kind}:".encode()
    return lambda normalised: hmac.digest(key, prefix + normalised.encode(), "sha256").hex()
