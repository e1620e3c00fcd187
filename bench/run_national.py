"""The national system's import at county scale: 100,000 monitored households in one
file, as the national system exports a county's 监测对象信息.

    .venv/bin/python bench/run_national.py                     # a few minutes
    .venv/bin/python bench/run_national.py --households 20000  # a quick try
    .venv/bin/python bench/run_national.py --format xlsx       # the same rows as .xlsx

The file is CSV by default: reading .xlsx goes through openpyxl's read-only parser, which
without lxml reads some thousands of rows a second, far from the target (see
docs/benchmarks.md); the checks, staging and apply are the same for both.

Creates a fresh database (bench_national on the local PostgreSQL; dropped at the end
unless --keep), migrates it and creates one county of 20 townships and 300 villages
(`bench.run_roster.setup_regions`). Generates into a temporary directory (deleted at the
end) two national files with valid ID numbers: 10,000 and 100,000 households (1 to 7
people each, about 4 on average; a third not yet stable, with measures; a fifth with
their risk eliminated). Each measurement runs in a fresh child process with
bench.settings through `NationalImporter.run` (the Celery task's body), end to end:
scan, read and check every row, stage, set-based checks, apply (households, members,
log rows, plans and measures, follow-up visits, clocks), delete the file. Measured:

- wall time of each phase and in all, for 10k and 100k households into an empty
  system, then the same 100k file again (nothing changes);
- peak memory: RSS high-water mark of the child (VmHWM) and, in separate runs, the
  tracemalloc peak, at 10k and at 100k, to show memory flat in the file size.

Prints a summary and writes JSON to bench/results/ (git-ignored).

Target (from the issue): 100,000 households in <= 60 s, memory flat in the file size.
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
from bench.run_roster import COUNTY, village_codes
from bench.series import report_import, run_series, time_phases

ROOT = common.ROOT
PG = common.PG
DB_NAME = common.db_name("national")
TARGET_SECONDS = 60.0
log = common.logger("national")


def child_env(media: Path) -> dict:
    return common.django_env(DB_NAME, CELERY_TASK_ALWAYS_EAGER="true", MEDIA_ROOT=str(media))


# --- data ------------------------------------------------------------------------------


def rows(households: int):
    """The file's rows, the header first."""
    from apps.core.identity import id_check_digit
    from apps.households.national import COLUMNS

    yield [c.header for c in COLUMNS]
    codes = village_codes()
    relations = ["户主", "配偶", "子女", "子女", "父母", "孙子女", "儿媳"]
    labour = ["普通劳动力", "弱劳动力或半劳动力", "丧失劳动力", "技能劳动力"]
    categories = ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
    risks = ["因病", "因病、因残", "因学", "因灾", "因务工就业不稳", "因收入骤减或支出骤增"]
    measures = ["", "健康帮扶、公益岗位", "产业帮扶", "就业帮扶、金融帮扶、教育帮扶"]
    first_day = dt.date(1940, 1, 1)
    today = dt.date.today()
    person = 0
    for h in range(households):
        village = codes[h % len(codes)]
        code = f"{COUNTY[:6]}{h:08d}"
        identified = today - dt.timedelta(days=30 + h % 1500)
        eliminated = h % 5 == 0
        for k in range(1 + (h * 7 + 3) % 7):  # 1..7 people, 4 on average
            birth = first_day + dt.timedelta(days=person % 29_000)
            first17 = f"621102{birth:%Y%m%d}{person // 29_000:03d}"
            head = k == 0
            yield [
                village,
                code,
                "李" + "建国秀英小明桂兰志强玉兰"[person % 6 * 2 : person % 6 * 2 + 2],
                first17 + id_check_digit(first17),
                relations[k],
                labour[person % 4],
                categories[h % 3] if head else "",
                risks[h % 6] if head else "",
                identified.isoformat() if head else "",
                measures[h % 4] if head else "",
                ("已消除" if eliminated else "未消除") if head else "",
                (identified + dt.timedelta(days=20)).isoformat() if head and eliminated else "",
                str(4000 + h % 5000) if head else "",
            ]
            person += 1


