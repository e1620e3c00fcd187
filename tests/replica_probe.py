"""Run by tests/test_replica.py in a process of its own, so that Django starts with
"default" at the test's own primary and "replica" at its streaming replica (Django
reads DATABASES once, at start):

    DATABASE_URL=<primary> DATABASE_REPLICA_URL=<replica> python -m tests.replica_probe \
        <primary port> <replica port>

Migrates the primary (the replica follows by WAL), signs a county's staff member in,
requests pages, and prints what it saw as one JSON object for the test to check.
"""

import json
import os
import re
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from apps.audit.models import Action, AuditEntry  # noqa: E402
from apps.regions.models import Region, Role, StaffMembership  # noqa: E402
from apps.regions.services import regions_import_csv  # noqa: E402
from tests.replica_cluster import Cluster, wait_for_replay  # noqa: E402

DEMO_CSV = Path(__file__).resolve().parent.parent / "apps/regions/data/demo_regions.csv"
ANDING = "621102000000"
TABLE = re.compile(r'(?:FROM|JOIN|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def tables(queries) -> list[str]:
    return sorted({t for q in queries for t in TABLE.findall(q["sql"])})


def statements(queries) -> list[str]:
    return sorted({q["sql"].lstrip("( ").split(None, 1)[0].upper() for q in queries})


def request(client, url):
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(url)
    return {
        "status": response.status_code,
        "primary_tables": tables(primary.captured_queries),
        "primary_statements": statements(primary.captured_queries),
        "replica_tables": tables(replica.captured_queries),
        "replica_statements": statements(replica.captured_queries),
    }


def main(primary_port: int, replica_port: int) -> dict:
    cluster = Cluster(Path("/nonexistent"), primary_port, replica_port)
    call_command("migrate", verbosity=0)
    regions_import_csv(text=DEMO_CSV.read_text(encoding="utf-8"))
    from apps.accounts.models import User

    user = User.objects.create_user(username="county-anding", password="pw-for-tests-only")
    StaffMembership.objects.create(
        user=user, region=Region.objects.get(code=ANDING), role=Role.COUNTY
    )
    client = Client()
    client.force_login(user)
    # What the dashboard reads must be on the replica before it is asked.
    wait_for_replay(cluster)
    facts = {}
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        facts["replica_in_recovery"] = cursor.fetchone()[0]
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        facts["primary_in_recovery"] = cursor.fetchone()[0]
    # The replica is a standby: it takes no writes.
    try:
        with transaction.atomic(using="replica"):
            Region.objects.using("replica").filter(code=ANDING).update(name="x")
        facts["replica_refused_write"] = False
    except DatabaseError as exc:
        facts["replica_refused_write"] = "read-only" in str(exc)
    facts["dashboard"] = request(client, f"/supervision/{ANDING}/")
    facts["late_list"] = request(client, f"/supervision/{ANDING}/late/accept/")
    # The export reads off the replica and writes its audit row to the primary.
    exports_before = AuditEntry.objects.filter(action=Action.EXPORT).count()
    facts["export"] = request(client, f"/supervision/{ANDING}/export.xlsx")
    facts["export_rows_primary"] = (
        AuditEntry.objects.filter(action=Action.EXPORT).count() - exports_before
    )
    # A page outside replica_reads() reads the primary only.
    facts["staff_home"] = request(client, "/staff/")
    wait_for_replay(cluster)
    facts["export_rows_replica"] = (
        AuditEntry.objects.using("replica").filter(action=Action.EXPORT).count() - exports_before
    )
    return facts


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
