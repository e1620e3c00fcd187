"""The retention purge (剩余信息保护): personal data kept no longer than its purpose needs.

Run once a day (the `purge_expired` task and management command), one run at a time:

* declarations not enrolled (rejected) or withdrawn, `RETENTION_CLOSED_DECLARATION_YEARS`
  after their last log entry, with everything that exists only for them: their log,
  visits, documents and the files on disk, appeals, clocks, SMS, the warnings that
  became them or joined them, the department reports (a death or move of the
  applicant, property records) matched to them and to no household, and the duplicates
  merged into them. A rejected or
  withdrawn declaration creates no household data (a household is made on enrolment;
  one that a declaration re-identified was there before it and stays);
* the text of SMS sent or failed more than `RETENTION_SMS_BODY_DAYS` ago (the row stays:
  template, recipient, status and times);
* export files older than `RETENTION_EXPORT_FILE_DAYS` (the row stays, marked expired);
* expired sessions (`clearsessions`);
* the audit log past `AUDIT_RETENTION_DAYS` (never under 180 days).

The run writes one audit row with the count of each kind. Nothing else deletes cases;
the history tables are append-only (PostgreSQL triggers), ignored here for the
statements of this purge only.
"""

import datetime as dt
import logging

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.audit.models import Action
from apps.audit.services import purge_older_than, record, retention_days
from apps.core.locks import exclusive
from apps.core.models import HistoryEntry
from apps.deadlines.models import Clock
from apps.declarations.models import (
    Appeal,
    Declaration,
    GreenChannel,
    State,
    Transition,
    VillageEvaluation,
    VisitDocument,
)
from apps.declarations.services import SUBJECT as DECLARATION_SUBJECT
from apps.notifications.models import Message

from .models import CivilAffairsExport, Warning, WarningEvent
from .models_effects import PropertyRecord, ReportedLifeEvent, ReportedLifeEventLog
from .services import SUBJECT as WARNING_SUBJECT

logger = logging.getLogger(__name__)

PURGED_STATES = [State.REJECTED, State.WITHDRAWN]
# What the purge of declarations counts (its audit row says each, zero included).
DECLARATION_COUNTS = (
    "declarations",
    "documents",
    "messages",
    "warnings",
    "life_event_reports",
    "property_records",
)
CHUNK = 200


