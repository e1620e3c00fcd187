"""Department screening at county scale: 100,000 medical records against a roster of
1,000,000 people.

    .venv/bin/python bench/run_screening.py                  # about 2 minutes
    .venv/bin/python bench/run_screening.py --records 20000  # a quick try
    .venv/bin/python bench/run_screening.py --profile        # plus cProfile of one run

Creates a fresh database (bench_screening on the local PostgreSQL; dropped at the end
unless --keep), migrates it, creates one county of 20 townships and 300 villages
(`bench.run_roster.setup_regions`) and loads a roster of 250,000 households and
1,000,000 people with COPY (not measured: generating the roster is not the import).
Generates two medical CSV files as a medical-insurance bureau would export them:
10,000 and 100,000 records, 85 % of people of the roster and 15 % of others (town
dwellers, other counties), 7 % over the county's out-of-pocket line. Each measurement
runs in a fresh child process with bench.settings, through the service the Celery task
calls (`FeedImporter.run`), end to end: scan, read and check every row (ID check digit,
dates, amounts), hash, stage, match by keyed hash, the rule, the records, the warnings
with their clocks and SMS rows, the file's deletion. Measured:

- wall time of each phase and in all: 10k into an empty screening, 100k into an empty
  screening, the same 100k records again (nothing new);
- peak memory: RSS high-water mark of the child (VmHWM) and, in separate runs because
  tracing slows Python, the tracemalloc peak — at 10k and at 100k, to show memory flat
  in the file size.

Prints a summary and writes JSON to bench/results/ (git-ignored).

Target (from the issue): 100,000 records against 1,000,000 people in <= 30 s end to
end, memory flat in the file size.
"""

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from bench.run_roster import village_codes
from bench.series import report_import, run_series, time_phases

ROOT = common.ROOT
PG = common.PG
DB_NAME = common.db_name("screening")
COUNTY = "621102000000"
HOUSEHOLDS = 250_000
PEOPLE_PER_HOUSEHOLD = 4
TARGET_SECONDS = 30.0
log = common.logger("screening")


def child_env(media: Path) -> dict:
    return common.django_env(DB_NAME, CELERY_TASK_ALWAYS_EAGER="true", MEDIA_ROOT=str(media))


def person_id(n: int) -> str:
    """The n-th person's ID number (安定区, born 1940 onwards; unique up to 29M)."""
    from apps.core.identity import id_check_digit

    birth = dt.date(1940, 1, 1) + dt.timedelta(days=n % 29_000)
    first17 = f"621102{birth:%Y%m%d}{n // 29_000:03d}"
    return first17 + id_check_digit(first17)


def outsider_id(n: int) -> str:
    from apps.core.identity import id_check_digit

    birth = dt.date(1950, 1, 1) + dt.timedelta(days=n % 20_000)
    first17 = f"620102{birth:%Y%m%d}{n // 20_000:03d}"
    return first17 + id_check_digit(first17)


# --- setup (a child process) -------------------------------------------------------------


def setup() -> None:
    """Regions, the department, and the roster loaded with COPY."""
    from bench.run_roster import setup_regions

    setup_regions()  # migrates, and calls django.setup()
    from django.db import connection

    from apps.accounts.models import User
    from apps.core import crypto
    from apps.regions.models import Region
    from apps.screening.models import Department, DepartmentMember

    county = Region.objects.get(code=COUNTY)
    department = Department.objects.create(
        code="anding-yibao", name="安定区医疗保障局", region=county, kinds=["medical"]
    )
    DepartmentMember.objects.create(
        user=User.objects.get(username="bench-county"), department=department
    )
    villages = dict(Region.objects.filter(level=5).values_list("code", "pk"))
    codes = village_codes()
    hasher = crypto.keyed_hasher("id")
    # Every member shares one ciphertext: the import never reads it, and encrypting a
    # million numbers would only slow the setup.
    token = crypto.encrypt("000000000000000000")
    t = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            "COPY households_rosterhousehold (id, village_id, region_code, number, head_name, "
            "address_group, formerly_poor, updated_at) FROM STDIN"
        ) as copy:
            now = dt.datetime.now(dt.UTC)
            for h in range(1, HOUSEHOLDS + 1):
                code = codes[h % len(codes)]
                copy.write_row(
                    (
                        h,
                        villages[code],
                        code,
                        f"{h:06d}",
                        "王建国",
                        f"{h % 9 + 1}组",
                        h % 3 == 0,
                        now,
                    )
                )
        labour = ["full", "partial", "none", "full"]
        with raw.copy(
            "COPY households_rostermember (household_id, name, relation, id_number, id_hash, "
            "labour_capacity, health, disability_grade, schooling) FROM STDIN"
        ) as copy:
            n = 0
            for h in range(1, HOUSEHOLDS + 1):
                for k in range(PEOPLE_PER_HOUSEHOLD):
                    copy.write_row(
                        (
                            h,
                            "王秀英",
                            "户主" if k == 0 else "子女",
                            token,
                            hasher(person_id(n)),
                            labour[(n + k) % 4],
                            "",
                            None,
                            "none",
                        )
                    )
                    n += 1
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('households_rosterhousehold', 'id'), %s)",
            [HOUSEHOLDS],
        )
        cursor.execute("VACUUM ANALYZE households_rosterhousehold")
        cursor.execute("VACUUM ANALYZE households_rostermember")
    print(f"roster loaded: {n} people in {time.perf_counter() - t:.1f} s", flush=True)


