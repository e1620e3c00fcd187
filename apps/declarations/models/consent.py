"""Consent to process a household's personal information (PIPL arts. 13-17, 29): who
agreed, to which version of the notice, when and how."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import protected_link

from .case import Declaration
from .review import VisitDocument

# The version of the privacy notice on the public form (templates/declarations/public/
# form.html) and of the authorization letter it announces. Change it with the text: a
# consent row says which text the person agreed to.
NOTICE_VERSION = "2026-12"


class ConsentChannel(models.TextChoices):
    FORM = "form", _("public form")
    HOME_VISIT = "home_visit", _("signed authorization letter at the home visit")


class ConsentGiver(models.TextChoices):
    APPLICANT = "applicant", _("the applicant")
    DECLARANT = "declarant", _("the declarant, on the applicant's behalf")


class Consent(models.Model):
    """One agreement to the notice. A declaration has one from the form (the applicant's,
    or the declarant's when declared on someone's behalf) and one per signed
    authorization letter uploaded after the home visit (the household's own). Rows are
    only added: a withdrawal is the declaration's withdrawal, in its log."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="consents")
    notice_version = models.CharField(_("notice version"), max_length=16)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    given_by = models.CharField(_("given by"), max_length=16, choices=ConsentGiver.choices)
    # The signed letter, and the cadre who uploaded it; empty for the public form. The
    # letter is kept while its consent stands (RESTRICT, not PROTECT: deleting the
    # whole case, as the retention purge does, takes both).
    document = models.ForeignKey(
        VisitDocument,
        verbose_name=_("signed letter"),
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
    )
    recorded_by = protected_link(settings.AUTH_USER_MODEL, _("recorded by"), optional=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["given_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel=ConsentChannel.FORM) | models.Q(document__isnull=False),
                name="consent_letter_has_document",
            ),
        ]

    def __str__(self):
        return f"{self.declaration} {self.get_channel_display()} {self.notice_version}"
