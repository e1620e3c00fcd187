"""The retention purge (剩余信息保护): each kind of record removed or blanked after its
days, nothing younger, nothing open; the run audited; one run at a time."""

import datetime as dt
import logging
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.urls import reverse

from apps.audit.models import Action, AuditEntry
from apps.audit.services import purge_older_than, record
from apps.core import locks
from apps.deadlines.models import Clock
from apps.declarations import services as ds
from apps.declarations.models import (
    Declaration,
    HouseholdVisit,
    State,
    Transition,
    VillageEvaluation,
    VisitDocument,
)
from apps.households.models import MonitoringThreshold
from apps.notifications.models import Message
from apps.screening import services as ss
from apps.screening.retention import purge_expired

from .conftest import ANDING, WOGOU, declaration_input, require_postgres
from .households_steps import new_id
from .review_steps import to_notice

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# The purge runs at this moment in the tests.
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI)
THREE_YEARS_AGO = dt.datetime(2023, 6, 15, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _postgres():
    # The history tables' append-only triggers are part of what is tested.
    require_postgres()


def rejected(regions, grid, *, closed_at: dt.datetime, serial: int, twin=None) -> Declaration:
    """A case taken to its public notice, with two documents (the household's signed
    letter and the minutes), then rejected
    by the village at `closed_at`; with `twin` (a serial), a duplicate merged into it."""
    with time_machine.travel(closed_at - dt.timedelta(days=40), tick=False):
        declaration = ds.declaration_submit(
            village=regions[WOGOU],
            data=declaration_input(id_number=new_id(serial), phone=f"139123400{serial:02d}"),
        ).declaration
        if twin is not None:
            duplicate = ds.declaration_submit(
                village=regions[WOGOU],
                data=declaration_input(id_number=new_id(twin), phone=f"139123400{twin:02d}"),
            ).declaration
            ds.declaration_merge(declaration=duplicate, into=declaration, actor=grid, reason="重复")
    with time_machine.travel(closed_at - dt.timedelta(days=1), tick=False):
        MonitoringThreshold.objects.get_or_create(
            county=regions[ANDING], year=closed_at.year, defaults={"amount": Decimal("7000")}
        )
        to_notice(declaration, grid, documents=False)
        document = VisitDocument(
            declaration=declaration, kind="minutes", content_type="image/jpeg", uploaded_by=grid
        )
        document.file.save("minutes.jpg", ContentFile(b"\xff\xd8\xff minutes"), save=True)
        VillageEvaluation.objects.filter(declaration=declaration).update(minutes=document)
    with time_machine.travel(closed_at, tick=False):
        declaration.refresh_from_db()
        ds.declaration_village_reject(declaration=declaration, actor=grid, reason="收入超过标准")
    return declaration


def test_a_rejected_declaration_goes_three_years_after_closing_with_its_history_and_files(
    regions, grid_wogou, media, django_capture_on_commit_callbacks
):
    # A duplicate merged into it before it was rejected goes with it.
    old = rejected(
        regions, grid_wogou, closed_at=THREE_YEARS_AGO - dt.timedelta(days=1), serial=1, twin=9
    )
    twin = Declaration.objects.get(merged_into=old)
    recent = rejected(
        regions, grid_wogou, closed_at=THREE_YEARS_AGO + dt.timedelta(days=1), serial=2
    )
    with time_machine.travel(dt.datetime(2019, 3, 1, 9, 0, tzinfo=SHANGHAI), tick=False):
        still_open = ds.declaration_submit(
            village=regions[WOGOU], data=declaration_input(id_number=new_id(3), phone="13912340003")
        ).declaration
    old_file = VisitDocument.objects.get(declaration=old, kind="minutes").file.path
    recent_file = VisitDocument.objects.get(declaration=recent, kind="minutes").file.path
    old_clocks = list(
        Clock.objects.filter(subject_type="declaration", subject_id=old.pk).values_list(
            "pk", flat=True
        )
    )
    assert old_clocks and Message.objects.filter(subject__startswith=f"declaration:{old.pk}")
    assert Transition.objects.filter(declaration=old).exists()

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        counts = purge_expired()

    assert set(Declaration.objects.values_list("pk", flat=True)) == {recent.pk, still_open.pk}
    assert counts["declarations"] == 2 and counts["documents"] == 2
    assert not Transition.objects.filter(declaration_id__in=[old.pk, twin.pk]).exists()
    assert not HouseholdVisit.objects.filter(declaration_id=old.pk).exists()
    assert not VisitDocument.objects.filter(declaration_id=old.pk).exists()
    assert not Clock.objects.filter(pk__in=old_clocks).exists()
    assert not Message.objects.filter(subject__startswith=f"declaration:{old.pk}").exists()
    assert not Message.objects.filter(subject__startswith=f"declaration:{twin.pk}").exists()
    assert not (media / old_file).exists()
    # The younger rejection and the open case keep everything.
    assert recent_file and (media / recent_file).exists()
    assert Transition.objects.filter(declaration=recent).count() > 1
    assert Declaration.objects.get(pk=still_open.pk).state == State.SUBMITTED


def test_a_withdrawn_declaration_goes_too_and_the_triggers_stay_in_force(regions, grid_wogou):
    with time_machine.travel(NOW - dt.timedelta(days=365 * 4), tick=False):
        declaration = ds.declaration_submit(
            village=regions[WOGOU], data=declaration_input()
        ).declaration
        ds.declaration_withdraw(declaration=declaration, reason="已外出务工", by_applicant=True)
    with time_machine.travel(NOW, tick=False):
        assert purge_expired()["declarations"] == 1
    assert not Declaration.objects.exists()
    # Outside the purge, the case log is still append-only.
    require_postgres()
    live = ds.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=new_id(5))
    ).declaration
    ds.declaration_accept(declaration=live, actor=grid_wogou)
    with pytest.raises(DatabaseError), transaction.atomic():
        Transition.objects.filter(declaration=live).delete()


