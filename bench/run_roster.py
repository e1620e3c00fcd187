"""The population roster import at county scale: 100,000 households in one CSV file.

    .venv/bin/python bench/run_roster.py                    # about 2 minutes
    .venv/bin/python bench/run_roster.py --households 20000 # a quick try
    .venv/bin/python bench/run_roster.py --profile          # plus cProfile of one run

Creates a fresh database (bench_roster on the local PostgreSQL; dropped at the end
unless --keep), migrates it and creates one county of 20 townships and 300 villages.
Generates into a temporary directory (deleted at the end) two roster CSV files with
valid ID numbers: 10,000 households and 100,000 households (1 to 7 people each, about
4 on average, so about 40,000 and 400,000 rows). Each measurement runs in a fresh child
process with bench.settings, through the service the Celery task calls
(`RosterImporter.run`), end to end: scan, read and check every row, stage, set-based
checks, apply, delete the file. Measured:

- wall time of each phase and in all, for 10k and 100k households into an empty roster,
  then the same 100k file again (nothing changes);
- peak memory: RSS high-water mark of the child (VmHWM) and, in separate runs because
  tracing slows Python, the tracemalloc peak — at 10k and at 100k, to show memory flat
  in the file size.

Prints a summary and writes JSON to bench/results/ (git-ignored).

Target (from the issue): 100,000 households (about 400,000 members) in <= 60 s, memory
flat in the file size.
"""

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from bench.series import report_import, run_series, time_phases

ROOT = common.ROOT
PG = common.PG
DB_NAME = common.db_name("roster")
COUNTY = "621102000000"
TOWNSHIPS = 20
VILLAGES_PER_TOWNSHIP = 15
TARGET_SECONDS = 60.0
log = common.logger("roster")
machine = common.machine


def child_env(media: Path) -> dict:
    return common.django_env(DB_NAME, CELERY_TASK_ALWAYS_EAGER="true", MEDIA_ROOT=str(media))


# --- data ------------------------------------------------------------------------------


def village_codes() -> list[str]:
    return [
        f"{COUNTY[:6]}{100 + t:03d}{200 + v:03d}"
        for t in range(1, TOWNSHIPS + 1)
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1)
    ]


def setup_regions() -> None:
    """One province, city and county; 20 townships of 15 villages."""
    import django

    django.setup()
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.regions.models import Level, Region

    call_command("migrate", "--noinput", verbosity=0)
    province = Region.objects.create(code="620000000000", name="甘肃省", level=Level.PROVINCE)
    city = Region.objects.create(
        code="621100000000", name="定西市", level=Level.CITY, parent=province
    )
    county = Region.objects.create(code=COUNTY, name="安定区", level=Level.COUNTY, parent=city)
    villages = []
    for t in range(1, TOWNSHIPS + 1):
        township = Region.objects.create(
            code=f"{COUNTY[:6]}{100 + t:03d}000",
            name=f"第{t}镇",
            level=Level.TOWNSHIP,
            parent=county,
        )
        for v in range(1, VILLAGES_PER_TOWNSHIP + 1):
            villages.append(
                Region(
                    code=f"{COUNTY[:6]}{100 + t:03d}{200 + v:03d}",
                    name=f"第{t}镇{v}村",
                    level=Level.VILLAGE,
                    parent=township,
                )
            )
    Region.objects.bulk_create(villages)
    User.objects.create_user(username="bench-county", password="bench-only-password")


def generate(path: Path, households: int) -> int:
    """A roster CSV as Excel would save it; returns the number of person rows."""
    from apps.core.identity import id_check_digit
    from apps.households.roster import COLUMNS

    codes = village_codes()
    relations = ["户主", "配偶", "子女", "子女", "父母", "孙子女", "儿媳"]
    labour = ["全部", "部分", "无", "有劳动力", "弱劳动力", "丧失劳动力"]
    schooling = ["", "", "", "小学", "初中", "高中", "大专"]
    first_day = dt.date(1940, 1, 1)
    person = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([c.header for c in COLUMNS])
        for h in range(households):
            village = codes[h % len(codes)]
            number = f"{h // len(codes) + 1:05d}"
            for k in range(1 + (h * 7 + 3) % 7):  # 1..7 people, 4 on average
                # Unique by (birth date, sequence): 29,000 days x 1,000 sequences.
                birth = first_day + dt.timedelta(days=person % 29_000)
                first17 = f"621102{birth:%Y%m%d}{person // 29_000:03d}"
                writer.writerow(
                    [
                        village,
                        number,
                        "王" + "建国秀英小明桂兰志强玉兰"[person % 6 * 2 : person % 6 * 2 + 2],
                        first17 + id_check_digit(first17),
                        relations[k],
                        labour[person % 6],
                        "健康" if person % 5 else "长期慢性病",
                        "" if person % 17 else str(person % 4 + 1),
                        schooling[person % 7] if k >= 2 else "",
                        "是" if h % 3 == 0 else "否",
                        f"{h % 9 + 1}组",
                    ]
                )
                person += 1
    return person


