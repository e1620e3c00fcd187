"""Mainland ID numbers (GB 11643) and mobile numbers: normalise, validate, mask, hash."""

import datetime as dt
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from . import crypto

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―－_.·]+")
# ASCII digits only: `\d` would also match Arabic-Indic, Devanagari and other digits,
# which int() reads as numbers but which hash to another value.
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")


def fold(value: str) -> str:
    """Full-width to ASCII, separators and spaces removed."""
    # NFKC turns full-width digits and letters (１３８, ｘ) into ASCII ones.
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value or "")).strip()


def is_ascii_digits(value: str) -> bool:
    """True for a non-empty string of the digits 0–9 only (str.isdigit() accepts any
    script's digits)."""
    return value.isascii() and value.isdigit()


def refuse_foreign_digits(value: str) -> None:
    """Refuse digits of other scripts (Arabic-Indic, Devanagari…) that survive `fold`:
    full-width digits are folded to ASCII, anything else is a mistake or a trick."""
    if any(ch.isdigit() and not ch.isascii() for ch in value):
        raise ValidationError(
            _("Please type the numbers with the digits 0–9."), code="foreign_digits"
        )


def normalise_mobile(value: str) -> str:
    digits = fold(value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def validate_mobile(value: str) -> str:
    """Return the normalised mobile number or raise a ValidationError in Chinese."""
    number = normalise_mobile(value)
    refuse_foreign_digits(number)
    if not MOBILE_RE.match(number):
        raise ValidationError(
            _("Enter an 11-digit mainland mobile number starting with 13–19."),
            code="invalid_mobile",
        )
    return number


def normalise_id_number(value: str) -> str:
    return fold(value).upper()


def validate_id_number(value: str) -> str:
    """Return the normalised 18-digit ID number or raise a ValidationError in Chinese."""
    number = normalise_id_number(value)
    refuse_foreign_digits(number)
    if len(number) == 15 and is_ascii_digits(number):
        # A first-generation card's number: no longer valid, replaced by the 18-digit one.
        raise ValidationError(
            _("Please use the 18-digit number on the second-generation ID card."),
            code="id_first_generation",
        )
    if not ID_RE.match(number):
        raise ValidationError(
            _("An ID number has 18 characters: 17 digits and a final digit or X."),
            code="id_format",
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date in this ID number does not exist."), code="id_birth_date"
        ) from None
    if birth.year < 1900 or birth > timezone.localdate():
        raise ValidationError(
            _("The birth date in this ID number is not plausible."), code="id_birth_date"
        )
    if id_check_digit(number[:17]) != number[17]:
        raise ValidationError(
            _("The ID number's check digit is wrong; please check every digit."),
            code="id_checksum",
        )
    return number


def id_check_digit(first17: str) -> str:
    """The GB 11643 check digit (0–9 or X) of an ID number's first 17 digits."""
    # stdnum's calc_check_digit takes the whole number and ignores its last character.
    return ric.calc_check_digit(first17 + "0")


def id_hash(number: str) -> str:
    return crypto.keyed_hash("id", normalise_id_number(number))


def mobile_hash(number: str) -> str:
    return crypto.keyed_hash("mobile", normalise_mobile(number))


def mask_id_number(number: str) -> str:
    if not number:
        return ""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_mobile(number: str) -> str:
    if not number:
        return ""
    return number[:3] + "****" + number[-4:]


def mask_name(name: str) -> str:
    """张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