def test_a_warning_that_became_a_purged_declaration_goes_with_it(regions, grid_wogou):
    from apps.screening.models import Warning, WarningEvent
    from apps.screening.services.verification import Applicant

    from .test_warning_pages import medical

    with time_machine.travel(NOW - dt.timedelta(days=365 * 4), tick=False):
        warning = medical(regions)
        ss.warning_verify(
            warning=warning,
            actor=grid_wogou,
            method="visited",
            outcome="risk",
            reason="住院花费大。",
            applicant=Applicant(phone="13912345678", difficulties=["illness"], address_group="3组"),
        )
        declaration = Declaration.objects.get()
        assert WarningEvent.objects.filter(warning=warning).exists()
        ds.declaration_withdraw(declaration=declaration, reason="已外出务工", by_applicant=True)

    with time_machine.travel(NOW, tick=False):
        counts = purge_expired()

    assert counts["declarations"] == 1 and counts["warnings"] == 1
    assert not Declaration.objects.exists() and not Warning.objects.exists()
    assert not WarningEvent.objects.exists()
    assert not Clock.objects.filter(subject_type="warning").exists()


def sms(declaration, *, sent_at: dt.datetime) -> Message:
    message = Message.objects.filter(subject=f"declaration:{declaration.pk}").first()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENT, created_at=sent_at, sent_at=sent_at
    )
    message.refresh_from_db()
    return message


def test_sms_text_is_blanked_after_180_days_and_the_facts_stay(regions):
    first = ds.declaration_submit(village=regions[WOGOU], data=declaration_input()).declaration
    second = ds.declaration_submit(
        village=regions[WOGOU], data=declaration_input(id_number=new_id(7), phone="13912340007")
    ).declaration
    old = sms(first, sent_at=NOW - dt.timedelta(days=181))
    young = sms(second, sent_at=NOW - dt.timedelta(days=179))
    assert old.params and young.params

    with time_machine.travel(NOW, tick=False):
        counts = purge_expired()

    old.refresh_from_db()
    young.refresh_from_db()
    assert counts["sms_bodies"] == 1
    assert old.params == {} and old.status == Message.Status.SENT
    assert old.recipient == "13912345678" and old.template and old.sent_at
    assert young.params  # younger than 180 days: whole