# --- one measured import (in a child process) ---------------------------------------------


def child(path: str, mode: str) -> None:
    import django

    django.setup()

    from django.core.files import File

    from apps.accounts.models import User
    from apps.core import tabular
    from apps.households import roster
    from apps.households.models import RosterImport
    from apps.regions.models import Region

    phases: dict[str, float] = {}
    missing = time_phases(
        phases,
        [
            (tabular, "scan", "scan"),
            (roster.RosterImporter, "_stage", "stage_file"),
            *(
                (roster, name, name.strip("_"))
                for name in ("_check_stage", "_check_against_roster", "_apply")
            ),
        ],
    )

    statements: dict[str, list] = {}

    def timed_sql(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split())[:90]
            entry = statements.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - t

    from django.db import connection

    connection.execute_wrappers.append(timed_sql)
    county = Region.objects.get(code=COUNTY)
    with open(path, "rb") as f:
        imp = RosterImport(
            region=county,
            region_code=county.code,
            original_name=Path(path).name,
            uploaded_by=User.objects.get(username="bench-county"),
        )
        imp.file.save("bench.csv", File(f), save=False)
        imp.save()
    report_import(
        roster.RosterImporter.run,
        imp.pk,
        mode,
        phases,
        missing,
        (
            "households_created",
            "households_updated",
            "members_created",
            "members_updated",
            "members_removed",
        ),
        slowest_sql=lambda: sorted(
            ([round(v[1], 2), v[0], k] for k, v in statements.items()), reverse=True
        )[:8],
    )


def measure(path: Path, mode: str, media: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--mode", mode],
        env=child_env(media),
        capture_output=True,
        text=True,
        check=False,
    )
    if mode == "profile":
        sys.stderr.write(proc.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed:\n{proc.stdout}\n{proc.stderr}")


def truncate() -> None:
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("TRUNCATE households_rostermember, households_rosterhousehold CASCADE")
        conn.execute("VACUUM ANALYZE households_rostermember, households_rosterhousehold")


def summary_line(label: str, r: dict) -> str:
    c = r["counts"]
    return (
        f"{label:<28} {r['rows']:>8} rows {r['seconds']:>7.2f} s  "
        f"RSS peak {r['rss_hwm_kb'] / 1024:7.1f} MiB  "
        f"created h/m {c['households_created']}/{c['members_created']}  "
        f"updated {c['households_updated']}/{c['members_updated']}  phases {r['phases']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="cProfile one large import")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode)
        return 0

    result = {"started": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine()}
    common.recreate_database(DB_NAME)
    tmp = Path(tempfile.mkdtemp(prefix="bench-roster-"))
    media = tmp / "media"
    try:
        log("migrating and creating the county")
        _setup(media)
        os.environ.update(child_env(media))
        import django

        django.setup()
        files = {}
        for n in (args.small, args.households):
            path = tmp / f"roster-{n}.csv"
            t = time.perf_counter()
            rows = generate(path, n)
            files[n] = path
            log(
                f"generated {n} households, {rows} people, {path.stat().st_size / 1e6:.1f} MB "
                f"in {time.perf_counter() - t:.1f} s"
            )
            result.setdefault("files", {})[n] = {"rows": rows, "bytes": path.stat().st_size}

        run_series(
            files=files,
            small=args.small,
            big=args.households,
            unit="households",
            again="again (no change)",
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
    out = common.write_result("roster", result)
    log(f"written {out.relative_to(ROOT)}")
    return 0 if result.get("target_met") else 1


def _setup(media: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", "import bench.run_roster as r; r.setup_regions()"],
        env=child_env(media),
        cwd=ROOT,
        check=True,
    )


if __name__ == "__main__":
    sys.exit(main())
