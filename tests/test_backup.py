"""The restore drill (数据备份恢复): ops/backup.sh dumps a database with encrypted ID and
phone numbers and an uploaded document, ops/restore.sh restores it into a fresh
database, and the copy has the same rows, the same decrypted numbers and the same file.
PostgreSQL only (pg_dump, pg_restore); it fails rather than skips under
REQUIRE_SERVICES."""

import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection

from apps.core import crypto
from apps.declarations import services as ds
from apps.declarations.models import Declaration, VisitDocument

from .conftest import WOGOU, declaration_input, require_postgres
from .households_steps import new_id

OPS = Path(settings.BASE_DIR) / "ops"


def url(database: str) -> str:
    s = connection.settings_dict
    password = f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else ""
    host = s["HOST"] or "localhost"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgresql://{quote(s['USER'], safe='')}{password}@{host}{port}/{database}"


def run(script: str, *args: str, **env: str) -> str:
    environ = {"PATH": "/usr/bin:/bin", **env}
    done = subprocess.run(  # noqa: S603 — our own scripts
        [str(OPS / script), *args], env=environ, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def row_counts(cursor) -> dict[str, int]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [name for (name,) in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 — catalogue names
        counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_a_fresh_database_with_the_same_rows_and_secrets(
    regions, grid_wogou, media, tmp_path
):
    require_postgres()
    cases = [
        ds.declaration_submit(
            village=regions[WOGOU],
            data=declaration_input(id_number=new_id(n), phone=f"1391234{n:04d}"),
        ).declaration
        for n in range(1, 6)
    ]
    document = VisitDocument(
        declaration=cases[0], kind="hukou", content_type="image/jpeg", uploaded_by=grid_wogou
    )
    document.file.save("hukou.jpg", ContentFile(b"\xff\xd8\xff a household register"))

    backup = run(
        "backup.sh",
        DATABASE_URL=url(connection.settings_dict["NAME"]),
        MEDIA_ROOT=str(media),
        BACKUP_DIR=str(tmp_path / "backups"),
    )
    assert sorted(p.name for p in Path(backup).iterdir()) == [
        "SHA256SUMS",
        "db.dump",
        "media.tar.gz",
    ]

    restored = f"restore_drill_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        restored_media = tmp_path / "restored-media"
        run("restore.sh", backup, DATABASE_URL=url(restored), MEDIA_ROOT=str(restored_media))

        with connection.cursor() as cursor:
            expected = row_counts(cursor)
        with psycopg.connect(url(restored)) as copy, copy.cursor() as cursor:
            assert row_counts(cursor) == expected
            cursor.execute("SELECT id, id_number, phone FROM declarations_declaration ORDER BY id")
            numbers = [(pk, crypto.decrypt(i), crypto.decrypt(p)) for pk, i, p in cursor]
        assert expected["declarations_declaration"] == 5
        assert numbers == [(d.pk, d.id_number, d.phone) for d in Declaration.objects.order_by("pk")]
        assert numbers[0][1] == new_id(1) and numbers[0][2] == "13912340001"
        stored = VisitDocument.objects.get().file.name
        assert (restored_media / stored).read_bytes() == (media / stored).read_bytes()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')


def test_a_restore_refuses_a_damaged_backup(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "db.dump").write_bytes(b"dump")
    (backup / "media.tar.gz").write_bytes(b"media")
    subprocess.run(
        ["/usr/bin/sha256sum", "db.dump", "media.tar.gz"],
        cwd=backup,
        stdout=(backup / "SHA256SUMS").open("w"),
        check=True,
    )
    (backup / "db.dump").write_bytes(b"tampered")
    done = subprocess.run(  # noqa: S603
        [str(OPS / "restore.sh"), str(backup)],
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "MEDIA_ROOT": str(tmp_path / "m"),
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0 and "FAILED" in done.stdout + done.stderr
    assert not (tmp_path / "m").exists()
