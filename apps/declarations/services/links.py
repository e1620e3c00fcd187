"""The short signed link to a case that the grid worker's SMS carries: the case's id in
base 36 and a truncated keyed MAC of it, so that nobody can walk the ids; following it
still needs a signed-in user whose region holds the case (the case page scopes)."""

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

SALT = "declarations.case-link"
MAC_LENGTH = 10  # hex digits: 40 bits, behind a sign-in


def _mac(key: str) -> str:
    return salted_hmac(SALT, key).hexdigest()[:MAC_LENGTH]


def case_link_code(pk: int) -> str:
    key = int_to_base36(pk)
    return f"{key}-{_mac(key)}"


def case_from_link_code(code: str) -> int | None:
    """The case id of a link's code, or None when the code was not made here."""
    key, _sep, mac = code.partition("-")
    if not (0 < len(key) <= 13 and len(mac) == MAC_LENGTH):
        return None
    try:
        pk = base36_to_int(key)
    except ValueError:
        return None
    return pk if constant_time_compare(mac, _mac(key)) else None


def case_link(pk: int) -> str:
    """The absolute short link to a case, for an SMS."""
    path = reverse("staff:case_link", kwargs={"code": case_link_code(pk)})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path