def generate(path: Path, records: int, seed: int) -> dict:
    """A medical CSV; returns how many rows are of the roster and over the line."""
    rng = random.Random(seed)
    people = HOUSEHOLDS * PEOPLE_PER_HOUSEHOLD
    today = dt.date(2026, 11, 30)
    stats = {"rows": records, "of_roster": 0, "over_line": 0}
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["身份证号", "姓名", "就诊日期", "医疗总费用", "个人自付"])
        for _i in range(records):
            if rng.random() < 0.85:
                number = person_id(rng.randrange(people))
                stats["of_roster"] += 1
            else:
                number = outsider_id(rng.randrange(2_000_000))
            over = rng.random() < 0.07
            paid = rng.randint(10_000, 60_000) if over else rng.randint(50, 9_000)
            stats["over_line"] += over
            total = paid + rng.randint(1, 80_000)
            when = today - dt.timedelta(days=rng.randrange(300))
            writer.writerow([number, "王秀英", when.isoformat(), f"{total}.00", f"{paid}.50"])
    return stats


# --- one measured import (a child process) ----------------------------------------------


def child(path: str, mode: str) -> None:
    import django

    django.setup()

    from django.core.files import File

    from apps.core import tabular
    from apps.screening.feeds import batches, matching
    from apps.screening.models import Department, FeedBatch

    phases: dict[str, float] = {}
    missing = time_phases(
        phases,
        [
            (tabular, "scan", "scan"),
            (batches.FeedImporter, "_stage", "read_check_stage"),
            (matching.Applier, "run", "apply"),
            (matching, "_people", "apply: match people"),
            (matching, "warnings_raise", "apply: raise warnings"),
            (matching.Applier, "_insert", "apply: insert records"),
            (matching.PlaintextReader, "id_number", "apply: plaintext pass"),
        ],
    )

    department = Department.objects.get(code="anding-yibao")
    with open(path, "rb") as f:
        batch = FeedBatch(
            department=department,
            kind="medical",
            batch_id=f"bench-{time.time_ns()}",
            source="upload",
            original_name=Path(path).name,
        )
        batch.file.save("bench.csv", File(f), save=False)
        batch.save()
    report_import(
        batches.FeedImporter.run,
        batch.pk,
        mode,
        phases,
        missing,
        ("records_matched", "records_new", "warnings_raised", "warnings_merged"),
    )


def measure(path: Path, mode: str, media: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--mode", mode],
        env=child_env(media),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if mode == "profile":
        sys.stderr.write(proc.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed:\n{proc.stdout}\n{proc.stderr}")


def truncate() -> None:
    """Back to no records and no warnings (the roster stays)."""
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute(
            "TRUNCATE screening_warningsource, screening_warning, screening_feedrecord, "
            "screening_feedbatch, deadlines_clock, notifications_message CASCADE"
        )


def summary_line(label: str, r: dict) -> str:
    c = r["counts"]
    return (
        f"{label:<30} {r['rows']:>7} rows {r['seconds']:>6.2f} s  "
        f"RSS peak {r['rss_hwm_kb'] / 1024:6.1f} MiB  matched {c['records_matched']} "
        f"new {c['records_new']} warnings {c['warnings_raised']}+{c['warnings_merged']}  "
        f"phases {r['phases']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="cProfile one large import")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode)
        return 0

    result = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine(),
    }
    common.recreate_database(DB_NAME)
    tmp = Path(tempfile.mkdtemp(prefix="bench-screening-"))
    media = tmp / "media"
    try:
        log("migrating, creating the county and loading the roster")
        subprocess.run(
            [sys.executable, "-c", "import bench.run_screening as r; r.setup()"],
            env=child_env(media),
            cwd=ROOT,
            check=True,
        )
        os.environ.update(child_env(media))
        import django

        django.setup()
        files = {}
        for n, seed in ((args.small, 1), (args.records, 2)):
            path = tmp / f"medical-{n}.csv"
            stats = generate(path, n, seed)
            files[n] = path
            stats["bytes"] = path.stat().st_size
            result.setdefault("files", {})[n] = stats
            log(f"generated {stats}")

        run_series(
            files=files,
            small=args.small,
            big=args.records,
            unit="records",
            again="again (nothing new)",
            measure=measure,
            truncate=truncate,
            summary_line=summary_line,
            log=log,
            result=result,
            target_seconds=TARGET_SECONDS,
            profile=args.profile,
            media=media,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep:
            common.drop_database(DB_NAME)
    out = common.write_result("screening", result)
    log(f"written {out.relative_to(ROOT)}")
    return 0 if result.get("target_met") else 1


if __name__ == "__main__":
    sys.exit(main())
