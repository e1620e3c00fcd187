"""Password rules for staff (等保 L3 身份鉴别), used through AUTH_PASSWORD_VALIDATORS."""

import string

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def character_classes(password: str) -> int:
    """How many of upper case, lower case, digits and symbols the password uses."""
    return sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c in string.digits for c in password),
            any(not c.isalnum() for c in password),
        )
    )


class ComplexityValidator:
    """At least `min_length` characters, of at least `min_classes` of the four classes."""

    def __init__(self, min_length: int = 10, min_classes: int = 3):
        self.min_length = min_length
        self.min_classes = min_classes

    def validate(self, password, user=None):
        errors = []
        if len(password) < self.min_length:
            errors.append(
                ValidationError(
                    ngettext(
                        "The password must have at least %(min_length)d character.",
                        "The password must have at least %(min_length)d characters.",
                        self.min_length,
                    ),
                    code="password_too_short",
                    params={"min_length": self.min_length},
                )
            )
        if character_classes(password) < self.min_classes:
            errors.append(
                ValidationError(
                    _(
                        "The password must mix at least %(min_classes)d of: capital letters, "
                        "small letters, digits and symbols."
                    ),
                    code="password_too_simple",
                    params={"min_classes": self.min_classes},
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        return _(
            "At least %(min_length)d characters, mixing at least %(min_classes)d of: capital "
            "letters, small letters, digits and symbols."
        ) % {"min_length": self.min_length, "min_classes": self.min_classes}


class UsernameValidator:
    """The password must not contain the user name, in any case."""

    def validate(self, password, user=None):
        username = user.get_username() if user is not None else ""
        if username and username.casefold() in password.casefold():
            raise ValidationError(
                _("The password must not contain the user name."),
                code="password_contains_username",
            )

    def get_help_text(self):
        return _("The password must not contain the user name.")


class HistoryValidator:
    """None of the user's last `keep` passwords again; keeps their hashes."""

    def __init__(self, keep: int = 5):
        self.keep = keep

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        hashes = list(user.password_history.values_list("password", flat=True)[: self.keep])
        if user.password:
            hashes.append(user.password)
        if any(check_password(password, encoded) for encoded in hashes):
            raise ValidationError(
                ngettext(
                    "The password must differ from your last %(keep)d password.",
                    "The password must differ from your last %(keep)d passwords.",
                    self.keep,
                ),
                code="password_reused",
                params={"keep": self.keep},
            )

    def password_changed(self, password, user=None):
        # Called by User.save() once the new hash is stored.
        if user is None or user.pk is None:
            return
        user.password_history.create(password=user.password)
        stale = user.password_history.values_list("pk", flat=True)[self.keep :]
        user.password_history.filter(pk__in=list(stale)).delete()

    def get_help_text(self):
        return ngettext(
            "The password must differ from your last %(keep)d password.",
            "The password must differ from your last %(keep)d passwords.",
            self.keep,
        ) % {"keep": self.keep}
