"""The nightly data-quality run at province scale: 1,000,000 roster households and
4,000,000 people.

    .venv/bin/python bench/run_quality.py                       # 250k and 1M households
    .venv/bin/python bench/run_quality.py --sizes 20000         # a quick try
    .venv/bin/python bench/run_quality.py --full-id-check       # plus the first-ever run

Creates a fresh database (bench_quality; dropped at the end unless --keep), migrates it
and fills it with set-based SQL, like the other seeds: 16,000 villages; N roster
households of 4 members each; a monitored household for every tenth roster household
(its 4 members, the same people), with an income record, a help plan of two measures
and the enrolled declaration with its documents; and the county lines. About 1 % of
the rows carry one of the problems the rules look for (a wrong check digit, a person in
two households, a number held by two people, a wrong household size, a dead member
still listed, income against the line, no plan, a measure without evidence, a missing
document), so the run raises real items.

A previous night's run is recorded as having checked the ID numbers of all but the
newest 1 % of the rows (services.run keeps these marks): a nightly run decrypts only
what is new. Measured in a fresh child process (bench.settings), through the service
the Celery task calls (`run_rules()`, all rules, the whole province):

- night 1: every problem is new: the items and their clocks are written;
- night 2: the same problems again: every item is seen, none duplicated;
- night 3, traced: tracemalloc's peak;
with the child's RSS high-water mark (VmHWM) each time, at two sizes, to show memory
flat in the data size. With --full-id-check, also a run that decrypts every ID number
(the first run ever, with no marks).

Prints a summary and writes JSON to bench/results/ (git-ignored).

Target: the nightly run over 1 M households and 4 M people in <= 180 s, memory flat.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common
from bench.series import vm

ROOT = common.ROOT
PG = common.PG
DB_NAME = common.db_name("quality")
TARGET_SECONDS = 180.0
log = common.logger("quality")

REGIONS_SQL = [
    """INSERT INTO regions_region (code, name, level, parent_id)
       VALUES ('620000000000', '甘肃省', 1, NULL)""",
    """INSERT INTO regions_region (code, name, level, parent_id)
       SELECT '62' || lpad(c::text, 2, '0') || '00000000', '第' || c || '市', 2, p.id
       FROM generate_series(1, 14) c, regions_region p WHERE p.code = '620000000000'""",
    """INSERT INTO regions_region (code, name, level, parent_id)
       SELECT left(p.code, 4) || lpad((k / 14 + 1)::text, 2, '0') || '000000',
              p.name || '第' || (k / 14 + 1) || '县', 3, p.id
       FROM generate_series(0, 85) k
       JOIN regions_region p ON p.code = '62' || lpad((k % 14 + 1)::text, 2, '0') || '00000000'""",
    """CREATE TEMP TABLE g_county AS
       SELECT row_number() OVER (ORDER BY code) - 1 AS idx, id, code
       FROM regions_region WHERE level = 3""",
    """INSERT INTO regions_region (code, name, level, parent_id)
       SELECT left(c.code, 6) || (101 + t / 86)::text || '000', '第' || t || '镇', 4, c.id
       FROM generate_series(0, 1199) t JOIN g_county c ON c.idx = t % 86""",
    """CREATE TEMP TABLE g_township AS
       SELECT row_number() OVER (ORDER BY code) - 1 AS idx, id, code
       FROM regions_region WHERE level = 4""",
    """INSERT INTO regions_region (code, name, level, parent_id)
       SELECT left(w.code, 9) || (201 + v / 1200)::text, '第' || v || '村', 5, w.id
       FROM generate_series(0, 15999) v JOIN g_township w ON w.idx = v % 1200""",
    """CREATE UNLOGGED TABLE g_village AS
       SELECT (row_number() OVER (ORDER BY code) - 1)::int AS idx, id, code
       FROM regions_region WHERE level = 5""",
    "CREATE UNIQUE INDEX ON g_village (idx)",
]

TOKENS = "SELECT array_agg(id_number ORDER BY n) AS a FROM g_token"
NAMES = (
    "(ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴','马','孙'])[{x} % 12 + 1]"
    " || (ARRAY['建国','秀英','小明','桂兰','志强','玉兰','永福','海燕'])[{x} / 12 % 8 + 1]"
)


def data_sql(n: int, user_id: int, tokens: int) -> list[tuple[str, str]]:
    """(step, SQL) filling the database for `n` roster households. Token n < tokens is
    a valid ID number; token `tokens` is one with a wrong check digit."""
    m = n // 10  # monitored households: roster household 10j is monitored household j
    bad = tokens
    return [
        (
            "roster households",
            f"""INSERT INTO households_rosterhousehold
                (id, village_id, region_code, number, head_name, address_group,
                 formerly_poor, updated_at)
            SELECT i, v.id, v.code, lpad(i::text, 10, '0'), {NAMES.format(x="i")}, '1组',
                   i % 3 = 0, now() - interval '3 days'
            FROM generate_series(1, {n}) i JOIN g_village v ON v.idx = i % 16000""",
        ),
        (
            "roster members",
            f"""INSERT INTO households_rostermember
                (id, household_id, name, relation, id_number, id_hash, labour_capacity,
                 health, disability_grade, schooling)
            SELECT p, (p - 1) / 4 + 1, {NAMES.format(x="p")}, '户主',
                   tk.a[CASE WHEN p % 1000 = 7 THEN {bad} ELSE p % {tokens} END + 1],
                   encode(sha256(('id:' || p)::bytea), 'hex'), 'full', '', NULL, 'none'
            FROM generate_series(1, {n} * 4) p, ({TOKENS}) tk""",
        ),
        (
            "monitored households",
            f"""INSERT INTO households_monitoredhousehold
                (id, village_id, region_code, head_name, head_id_number, head_id_hash,
                 risk_types, per_capita_income, enrolled_at, enrolled_by_id, category, status,
                 monitoring_since, eliminated_at, industry_willing, national_code, imported,
                 national_recorded_at, roster_household_id, split_from_id, merged_into_id)
            SELECT j, r.village_id, r.region_code, r.head_name, tk.a[j % {tokens} + 1],
                   encode(sha256(('head:' || j)::bytea), 'hex'),
                   CASE WHEN j % 500 = 3 THEN '[]' ELSE '["illness"]' END::jsonb,
                   CASE WHEN j % 3 = 0 THEN CASE WHEN j % 100 = 0 THEN 5000 ELSE 8000 END
                        ELSE 4000 + (j % 7) * 1000 END,
                   now() - interval '60 days', {user_id}, 'sudden',
                   CASE WHEN j % 3 = 0 THEN 'eliminated' ELSE 'monitoring' END,
                   now() - interval '60 days',
                   CASE WHEN j % 3 = 0 THEN now() - interval '5 days' END,
                   false, NULL, false, NULL, r.id, NULL, NULL
            FROM generate_series(1, {m}) j
            JOIN households_rosterhousehold r ON r.id = j * 10
            CROSS JOIN ({TOKENS}) tk""",
        ),
        (
            "household members",
            f"""INSERT INTO households_householdmember
                (household_id, name, relation, id_number, id_hash, labour_capacity, health,
                 disability_grade, schooling, has_skills, joined_on, left_on, left_reason)
            SELECT h.id, rm.name, rm.relation,
                   CASE WHEN rm.id % 1000 = 11 THEN b.id_number ELSE rm.id_number END,
                   rm.id_hash, 'full', '', NULL, 'none', false, NULL, NULL, ''
            FROM households_monitoredhousehold h
            JOIN households_rostermember rm ON rm.household_id = h.roster_household_id
            CROSS JOIN (SELECT id_number FROM g_token WHERE n = {bad}) b
            ORDER BY h.id, rm.id""",
        ),
        # One person in two households (the same name), one number held by two people
        # (another name): a member takes the number of a member of the next roster
        # household.
        (
            "shared numbers",
            """UPDATE households_householdmember hm
               SET id_hash = o.id_hash,
                   name = CASE WHEN hm.household_id % 2000 = 7 THEN '另' || hm.name
                               ELSE o.name END
               FROM households_monitoredhousehold h, households_rostermember o
               WHERE h.id = hm.household_id AND o.household_id = h.roster_household_id + 1
                 AND (h.id % 1000 = 5 OR h.id % 2000 = 7)
                 AND hm.relation = '户主' AND o.id % 4 = 0
                 AND hm.id = (SELECT min(x.id) FROM households_householdmember x
                              WHERE x.household_id = h.id)""",
        ),
        # A member who died, still listed in another roster household.
        (
            "dead members",
            """INSERT INTO households_householdmember
                (household_id, name, relation, id_number, id_hash, labour_capacity, health,
                 disability_grade, schooling, has_skills, joined_on, left_on, left_reason)
            SELECT h.id, o.name, '父亲', o.id_number, o.id_hash, 'none', '', NULL, 'none',
                   false, NULL, current_date - 40, 'died'
            FROM households_monitoredhousehold h
            JOIN households_rostermember o ON o.household_id = h.roster_household_id + 3
                 AND o.id % 4 = 1
            WHERE h.id % 1000 = 9""",
        ),
        (
            "income records",
            f"""INSERT INTO households_incomerecord
                (household_id, period_start, period_end, net_income, household_size,
                 per_capita, source, recorded_by_id, recorded_at)
            SELECT h.id, current_date - 365, current_date - 30, h.per_capita_income * 4,
                   CASE WHEN h.id % 50 = 0 THEN 5 ELSE 4 END, h.per_capita_income,
                   'enrolment', {user_id}, now() - interval '60 days'
            FROM households_monitoredhousehold h""",
        ),
        (
            "help plans",
            f"""INSERT INTO households_helpplan
                (id, household_id, region_code, state, returned_reason, created_at,
                 approved_at, approved_by_id)
            SELECT h.id, h.id, h.region_code, 'approved', '', now() - interval '58 days',
                   now() - interval '50 days', {user_id}
            FROM households_monitoredhousehold h WHERE h.id % 50 <> 1""",
        ),
        (
            "measures",
            """INSERT INTO households_planmeasure
                (plan_id, policy_id, kind, title, details, responsible, amount, time_bound,
                 start_on, end_on, status, delivered_on, evidence_note, evidence_id,
                 green_channel, created_at)
            SELECT p.id, NULL, 'medical', CASE WHEN k = 0 THEN '医疗救助' ELSE '公益岗位' END,
                   '', '王书记', 1000, k = 1, current_date - 50,
                   CASE WHEN k = 0 THEN current_date - 10 ELSE current_date + 100 END,
                   'delivered', current_date - 20,
                   CASE WHEN p.id % 100 = 2 AND k = 0 THEN '' ELSE '发放记录' END, NULL,
                   false, now() - interval '58 days'
            FROM households_helpplan p, generate_series(0, 1) k""",
        ),
        (
            "declarations",
            """INSERT INTO declarations_declaration (
                id, tracking_number, state, channel, region_code, name, phone, phone_hash,
                id_number, id_hash, address_group, address_house, difficulties, description,
                on_behalf, declarant_name, declarant_phone, declarant_phone_hash,
                declarant_relation, submission_token, submitted_at, created_by_id,
                village_id, merged_into_id, rejected_at_level, rejection_reason,
                household_id, roster_household_id)
            SELECT h.id, '8' || lpad(h.id::text, 11, '0'), 'enrolled', 'qr', h.region_code,
                   h.head_name, '', encode(sha256(('mobile:' || h.id)::bytea), 'hex'),
                   h.head_id_number, h.head_id_hash, '1组', '', '["illness"]'::jsonb, '',
                   false, '', '', '', '', NULL, now() - interval '80 days', NULL,
                   h.village_id, NULL, '', '', h.id, h.roster_household_id
            FROM households_monitoredhousehold h""",
        ),
        (
            "documents",
            f"""INSERT INTO declarations_visitdocument
                (declaration_id, kind, file, content_type, sha256, original_name,
                 uploaded_by_id, uploaded_at)
            SELECT d.id, k, 'documents/x.jpg', 'image/jpeg', repeat('0', 64), '', {user_id},
                   now() - interval '70 days'
            FROM declarations_declaration d,
                 unnest(ARRAY['hukou', 'id_card', 'minutes', 'consent']) k
            WHERE NOT (k = 'minutes' AND d.id % 100 = 3)""",
        ),
        (
            "consents",
            """INSERT INTO declarations_consent
                (declaration_id, notice_version, given_at, channel, given_by, document_id,
                 recorded_by_id)
            SELECT v.declaration_id, 'v1', v.uploaded_at, 'home_visit', 'applicant', v.id,
                   v.uploaded_by_id
            FROM declarations_visitdocument v WHERE v.kind = 'consent'""",
        ),
        (
            "lines",
            """INSERT INTO households_monitoringthreshold (county_id, year, amount)
            SELECT id, extract(year FROM current_date), 6000
            FROM regions_region WHERE level = 3""",
        ),
    ]


SEQUENCES = [
    ("households_rosterhousehold", "id"),
    ("households_rostermember", "id"),
    ("households_monitoredhousehold", "id"),
    ("households_householdmember", "id"),
    ("households_helpplan", "id"),
    ("declarations_declaration", "id"),
]


def seed(n: int) -> dict:
    """Migrate and fill the database for `n` roster households (in this process)."""
    import django

    django.setup()
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.core import crypto
    from apps.core.identity import id_check_digit

    steps: dict[str, float] = {}
    t_all = time.perf_counter()
    call_command("migrate", "--noinput", verbosity=0)
    user = User.objects.create_user(username="bench", password=None)
    tokens = []
    for k in range(64):
        first17 = f"620102{1950 + k % 50}0{k % 9 + 1}1{k % 9}{k:03d}"[:17]
        tokens.append((k, crypto.encrypt(first17 + id_check_digit(first17))))
    first17 = "62010219800101123"
    wrong = "0" if id_check_digit(first17) != "0" else "1"
    tokens.append((len(tokens), crypto.encrypt(first17 + wrong)))
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET session_replication_role = replica")
        t = time.perf_counter()
        for sql in REGIONS_SQL:
            conn.execute(sql)
        conn.execute("CREATE UNLOGGED TABLE g_token (n int PRIMARY KEY, id_number text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO g_token VALUES (%s, %s)", tokens)
        steps["regions"] = round(time.perf_counter() - t, 1)
        for name, sql in data_sql(n, user.pk, len(tokens) - 1):
            t = time.perf_counter()
            conn.execute(sql)
            steps[name] = round(time.perf_counter() - t, 1)
            log(f"  {name}: {steps[name]:.1f} s")
        for table, column in SEQUENCES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                f" (SELECT coalesce(max({column}), 1) FROM {table}))"
            )
        conn.execute("DROP TABLE g_token, g_village")
        conn.execute("SET session_replication_role = origin")
        t = time.perf_counter()
        conn.execute("VACUUM (ANALYZE)")
        steps["vacuum analyze"] = round(time.perf_counter() - t, 1)
    steps["total"] = round(time.perf_counter() - t_all, 1)
    return steps


def mark_previous_night(conn, share_new: float) -> None:
    """Record a finished run of yesterday that checked the ID numbers of all but the
    newest `share_new` of the rows."""
    conn.execute("DELETE FROM quality_qualityrun")
    conn.execute(
        """INSERT INTO quality_qualityrun
           (region_code, rules, round_id, started_by_id, started_at, finished_at,
            roster_member_checked_upto, household_member_checked_upto, counts)
           SELECT '', '[]', NULL, NULL, now() - interval '1 day',
                  now() - interval '1 day' + interval '2 minutes',
                  (SELECT max(id) * %(keep)s FROM households_rostermember)::bigint,
                  (SELECT max(id) * %(keep)s FROM households_householdmember)::bigint,
                  '{}'""",
        {"keep": 1 - share_new},
    )


def counts(conn) -> dict:
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in (
            "households_rosterhousehold",
            "households_rostermember",
            "households_monitoredhousehold",
            "households_householdmember",
            "households_planmeasure",
            "declarations_declaration",
            "declarations_visitdocument",
        )
    }


# --- the measured child --------------------------------------------------------------------


def child(mode: str) -> None:
    import django

    django.setup()
    from apps.quality.models import QualityItem
    from apps.quality.services import run_rules

    rss_before = vm("VmRSS")
    if mode == "trace":
        tracemalloc.start()
    t = time.perf_counter()
    run = run_rules()
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] if mode == "trace" else None
    out = {
        "mode": mode,
        "seconds": round(seconds, 1),
        "counts": run.counts,
        "open_items": QualityItem.objects.open().count(),
        "tracemalloc_peak_kb": round(peak / 1024) if peak is not None else None,
        "rss_before_kb": rss_before,
        "rss_hwm_kb": vm("VmHWM"),
    }
    print("RESULT " + json.dumps(out, ensure_ascii=False), flush=True)


def measure(mode: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", mode],
        cwd=ROOT,
        env=common.django_env(DB_NAME),
        capture_output=True,
        text=True,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(proc.stderr[-3000:])


def one_size(n: int, full_id_check: bool) -> dict:
    common.recreate_database(DB_NAME)
    log(f"seeding {n} roster households")
    env = common.django_env(DB_NAME)
    seeded = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--seed", str(n)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if seeded.returncode:
        raise RuntimeError(seeded.stderr[-3000:])
    print(seeded.stdout, end="")
    steps = json.loads(seeded.stdout.strip().splitlines()[-1])
    runs = []
    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        sizes = counts(conn)
        log(f"  rows: {sizes}")
        if full_id_check:
            conn.execute("DELETE FROM quality_qualityrun")
            r = measure("time")
            r["label"] = "first run ever (every ID number decrypted)"
            runs.append(r)
            log(f"  {r['label']}: {r['seconds']} s, RSS peak {r['rss_hwm_kb']} KiB")
            for table in ("quality_itemevent", "deadlines_clock", "quality_qualityitem"):
                conn.execute(f"DELETE FROM {table}")
        for label, mode in (
            ("night 1 (every problem new)", "time"),
            ("night 2 (the same problems: seen again)", "time"),
            ("night 3, traced", "trace"),
        ):
            mark_previous_night(conn, 0.01)
            conn.execute(
                "UPDATE households_rosterhousehold SET updated_at = now() - interval '3 days'"
            )
            r = measure(mode)
            r["label"] = label
            runs.append(r)
            traced = r["tracemalloc_peak_kb"]
            log(
                f"  {label}: {r['seconds']} s, RSS peak {r['rss_hwm_kb']} KiB"
                + (f", tracemalloc peak {traced} KiB" if traced else "")
                + f", open items {r['open_items']}"
            )
    return {"households": n, "rows": sizes, "seed_seconds": steps, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--full-id-check", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    if args.seed:
        print(json.dumps(seed(args.seed)))
        return 0
    result = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": common.machine(),
        "sizes": [],
    }
    for n in args.sizes:
        result["sizes"].append(one_size(n, args.full_id_check))
    result["machine"]["loadavg_end"] = os.getloadavg()
    biggest = result["sizes"][-1]
    night = biggest["runs"][-3]["seconds"]
    result["target_met"] = night <= TARGET_SECONDS
    log(
        f"target: nightly run over {biggest['households']} households in {night} s "
        f"(<= {TARGET_SECONDS:.0f} s: {'met' if result['target_met'] else 'MISSED'})"
    )
    path = common.write_result("quality", result)
    log(f"written {path}")
    if not args.keep:
        common.drop_database(DB_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
