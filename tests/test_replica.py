"""Reads off the primary, on a real streaming replica: the dashboards and exports read
the replica, their writes (the export's audit row) go to the primary and reach the
replica by WAL, and pages outside `replica_reads()` read the primary only.

The machine's PostgreSQL allows no replication connections, so the session starts a
primary and a replica of its own (tests/replica_cluster.py, a few seconds) and runs
Django against them in a process of its own (tests/replica_probe.py). Without the
server's tools this skips on a developer's machine and fails in CI (CI=true or
REQUIRE_SERVICES=1).
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from apps.core import replica
from apps.core.replica import REPLICA, ReplicaRouter, reading_replica, replica_reads

from .replica_cluster import ClusterError, start_primary_and_replica

# What any signed-in request reads before the view, from the primary: its session and
# its user (the authentication middleware).
REQUEST_TABLES = {"accounts_user", "django_session"}


def _required() -> bool:
    return os.environ.get("CI") == "true" or bool(settings.REQUIRE_SERVICES)


@pytest.fixture(scope="session")
def replica_cluster():
    try:
        cluster = start_primary_and_replica()
    except (ClusterError, OSError, subprocess.SubprocessError) as exc:
        if _required():
            pytest.fail(f"a PostgreSQL primary and replica are required but did not start: {exc}")
        pytest.skip(f"cannot start a PostgreSQL primary and replica: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def probe(replica_cluster) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": replica_cluster.primary_url,
        "DATABASE_REPLICA_URL": replica_cluster.replica_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    done = subprocess.run(  # noqa: S603 — this interpreter, our own module
        [
            sys.executable,
            "-m",
            "tests.replica_probe",
            str(replica_cluster.primary_port),
            str(replica_cluster.replica_port),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_replica_is_a_streaming_standby(probe):
    assert probe["replica_in_recovery"] is True
    assert probe["primary_in_recovery"] is False
    assert probe["replica_refused_write"] is True


def test_the_dashboard_reads_the_replica(probe):
    page = probe["dashboard"]
    assert page["status"] == 200
    assert page["replica_statements"] == ["SELECT"]
    # What the dashboard shows comes from the replica: the summary tables, the
    # deadline clocks, the monitored households, the user's region.
    assert {
        "supervision_dailyfigures",
        "supervision_figuresrefresh",
        "deadlines_clock",
        "households_monitoredhousehold",
        "regions_staffmembership",
    } <= set(page["replica_tables"])
    # The primary serves only what any signed-in request reads before the view.
    assert set(page["primary_tables"]) == REQUEST_TABLES


def test_a_late_list_reads_the_replica(probe):
    page = probe["late_list"]
    assert page["status"] == 200
    assert "deadlines_clock" in page["replica_tables"]
    assert set(page["primary_tables"]) == REQUEST_TABLES


def test_the_exports_audit_row_is_written_to_the_primary_and_replayed(probe):
    export = probe["export"]
    assert export["status"] == 200
    assert export["replica_statements"] == ["SELECT"]  # the replica takes no write
    assert "supervision_dailyfigures" in export["replica_tables"]
    assert "INSERT" in export["primary_statements"]
    assert set(export["primary_tables"]) == REQUEST_TABLES | {"audit_auditentry"}
    assert probe["export_rows_primary"] == 1
    # After the replica has replayed the primary's WAL, the row is there too.
    assert probe["export_rows_replica"] == 1


def test_a_page_outside_replica_reads_reads_the_primary_only(probe):
    page = probe["staff_home"]
    assert page["status"] == 200
    assert page["replica_tables"] == []
    assert "declarations_declaration" in page["primary_tables"]


# The router itself, without a replica configured (the suite's usual settings).


def test_without_a_replica_everything_reads_the_primary():
    router = ReplicaRouter()
    assert REPLICA not in settings.DATABASES
    with replica_reads():
        assert not reading_replica()
        assert router.db_for_read(None) == "default"
    assert router.db_for_write(None) == "default"


def test_replica_reads_as_a_decorator_enters_per_call(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    router = ReplicaRouter()
    seen = []

    @replica_reads()
    def view(depth):
        seen.append(router.db_for_read(None))
        if depth:
            view(depth - 1)
        seen.append(router.db_for_read(None))

    view(1)
    assert seen == [REPLICA] * 4
    assert router.db_for_read(None) == "default"
    assert router.db_for_write(None) == "default"
    assert router.allow_migrate(REPLICA, "households") is False