def years_before(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def declarations_expired(cutoff: dt.datetime) -> list[int]:
    """Rejected and withdrawn declarations whose last log entry (or submission) is
    before `cutoff`, without an undecided appeal, and the duplicates merged into them;
    merged duplicates come before the case they were merged into."""
    closed = (
        Declaration.objects.filter(state__in=PURGED_STATES)
        .exclude(appeals__outcome="")
        .annotate(closed_at=Coalesce(Max("transitions__at"), "submitted_at"))
        .filter(closed_at__lt=cutoff)
    )
    levels = [set(closed.values_list("pk", flat=True))]
    seen = set(levels[0])
    while levels[-1]:
        merged = set(
            Declaration.objects.filter(merged_into__in=levels[-1]).values_list("pk", flat=True)
        )
        levels.append(merged - seen)
        seen |= merged
    return [pk for level in reversed(levels) for pk in sorted(level)]


def _declarations_delete(ids: list[int]) -> dict[str, int]:
    """One chunk, in one transaction; the files go once it has committed."""
    appeals = list(Appeal.objects.filter(declaration__in=ids).values_list("pk", flat=True))
    warnings = list(Warning.objects.filter(declaration__in=ids).values_list("pk", flat=True))
    clocks = list(
        Clock.objects.filter(
            Q(subject_type=DECLARATION_SUBJECT, subject_id__in=ids)
            | Q(subject_type="appeal", subject_id__in=appeals)
            | Q(subject_type=WARNING_SUBJECT, subject_id__in=warnings)
        ).values_list("pk", flat=True)
    )
    # Their SMS: "declaration:<pk>[:…]" and the reminders of their clocks "clock:<pk>:…".
    subjects = Q(pk__in=[])
    for pk in ids:
        subjects |= Q(subject=f"{DECLARATION_SUBJECT}:{pk}")
        subjects |= Q(subject__startswith=f"{DECLARATION_SUBJECT}:{pk}:")
    for pk in clocks:
        subjects |= Q(subject__startswith=f"clock:{pk}:")
    files = list(VisitDocument.objects.filter(declaration__in=ids).values_list("file", flat=True))
    storage = VisitDocument._meta.get_field("file").storage
    # Department records matched to the case alone (no household): a reported death or
    # move of the applicant, the property found in the registers.
    reports = ReportedLifeEvent.objects.filter(declaration__in=ids, household__isnull=True)
    properties = PropertyRecord.objects.filter(declaration__in=ids, household__isnull=True)
    history = (Transition, WarningEvent, ReportedLifeEventLog)
    with transaction.atomic(), HistoryEntry.unprotected(*history):
        messages, _ = Message.objects.filter(subjects).delete()
        # History protects its case: it goes first.
        WarningEvent.objects.filter(warning__in=warnings).delete()
        Transition.objects.filter(declaration__in=ids).delete()
        Warning.objects.filter(pk__in=warnings).delete()
        ReportedLifeEventLog.objects.filter(report__in=reports).delete()
        _, deleted_reports = reports.delete()
        property_records, _ = properties.delete()
        Clock.objects.filter(pk__in=clocks).delete()
        # What points at a document (PROTECT) goes before the documents.
        GreenChannel.objects.filter(declaration__in=ids).delete()
        VillageEvaluation.objects.filter(declaration__in=ids).delete()
        # A duplicate and its twin may be in the same chunk (PROTECT between them).
        Declaration.objects.filter(pk__in=ids, merged_into__isnull=False).update(merged_into=None)
        _, deleted = Declaration.objects.filter(pk__in=ids).delete()
        transaction.on_commit(lambda: [storage.delete(name) for name in files if name])
    return {
        "declarations": deleted.get(Declaration._meta.label, 0),
        "documents": len(files),
        "messages": messages,
        "warnings": len(warnings),
        "life_event_reports": deleted_reports.get(ReportedLifeEvent._meta.label, 0),
        "property_records": property_records,
    }


def purge_declarations(now: dt.datetime) -> dict[str, int]:
    cutoff = years_before(now, settings.RETENTION_CLOSED_DECLARATION_YEARS)
    ids = declarations_expired(cutoff)
    counts = dict.fromkeys(DECLARATION_COUNTS, 0)
    for start in range(0, len(ids), CHUNK):
        for kind, n in _declarations_delete(ids[start : start + CHUNK]).items():
            counts[kind] += n
    return counts


def purge_sms_bodies(now: dt.datetime) -> int:
    """Blank the parameters (the text) of SMS no longer on their way."""
    cutoff = now - dt.timedelta(days=settings.RETENTION_SMS_BODY_DAYS)
    return (
        Message.objects.filter(
            status__in=[Message.Status.SENT, Message.Status.FAILED], created_at__lt=cutoff
        )
        .exclude(params={})
        .update(params={})
    )


def purge_export_files(now: dt.datetime) -> int:
    """Delete the export files (full ID numbers) past their days; the row says so."""
    cutoff = now - dt.timedelta(days=settings.RETENTION_EXPORT_FILE_DAYS)
    storage = CivilAffairsExport._meta.get_field("file").storage
    expired = 0
    for export in CivilAffairsExport.objects.filter(expired_at__isnull=True, created_at__lt=cutoff):
        with transaction.atomic():
            name = export.file.name
            export.file = ""
            export.expired_at = now
            export.save(update_fields=["file", "expired_at"])
            if name:
                transaction.on_commit(lambda name=name: storage.delete(name))
        expired += 1
    return expired


def purge_sessions(now: dt.datetime) -> int:
    expired = Session.objects.filter(expire_date__lt=now).count()
    call_command("clearsessions")
    return expired


@exclusive("purge-expired")
def purge_expired() -> dict[str, int]:
    """The daily purge, audited with the count of each kind."""
    audit_days = retention_days()  # a retention under the minimum stops the run here
    now = timezone.now()
    counts = purge_declarations(now)
    counts["sms_bodies"] = purge_sms_bodies(now)
    counts["export_files"] = purge_export_files(now)
    counts["sessions"] = purge_sessions(now)
    counts["audit_entries"] = purge_older_than(audit_days)
    record(Action.PURGE, actor_name="system", target="retention", **counts)
    logger.info("Retention purge: %s", counts)
    return counts