def generate(path: Path, households: int, fmt: str) -> int:
    """A national file (xlsx as the national system exports it, or CSV); returns the
    number of person rows."""
    count = -1
    if fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            for row in rows(households):
                writer.writerow(row)
                count += 1
        return count
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("监测对象信息")
    for row in rows(households):
        sheet.append(row)
        count += 1
    book.save(path)
    return count


# --- one measured import (in a child process) ---------------------------------------------


def child(path: str, mode: str) -> None:
    import django

    django.setup()

    from django.core.files import File

    from apps.accounts.models import User
    from apps.core import tabular
    from apps.households import national
    from apps.households.models import NationalImport
    from apps.regions.models import Region

    phases: dict[str, float] = {}
    missing = time_phases(
        phases,
        [
            (tabular, "scan", "scan"),
            (national.NationalImporter, "_stage", "stage_file"),
            *(
                (national, name, name.strip("_"))
                for name in (
                    "_check_stage",
                    "_check_against_households",
                    "_apply",
                    "_members_new",
                    "_enrolment_rows",
                )
            ),
        ],
    )
    county = Region.objects.get(code=COUNTY)
    suffix = Path(path).suffix
    with open(path, "rb") as f:
        imp = NationalImport(
            region=county,
            region_code=county.code,
            original_name=Path(path).name,
            uploaded_by=User.objects.get(username="bench-county"),
        )
        imp.file.save(f"bench{suffix}", File(f), save=False)
        imp.save()
    report_import(
        national.NationalImporter.run,
        imp.pk,
        mode,
        phases,
        missing,
        ("households_created", "households_updated", "members_created", "members_updated"),
    )


def measure(path: Path, mode: str, media: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--mode", mode],
        env=child_env(media),
        capture_output=True,
        text=True,
        check=False,
    )
    if mode == "profile" or os.environ.get("BENCH_TRACE_TOP"):
        sys.stderr.write(proc.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed:\n{proc.stdout}\n{proc.stderr}")


TABLES = (
    "households_planmeasure, households_helpplan, households_followup, "
    "households_householdevent, households_householdmember, households_monitoredhousehold, "
    "deadlines_clock"
)


def truncate() -> None:
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} CASCADE")
        conn.execute(f"VACUUM ANALYZE {TABLES}")


def summary_line(label: str, r: dict) -> str:
    c = r["counts"]
    return (
        f"{label:<30} {r['rows']:>8} rows {r['seconds']:>7.2f} s  "
        f"RSS peak {r['rss_hwm_kb'] / 1024:7.1f} MiB  "
        f"created h/m {c['households_created']}/{c['members_created']}  "
        f"updated {c['households_updated']}/{c['members_updated']}  phases {r['phases']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="csv")
    parser.add_argument("--profile", action="store_true", help="cProfile one large import")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode)
        return 0

    result = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": common.machine(),
        "format": args.format,
    }
    common.recreate_database(DB_NAME)
    tmp = Path(tempfile.mkdtemp(prefix="bench-national-"))
    media = tmp / "media"
    try:
        log("migrating and creating the county")
        subprocess.run(
            [sys.executable, "-c", "import bench.run_roster as r; r.setup_regions()"],
            env=child_env(media),
            cwd=ROOT,
            check=True,
        )
        os.environ.update(child_env(media))
        import django

        django.setup()
        files = {}
        for n in (args.small, args.households):
            path = tmp / f"national-{n}.{args.format}"
            t = time.perf_counter()
            count = generate(path, n, args.format)
            files[n] = path
            log(
                f"generated {n} households, {count} people, {path.stat().st_size / 1e6:.1f} MB "
                f"in {time.perf_counter() - t:.1f} s"
            )
            result.setdefault("files", {})[n] = {"rows": count, "bytes": path.stat().st_size}
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
    out = common.write_result("national", result)
    log(f"written {out.relative_to(ROOT)}")
    return 0 if result.get("target_met") else 1


if __name__ == "__main__":
    sys.exit(main())
