"""The procedure's order, periods and documents (一看二算三核四评议五公示, then the
county's approval and the result announcement): the documents each step needs on file,
the date rules, and the village's result announcement. The limits come from the
procedure policy (StepPolicy), which provincial admins edit."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.uploads import CleanedUpload
from apps.core.views import store_cleaned, with_upload
from apps.regions.models import VILLAGE_ROLES, roles_over

from ..models import (
    ConsentChannel,
    ConsentGiver,
    Declaration,
    DocumentKind,
    ResultAnnouncement,
    State,
    Step,
    StepPolicy,
    Transition,
    VisitDocument,
)
from .errors import InvalidInput, NotPermitted, WrongState


class DateRefused(InvalidInput):
    """A date that breaks the procedure's order: the message belongs at `field`."""

    def __init__(self, field: str, message):
        self.field = field
        super().__init__(message)


# --- documents -----------------------------------------------------------------------------


def documents_on_file(declaration: Declaration) -> set[str]:
    """The kinds of document the case has. The signed authorization letter counts while
    the household's consent that came with it stands."""
    kinds = set(declaration.documents.values_list("kind", flat=True))
    kinds.discard(DocumentKind.CONSENT)
    if declaration.consents.filter(
        channel=ConsentChannel.HOME_VISIT, given_by=ConsentGiver.APPLICANT
    ).exists():
        kinds.add(DocumentKind.CONSENT)
    return kinds


def missing_documents(declaration: Declaration, step: str) -> list[str]:
    """The kinds of document the policy requires before `step` that the case lacks."""
    required = StepPolicy.for_step(step).required_documents
    if not required:
        return []
    on_file = documents_on_file(declaration)
    return [kind for kind in required if kind not in on_file]


def document_labels(kinds: list[str]) -> str:
    labels = dict(DocumentKind.choices)
    return "、".join(str(labels.get(kind, kind)) for kind in kinds)


def require_documents(declaration: Declaration, step: str) -> None:
    """Refuse a step while a document its policy requires is not on file."""
    missing = missing_documents(declaration, step)
    if missing:
        raise WrongState(
            _("Upload these documents first: %(documents)s.")
            % {"documents": document_labels(missing)}
        )


def document_upload(
    *, declaration: Declaration, actor, kind: str, cleaned: CleanedUpload, open_only: bool = True
) -> VisitDocument:
    """A photo or scan of the case (`cleaned` by apps.core.uploads), stored by the
    village. The signed authorization letter goes through consent_letter_upload, which
    records the household's consent with it."""
    if kind not in DocumentKind.values:
        raise InvalidInput
    if not (
        (declaration.is_open or not open_only)
        and roles_over(actor, declaration.region_code) & VILLAGE_ROLES
    ):
        raise NotPermitted
    document = VisitDocument(
        declaration=declaration,
        kind=kind,
        content_type=cleaned.content_type,
        sha256=cleaned.sha256,
        original_name=cleaned.original_name,
        uploaded_by=actor,
    )
    return store_cleaned(document, cleaned)


# --- dates ---------------------------------------------------------------------------------


def notice_minimum_days() -> int:
    return StepPolicy.for_step(Step.NOTICE).minimum_days or 0


def not_in_future(field: str, day: dt.date) -> None:
    if day > timezone.localdate():
        raise DateRefused(field, _("A date of something already done cannot be in the future."))


def check_period(start_field: str, end_field: str, start: dt.date, end: dt.date, step: str):
    """A notice (公示) or an announcement: it ends on or after it starts, and runs at
    least the policy's minimum, counting both its first and last day."""
    if end < start:
        raise DateRefused(end_field, _("The notice cannot end before it starts."))
    minimum = StepPolicy.for_step(step).minimum_days or 0
    if (end - start).days + 1 < minimum:
        raise DateRefused(
            end_field,
            _(
                "The notice must run at least %(days)d days (from %(start)s, until %(end)s at the earliest)."
            )
            % {
                "days": minimum,
                "start": start.isoformat(),
                "end": (start + dt.timedelta(days=minimum - 1)).isoformat(),
            },
        )


def latest_visit_date(declaration: Declaration) -> dt.date | None:
    visit = declaration.visits.order_by("-visit_date", "-pk").first()
    return visit.visit_date if visit else None


def check_evaluation_dates(
    declaration: Declaration,
    *,
    evaluation_date: dt.date,
    notice_start: dt.date,
    notice_end: dt.date,
) -> None:
    """The evaluation comes after the home visit and the information comparison; the
    notice starts on or after it and runs the policy's minimum; what is done is not in
    the future."""
    not_in_future("evaluation_date", evaluation_date)
    visited = latest_visit_date(declaration)
    if visited and evaluation_date < visited:
        raise DateRefused(
            "evaluation_date",
            _("The evaluation comes after the home visit (%(date)s).")
            % {"date": visited.isoformat()},
        )
    income = getattr(declaration, "income", None)
    if income is not None and income.compared_on and evaluation_date < income.compared_on:
        raise DateRefused(
            "evaluation_date",
            _("The evaluation comes after the information comparison (%(date)s).")
            % {"date": income.compared_on.isoformat()},
        )
    if notice_start < evaluation_date:
        raise DateRefused("notice_start", _("The notice starts on or after the evaluation."))
    not_in_future("notice_start", notice_start)
    check_period("notice_start", "notice_end", notice_start, notice_end, Step.NOTICE)


# --- the result announcement (结果公告) -----------------------------------------------------


def approval_date(declaration: Declaration) -> dt.date | None:
    approved = declaration.transitions.filter(kind="county_approve").order_by("-at", "-pk").first()
    return timezone.localdate(approved.at) if approved else None


def declaration_record_announcement(
    *,
    declaration: Declaration,
    actor,
    start: dt.date,
    end: dt.date,
    cleaned: CleanedUpload,
) -> ResultAnnouncement:
    """After the county's approval, the village records the result announcement it
    posted: its dates and a photo of it, with a line in the case's log."""
    if not roles_over(actor, declaration.region_code) & VILLAGE_ROLES:
        raise NotPermitted
    approved = approval_date(declaration)
    if declaration.state != State.ENROLLED or approved is None:
        raise WrongState(_("The result is announced after the county's approval."))
    if start < approved:
        raise DateRefused(
            "start",
            _("The announcement starts on or after the county's approval (%(date)s).")
            % {"date": approved.isoformat()},
        )
    not_in_future("start", start)
    check_period("start", "end", start, end, Step.ANNOUNCEMENT)

    def record(document: VisitDocument) -> ResultAnnouncement:
        with transaction.atomic():
            announcement = ResultAnnouncement.objects.create(
                declaration=declaration,
                start=start,
                end=end,
                document=document,
                recorded_by=actor,
            )
            Transition.record(
                declaration=declaration,
                actor=actor,
                kind="result_announced",
                summary=f"{start.isoformat()} – {end.isoformat()}",
            )
        return announcement

    return with_upload(
        lambda: document_upload(
            declaration=declaration,
            actor=actor,
            kind=DocumentKind.RESULT_NOTICE,
            cleaned=cleaned,
            open_only=False,
        ),
        record,
    )