def test_an_export_file_is_deleted_after_seven_days_and_the_page_says_so(
    regions, media, client, django_capture_on_commit_callbacks
):
    from .test_warning_pages import civil_affairs_user

    ds.declaration_submit(village=regions[WOGOU], data=declaration_input())
    old = ss.civil_affairs_export(county=regions[ANDING], now=NOW - dt.timedelta(days=7, hours=1))
    young = ss.civil_affairs_export(county=regions[ANDING], now=NOW - dt.timedelta(days=6))
    old_path, young_path = old.file.path, young.file.path

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        counts = purge_expired()

    old.refresh_from_db()
    young.refresh_from_db()
    assert counts["export_files"] == 1
    assert old.expired_at is not None and not old.file
    assert not (media / old_path).exists() and (media / young_path).exists()
    assert young.expired_at is None

    client.force_login(civil_affairs_user(regions, "mz-anding", ANDING))
    page = client.get(reverse("screening:civil_affairs")).content.decode()
    assert "文件已过期（生成7天后删除）" in page
    assert reverse("screening:export_download", args=[old.pk]) not in page
    assert client.get(reverse("screening:export_download", args=[old.pk])).status_code == 404
    assert client.get(reverse("screening:export_download", args=[young.pk])).status_code == 200


def test_expired_sessions_are_cleared(db):
    with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
        stale = SessionStore()
        stale["x"] = 1
        stale.create()
    with time_machine.travel(NOW, tick=False):
        live = SessionStore()
        live["x"] = 1
        live.create()
        assert purge_expired()["sessions"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_the_purge_is_audited_with_its_counts_and_purges_the_old_audit_rows(db, settings):
    settings.AUDIT_RETENTION_DAYS = 365
    with time_machine.travel(NOW - dt.timedelta(days=366), tick=False):
        record(Action.SIGN_IN, actor_name="old")
    with time_machine.travel(NOW - dt.timedelta(days=364), tick=False):
        record(Action.SIGN_IN, actor_name="kept")

    with time_machine.travel(NOW, tick=False):
        call_command("purge_expired")

    entry = AuditEntry.objects.get(action=Action.PURGE, target="retention")
    assert entry.actor_name == "system"
    assert entry.detail == {
        "declarations": 0,
        "documents": 0,
        "messages": 0,
        "warnings": 0,
        "life_event_reports": 0,
        "property_records": 0,
        "sms_bodies": 0,
        "export_files": 0,
        "sessions": 0,
        "audit_entries": 1,
    }
    assert list(
        AuditEntry.objects.filter(action=Action.SIGN_IN).values_list("actor_name", flat=True)
    ) == ["kept"]


def test_the_audit_purge_refuses_less_than_180_days(db, settings):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ValueError):
        purge_older_than(179)
    settings.AUDIT_RETENTION_DAYS = 90
    with pytest.raises(ImproperlyConfigured):
        purge_expired()
    assert not AuditEntry.objects.filter(action=Action.PURGE).exists()


# --- one run at a time ----------------------------------------------------------------------


def test_a_second_purge_does_nothing_while_the_lock_is_held(db, caplog):
    held = locks.exclusive("purge-expired")(lambda: purge_expired())
    with caplog.at_level(logging.WARNING, logger="apps.core.locks"):
        assert held() is None  # the inner run found the lock taken
    assert "purge-expired is already running: this run does nothing." in caplog.text
    # No purge ran: the outer call only held the lock.
    assert not AuditEntry.objects.filter(action=Action.PURGE).exists()
    assert not locks.lock_held("purge-expired")
    assert purge_expired() is not None  # released: the next run runs


def test_the_lock_is_released_when_the_job_fails(db):
    @locks.exclusive("failing-job")
    def job():
        assert locks.lock_held("failing-job")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        job()
    assert not locks.lock_held("failing-job")


