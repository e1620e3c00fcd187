"""Consent (PIPL arts. 13-17, 29): the form's, stored with the declaration; and the
household's own, the signed authorization letter (承诺授权书) uploaded after the home
visit, without which (as the procedure policy requires: services.procedure) the
household's income and property are left unchecked."""

from django.utils.translation import gettext as _

from apps.core.uploads import CleanedUpload
from apps.core.views import store_cleaned, with_upload
from apps.regions.models import VILLAGE_ROLES, roles_over

from ..models import (
    NOTICE_VERSION,
    Channel,
    Consent,
    ConsentChannel,
    ConsentGiver,
    Declaration,
    DocumentKind,
    Step,
    Transition,
    VisitDocument,
)
from .errors import NotPermitted
from .procedure import missing_documents


def form_consent(declaration: Declaration) -> Consent | None:
    """The consent the public form collected (its box is required), unsaved; None for
    a case a cadre entered, where nobody ticked a box."""
    if declaration.channel not in (Channel.QR, Channel.PROXY):
        return None
    return Consent(
        declaration=declaration,
        notice_version=NOTICE_VERSION,
        given_at=declaration.submitted_at,
        channel=ConsentChannel.FORM,
        given_by=ConsentGiver.DECLARANT if declaration.on_behalf else ConsentGiver.APPLICANT,
    )


def authorization_missing(declaration: Declaration) -> bool:
    """The procedure policy wants the household's signed letter before its income is
    checked (by default, for every case: the form's box is the declarant's consent, the
    letter the household's own), and it is not on file."""
    return DocumentKind.CONSENT in missing_documents(declaration, Step.INCOME)


def consent_letter_upload(*, declaration: Declaration, actor, cleaned: CleanedUpload) -> Consent:
    """The household's signed authorization letter, uploaded by the village after the
    home visit (`cleaned` by apps.core.uploads): stored as a document of its case, with
    the household's consent to the current notice, as one."""
    if not (declaration.is_open and roles_over(actor, declaration.region_code) & VILLAGE_ROLES):
        raise NotPermitted

    def store() -> VisitDocument:
        document = VisitDocument(
            declaration=declaration,
            kind=DocumentKind.CONSENT,
            content_type=cleaned.content_type,
            sha256=cleaned.sha256,
            original_name=cleaned.original_name,
            uploaded_by=actor,
        )
        return store_cleaned(document, cleaned)

    def record(document: VisitDocument) -> Consent:
        consent = Consent.objects.create(
            declaration=declaration,
            notice_version=NOTICE_VERSION,
            given_at=document.uploaded_at,
            channel=ConsentChannel.HOME_VISIT,
            given_by=ConsentGiver.APPLICANT,
            document=document,
            recorded_by=actor,
        )
        Transition.record(
            declaration=declaration,
            actor=actor,
            kind="authorization_signed",
            summary=_("notice version %(version)s") % {"version": NOTICE_VERSION},
        )
        return consent

    return with_upload(store, record)
