"""Encryption at rest and keyed hashes for sensitive personal data.

ID and phone numbers are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256) under keys
from the environment, with an HMAC-SHA256 keyed hash beside them: the hash serves
look-ups and duplicate checks without decrypting anything, and cannot be reversed by
someone who has the database but not the key.
"""

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt(plaintext: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


class Sealed(str):
    """A plaintext that carries its Fernet token, so that however many encrypted columns
    store it (a declaration's phone and the SMS to that phone), it is encrypted once.

    It is the plaintext for everything else. Two columns holding the same token show
    that they hold the same value, which the keyed hashes beside them show already.
    """

    token: str


def seal(plaintext: str) -> Sealed:
    sealed = Sealed(plaintext)
    sealed.token = encrypt(plaintext)
    return sealed


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()


def keyed_hash(kind: str, normalised: str) -> str:
    """Hex HMAC of a normalised value; `kind` keeps an ID and a phone apart."""
    msg = f"{kind}:{normalised}".encode()
    return hmac.new(settings.FIELD_HASH_KEY.encode(), msg, hashlib.sha256).hexdigest()


def encrypter() -> Callable[[str], str]:
    """`encrypt` for many values in a row (bulk imports): the keys are looked up once."""
    fernet = _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))
    return lambda plaintext: fernet.encrypt(plaintext.encode()).decode()


def keyed_hasher(kind: str) -> Callable[[str], str]:
    """`keyed_hash(kind, ·)` for many values in a row: the key is read once."""
    key = settings.FIELD_HASH_KEY.encode()
    prefix = f"{kind}:".encode()
    return lambda normalised: hmac.digest(key, prefix + normalised.encode(), "sha256").hex()