@pytest.mark.parametrize(
    ("task", "lock", "service"),
    [
        (
            "apps.screening.tasks.export_for_civil_affairs",
            "civil-affairs-exports",
            "apps.screening.tasks.civil_affairs_exports_all",
        ),
        (
            "apps.households.tasks.sample_look_backs",
            "look-back-sampling",
            "apps.households.tasks.lookbacks_sample",
        ),
        ("apps.screening.tasks.purge_expired", "purge-expired", None),
    ],
)
def test_scheduled_jobs_skip_while_another_run_holds_their_lock(
    db, caplog, monkeypatch, task, lock, service
):
    from django.core.cache import cache
    from django.utils.module_loading import import_string

    runs = []
    if service:
        monkeypatch.setattr(service, lambda **kw: runs.append(1) or 7)
    cache.add(f"job-lock:{lock}", "another worker", 60)
    with caplog.at_level(logging.WARNING):
        import_string(task)()
    assert f"{lock} is already running" in caplog.text
    assert runs == [] and not AuditEntry.objects.filter(action=Action.PURGE).exists()
    cache.delete(f"job-lock:{lock}")
    import_string(task)()
    assert runs == [1] if service else AuditEntry.objects.filter(action=Action.PURGE).exists()
    assert not locks.lock_held(lock)


def test_the_purge_is_scheduled_daily():
    from celery.schedules import crontab

    from config.celery import app

    app.finalize()
    entry = app.conf.beat_schedule["purge-expired"]
    assert entry["task"] == "apps.screening.tasks.purge_expired"
    assert entry["schedule"] == crontab(hour=3, minute=30)


def test_department_reports_matched_to_the_purged_case_alone_go_with_it(regions, grid_wogou):
    """A reported death of the applicant and the property found for them exist for the
    case only: they go with it. The same kinds of record matched to a household stay."""
    from apps.households.models import MonitoredHousehold
    from apps.screening.models import (
        FeedDefinition,
        FeedEffect,
        PropertyRecord,
        ReportedLifeEvent,
        ReportedLifeEventLog,
    )

    with time_machine.travel(NOW - dt.timedelta(days=365 * 4), tick=False):
        declaration = ds.declaration_submit(
            village=regions[WOGOU], data=declaration_input()
        ).declaration
        ds.declaration_withdraw(declaration=declaration, reason="已外出务工", by_applicant=True)
    register = FeedDefinition.objects.filter(effect=FeedEffect.PROPERTY_CHECK).first()
    household = MonitoredHousehold.objects.create(
        village=regions[WOGOU],
        region_code=WOGOU,
        head_name="赵德明",
        enrolled_by=grid_wogou,
        enrolled_at=NOW - dt.timedelta(days=400),
    )

    def report(key, **link):
        made = ReportedLifeEvent.objects.create(
            department="公安",
            record_key=key,
            kind="died",
            person_name="李四",
            id_hash=declaration.id_hash,
            happened_on=dt.date(2022, 5, 1),
            village=regions[WOGOU],
            region_code=WOGOU,
            **link,
        )
        ReportedLifeEventLog.record(report=made, actor=None, kind="received")
        PropertyRecord.objects.create(
            department="市场监管",
            record_key=key,
            definition=register,
            person_name="李四",
            id_hash=declaration.id_hash,
            summary="个体工商户",
            region_code=WOGOU,
            **link,
        )

    report("case-only", declaration=declaration)
    report("household", declaration=declaration, household=household)

    with time_machine.travel(NOW, tick=False):
        counts = purge_expired()

    assert counts["declarations"] == 1
    assert (counts["life_event_reports"], counts["property_records"]) == (1, 1)
    assert list(ReportedLifeEvent.objects.values_list("record_key", flat=True)) == ["household"]
    assert list(PropertyRecord.objects.values_list("record_key", flat=True)) == ["household"]
    assert ReportedLifeEventLog.objects.count() == 1
    entry = AuditEntry.objects.get(action=Action.PURGE, target="retention")
    assert (entry.detail["life_event_reports"], entry.detail["property_records"]) == (1, 1)
