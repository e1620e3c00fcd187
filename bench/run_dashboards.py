"""Dashboards and the deadline sweep at province scale, in one run.

    .venv/bin/python bench/run_dashboards.py                 # 6-7 minutes
    .venv/bin/python bench/run_dashboards.py --declarations 100000   # a quick try
    .venv/bin/python bench/run_dashboards.py --reuse         # keep the data: 3-4 minutes
    .venv/bin/python bench/run_dashboards.py --declarations 3000000 --no-sweep  # ~15 min

Creates a fresh database (bench_dash on the local PostgreSQL), migrates it and generates
with set-based SQL a province of 1 province, 14 cities, 86 counties, 1,200 townships and
16,000 villages, and 1,000,000 declarations over the last 3 years with their clocks
(acceptance-and-visit, feedback, enrolment). Then, in this process, with bench.settings:

- the supervision dashboard (`supervision:region`, the unmodified view) for a province
  user and a county user, for the last 12 months and for this month: warm-ups, then
  measured requests through Django's test client, interleaved; p50/p95/max;
- `region_figures`, `late_cases` and `weekly_trend` alone, and every SQL statement of one
  request of each page (CaptureQueriesContext), with EXPLAIN (ANALYZE, BUFFERS) of the
  slowest;
- the refresh of the dashboards' summary tables (`figures_refresh`): a full rebuild,
  then the incremental refresh Celery runs every few minutes (the last 120 days),
  before the pages are measured (they read the summaries), and what the refresh task
  then adds: the figures of the province's, cities' and counties' pages for each
  preset period computed by the worker (`warm_page_figures`);
- each page cold (the first request for a page or period the worker did not compute)
  and warm (a preset after the refresh task, or any later request);
- the deadline sweep (`clocks_sweep`) over a small and a large backlog of running
  clocks past due, and again with nothing to flag: duration, rows, memory.

Prints a summary, writes JSON to bench/results/ (git-ignored).

Targets: province and county dashboards, over the last 12 months and this month, p95
<= 100 ms server time at 1,000,000 declarations and <= 200 ms at 3,000,000 (every
figure from the summary tables, or from a query bounded by what is open); the sweep
over 1,000,000 clocks <= 10 s with memory flat in the number of rows.
"""

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

ROOT = common.ROOT
PG = common.PG
DB_NAME = common.db_name("dash")

# p95 of a dashboard, by the number of declarations it must hold (the first that fits).
TARGET_P95_MS = {1_000_000: 100.0, 3_000_000: 200.0}
TARGET_SWEEP_S = 10.0
MIN_SWEEP_BACKLOG = 100_000

PROVINCE = "620000000000"
COUNTY = "620101000000"  # the first county of the first city

# Before Django loads: bench.settings only sets defaults.
os.environ.update(common.django_env(DB_NAME))
os.environ.setdefault("CONN_MAX_AGE", "60")
log = common.logger("dash")


# --- data -----------------------------------------------------------------------------

REGIONS_SQL = [
    """INSERT INTO regions_region (code, name, level, parent_id)
       VALUES ('620000000000', '甘肃省', 1, NULL)""",
    """INSERT INTO regions_region (code, name, level, parent_id)
       SELECT '62' || lpad(c::text, 2, '0') || '00000000', '第' || c || '市', 2, p.id
       FROM generate_series(1, 14) c, regions_region p WHERE p.code = '620000000000'""",
    # 86 counties: county k belongs to city k % 14 + 1, as its (k / 14 + 1)-th county.
    """INSERT INTO regions_region (code, name, level, parent_id)
       SELECT left(p.code, 4) || lpad((k / 14 + 1)::text, 2, '0') || '000000',
              p.name || '第' || (k / 14 + 1) || '县', 3, p.id
       FROM generate_series(0, 85) k
       JOIN regions_region p ON p.code = '62' || lpad((k % 14 + 1)::text, 2, '0') || '00000000'""",
    """CREATE TEMP TABLE g_county AS
       SELECT row_number() OVER (ORDER BY code) - 1 AS idx, id, code, name
       FROM regions_region WHERE level = 3""",
    # 1,200 townships: township t belongs to county t % 86 (codes 101, 102, ...).
    """INSERT INTO regions_region (code, name, level, parent_id)
       SELECT left(c.code, 6) || (101 + t / 86)::text || '000', c.name || (t / 86 + 1) || '镇',
              4, c.id
       FROM generate_series(0, 1199) t JOIN g_county c ON c.idx = t % 86""",
    """CREATE TEMP TABLE g_township AS
       SELECT row_number() OVER (ORDER BY code) - 1 AS idx, id, code, name
       FROM regions_region WHERE level = 4""",
    # 16,000 villages: village v belongs to township v % 1200 (codes 201, 202, ...); the
    # public slug is 'dash' and v in base 31 over the QR alphabet: unique.
    """INSERT INTO regions_region (code, name, level, parent_id, public_slug)
       SELECT left(w.code, 9) || (201 + v / 1200)::text, w.name || (v / 1200 + 1) || '村',
              5, w.id,
              'dash' || substr(a, v / 29791 % 31 + 1, 1) || substr(a, v / 961 % 31 + 1, 1)
                     || substr(a, v / 31 % 31 + 1, 1) || substr(a, v % 31 + 1, 1)
       FROM generate_series(0, 15999) v JOIN g_township w ON w.idx = v % 1200,
            (SELECT '23456789abcdefghjkmnpqrstuvwxyz'::text AS a) alphabet""",
    """CREATE UNLOGGED TABLE g_village AS
       SELECT (row_number() OVER (ORDER BY code) - 1)::int AS idx, id, code
       FROM regions_region WHERE level = 5""",
    "CREATE UNIQUE INDEX ON g_village (idx)",
]

# One row per declaration with everything its columns and clocks are computed from.
# Times in days after submission: vd = home visit recorded, fd = feedback given after
# the visit, cd = closed (enrolled, rejected, withdrawn, merged).
CASES_SQL = """
CREATE UNLOGGED TABLE g_case AS
WITH base AS (
    SELECT i::bigint AS id,
           -- submissions evenly over three years, ids rising with time
           -- (the fraction first: i days * 1095 would overflow an interval at 3 M)
           now() - interval '1095 days' + ((i - 1 + random()) / %(n)s) * interval '1095 days'
               AS sub,
           floor(random() * 16000)::int AS vidx,
           random() AS r_open, random() AS r_state, random() AS r_v, random() AS r_f,
           random() AS r_c, random() AS r_x
    FROM generate_series(1, %(n)s) i
), aged AS (
    SELECT *, extract(epoch FROM now() - sub) / 86400 AS age FROM base
), stated AS (
    SELECT *,
        CASE
            -- open: most recent cases, and a few old ones stuck in review
            WHEN r_open < CASE WHEN age < 7 THEN 0.9 WHEN age < 21 THEN 0.6
                               WHEN age < 45 THEN 0.3 ELSE 0.075 END THEN
                CASE WHEN age < 7 THEN
                         CASE WHEN r_state < 0.45 THEN 'submitted' ELSE 'accepted' END
                     WHEN r_state < 0.08 THEN 'submitted'
                     WHEN r_state < 0.25 THEN 'accepted'
                     WHEN r_state < 0.37 THEN 'verified'
                     WHEN r_state < 0.50 THEN 'in_notice'
                     WHEN r_state < 0.60 THEN 'returned'
                     WHEN r_state < 0.80 THEN 'township_review'
                     ELSE 'county_review' END
            WHEN r_state < 0.48 THEN 'enrolled'
            WHEN r_state < 0.86 THEN 'rejected'
            WHEN r_state < 0.97 THEN 'withdrawn'
            ELSE 'merged' END AS state,
        -- home visit: 80 %% within the 7 days, the rest 8-16 days (met late)
        CASE WHEN r_v < 0.8 THEN 0.3 + r_v / 0.8 * 6.2 ELSE 8 + (r_v - 0.8) * 40 END AS vd,
        -- feedback after the visit: 85 %% within 7 days, the rest 8-14
        CASE WHEN r_f < 0.85 THEN 0.5 + r_f / 0.85 * 6 ELSE 8 + (r_f - 0.85) * 40 END AS fd
    FROM aged
)
SELECT s.id, v.id AS village_id, v.code AS region_code, s.sub, s.state, s.r_x,
       s.vd, s.fd, s.age,
       -- closing time (closed cases only), never after now
       CASE WHEN s.state IN ('enrolled', 'rejected', 'withdrawn', 'merged') THEN
       least(CASE s.state
                 WHEN 'enrolled' THEN greatest(s.vd + s.fd + 2,
                     CASE WHEN s.r_c < 0.85 THEN 10 + s.r_c / 0.85 * 10
                          ELSE 22 + (s.r_c - 0.85) * 90 END)
                 WHEN 'rejected' THEN 2 + s.r_c * 28
                 WHEN 'withdrawn' THEN 0.5 + s.r_c * 20
                 WHEN 'merged' THEN 0.1 + s.r_c * 5
             END, s.age * 0.95) END AS cd
FROM stated s JOIN g_village v ON v.idx = s.vidx
"""

DECLARATIONS_SQL = """
INSERT INTO declarations_declaration (
    id, tracking_number, state, channel, region_code, name, phone, phone_hash, id_number,
    id_hash, address_group, address_house, difficulties, description, on_behalf,
    declarant_name, declarant_phone, declarant_phone_hash, declarant_relation,
    submission_token, submitted_at, created_by_id, village_id, merged_into_id,
    rejected_at_level, rejection_reason, phone_owner, phone_owner_relation, score,
    score_factors)
SELECT c.id,
       t.body || bench_luhn(t.body),
       c.state,
       CASE WHEN c.r_x < 0.70 THEN 'qr' WHEN c.r_x < 0.80 THEN 'proxy'
            WHEN c.r_x < 0.95 THEN 'visit' ELSE 'warning' END,
       c.region_code,
       (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴','马','孙'])[c.id %% 12 + 1]
           || (ARRAY['建国','秀英','小明','桂兰','志强','玉兰','永福','海燕','文华','春梅',
                     '德明','彩霞'])[c.id / 12 %% 12 + 1],
       k.phone,
       encode(sha256(('mobile:' || c.id)::bytea), 'hex'),
       k.id_number,
       encode(sha256(('id:' || c.id)::bytea), 'hex'),
       (c.id %% 9 + 1) || '组',
       (c.id %% 97 + 1)::text || '号',
       (ARRAY['["illness"]','["disability"]','["schooling"]','["disaster"]',
              '["accident"]','["unstable_work"]','["illness", "income_shock"]',
              '["business_failure"]'])[c.id %% 8 + 1]::jsonb,
       CASE WHEN c.id %% 3 = 0 THEN '%(description)s' ELSE '' END,
       c.r_x >= 0.70 AND c.r_x < 0.80,
       CASE WHEN c.r_x >= 0.70 AND c.r_x < 0.80 THEN '代报人' ELSE '' END,
       CASE WHEN c.r_x >= 0.70 AND c.r_x < 0.80 THEN k.phone ELSE '' END,
       CASE WHEN c.r_x >= 0.70 AND c.r_x < 0.80
            THEN encode(sha256(('mobile:d' || c.id)::bytea), 'hex') ELSE '' END,
       CASE WHEN c.r_x >= 0.70 AND c.r_x < 0.80 THEN '子女' ELSE '' END,
       NULL,
       c.sub,
       NULL,
       c.village_id,
       CASE WHEN c.state = 'merged' AND c.id > 1 THEN c.id - 1 END,
       CASE WHEN c.state = 'rejected' THEN
           (ARRAY['village','township','county'])[c.id %% 3 + 1] ELSE '' END,
       CASE WHEN c.state = 'rejected' THEN '%(reason)s' ELSE '' END,
       'own', '', c.id %% 60, '[]'::jsonb
FROM g_case c
JOIN g_token k ON k.n = c.id %% %(tokens)s
CROSS JOIN LATERAL (
    -- 11 digits, first not 0, a bijection of the id (48271 is prime to 9 * 10^10)
    SELECT (10000000000 + (c.id * 48271) %% 90000000000)::text AS body) t
"""

DESCRIPTION = "家中老人住院，医疗费用较高，收入减少。"
REASON = "经核查，家庭人均纯收入高于监测范围。"

LUHN_SQL = """
CREATE OR REPLACE FUNCTION bench_luhn(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT ((10 - sum(CASE WHEN p %% 2 = 1
                           THEN (substr(reverse(body), p, 1)::int * 2) / 10
                                + (substr(reverse(body), p, 1)::int * 2) %% 10
                           ELSE substr(reverse(body), p, 1)::int END) %% 10) %% 10)::text
    FROM generate_series(1, length(body)) p
$$
"""

# Clocks as the services leave them: verify and enrol start at submission (due ~7 and
# ~21 calendar days later, i.e. 5 and 15 working days), feedback when the visit is
# recorded (due ~7 days later). A clock is met when its step is done or the case
# closes; met after its due time it is breached (met late); running past its due time
# it is breached (the sweep has run).
CLOCKS_SQL = """
INSERT INTO deadlines_clock (
    subject_type, subject_id, stage, region_code, started_at, due_on, due_at, met_at,
    breached_at, provisional, urgent, cancelled, working_days_taken, reminded_at,
    breach_notified_at)
SELECT 'declaration', x.subject_id, x.stage, x.region_code, x.started_at, x.due_on,
       x.due_at, x.met_at,
       CASE WHEN x.met_at IS NOT NULL AND x.met_at > x.due_at THEN x.due_at
            WHEN x.met_at IS NULL AND x.due_at < now() THEN x.due_at END,
       false, false, x.cancelled,
       CASE WHEN x.met_at IS NOT NULL AND NOT x.cancelled THEN
           round(extract(epoch FROM x.met_at - x.started_at) / 86400 * 5 / 7)::smallint END,
       NULL,
       CASE WHEN x.due_at < now() AND (x.met_at IS NULL OR x.met_at > x.due_at)
            THEN x.due_at + interval '10 minutes' END
FROM (
    SELECT y.*, d.due_on,
           ((d.due_on + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') AS due_at
    FROM (
        SELECT c.id AS subject_id, s.stage, c.region_code, s.started_at,
               -- (least() would turn a running clock's NULL into now)
               CASE WHEN s.met_at IS NOT NULL
                    THEN least(s.met_at, now() - interval '1 minute') END AS met_at, s.days,
               -- withdrawing or merging stops the clocks still running: not met
               coalesce(c.state IN ('withdrawn', 'merged') AND s.done >= c.cd, false)
                   AS cancelled
        FROM g_case c
        CROSS JOIN LATERAL (VALUES
            ('verify', c.sub, 7, c.vd,
             CASE WHEN c.state IN ('submitted', 'accepted') THEN NULL
                  WHEN c.cd IS NOT NULL THEN c.sub + least(c.vd, c.cd) * interval '1 day'
                  ELSE c.sub + least(c.vd, c.age * 0.9) * interval '1 day' END),
            ('feedback', c.sub + c.vd * interval '1 day', 7, c.vd + c.fd,
             CASE WHEN c.state IN ('verified', 'in_notice') THEN NULL
                  WHEN c.cd IS NOT NULL
                      THEN c.sub + least(c.vd + c.fd, c.cd) * interval '1 day'
                  ELSE c.sub + least(c.vd + c.fd, c.age * 0.95) * interval '1 day' END),
            ('enrol', c.sub, 21, c.cd,
             CASE WHEN c.cd IS NOT NULL THEN c.sub + c.cd * interval '1 day' END)
        ) s(stage, started_at, days, done, met_at)
        -- a feedback clock only once the visit was recorded
        WHERE s.stage <> 'feedback'
           OR (c.state NOT IN ('submitted', 'accepted')
               AND (c.cd IS NULL OR c.vd < c.cd) AND c.vd < c.age * 0.9)
    ) y
    CROSS JOIN LATERAL (
        SELECT (y.started_at AT TIME ZONE 'Asia/Shanghai')::date + y.days AS due_on) d
) x
ORDER BY x.started_at
"""


def secondary_indexes(conn, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes that back no constraint."""
    return conn.execute(
        """SELECT i.relname, pg_get_indexdef(i.oid)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           WHERE x.indrelid = %s::regclass
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)""",
        (table,),
    ).fetchall()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def generate(n: int) -> dict:
    """Fill the migrated database; returns the time of each step."""
    from apps.core import crypto
    from apps.core.identity import id_check_digit

    steps: dict[str, float] = {}
    t_all = time.perf_counter()

    def step(name, fn):
        t = time.perf_counter()
        fn()
        steps[name] = round(time.perf_counter() - t, 2)
        log(f"  {name}: {steps[name]:.1f} s")

    # A pool of real Fernet tokens under the bench key: the named lists load whole
    # declarations, and the encrypted fields decrypt on load.
    tokens = []
    for k in range(256):
        first17 = f"62010219{70 + k % 30:02d}0{k % 9 + 1}1{k % 3}{k:03d}"[:17]
        tokens.append(
            (k, crypto.encrypt(f"139{k:08d}"), crypto.encrypt(first17 + id_check_digit(first17)))
        )

    with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '256MB'")
        # Data consistent by construction: skip per-row FK triggers during the load.
        conn.execute("SET session_replication_role = replica")

        def regions():
            for sql in REGIONS_SQL:
                conn.execute(sql)

        step("regions", regions)

        def cases():
            conn.execute(
                "CREATE UNLOGGED TABLE g_token (n int PRIMARY KEY, phone text, id_number text)"
            )
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO g_token VALUES (%s, %s, %s)", tokens)
            conn.execute(LUHN_SQL.replace("%%", "%"))
            conn.execute(CASES_SQL.replace("%(n)s", str(int(n))).replace("%%", "%"))

        step("cases (staging)", cases)

        dropped = {}
        for table in ("declarations_declaration", "deadlines_clock"):
            dropped[table] = secondary_indexes(conn, table)
            for name, _ in dropped[table]:
                conn.execute(f'DROP INDEX "{name}"')

        step(
            "declarations",
            lambda: conn.execute(
                DECLARATIONS_SQL.replace("%(tokens)s", str(len(tokens)))
                # Encrypted fields: tokens (base64, nothing to escape).
                .replace("%(description)s", crypto.encrypt(DESCRIPTION))
                .replace("%(reason)s", crypto.encrypt(REASON))
                .replace("%%", "%")
            ),
        )
        step("clocks", lambda: conn.execute(CLOCKS_SQL.replace("%%", "%")))

        def indexes():
            for table in dropped:
                for _, definition in dropped[table]:
                    conn.execute(definition)

        step("indexes", indexes)

        def finish():
            conn.execute(
                "SELECT setval(pg_get_serial_sequence('declarations_declaration', 'id'),"
                " (SELECT max(id) FROM declarations_declaration))"
            )
            for t in ("g_case", "g_token", "g_village"):
                conn.execute(f"DROP TABLE {t}")
            conn.execute("DROP FUNCTION bench_luhn(text)")
            conn.execute("SET session_replication_role = origin")
            # As autovacuum would leave them: statistics and visibility map.
            for t in ("regions_region", "declarations_declaration", "deadlines_clock"):
                conn.execute(f"VACUUM (ANALYZE) {t}")

        step("vacuum analyze", finish)
    step("household work", household_work)
    steps["total"] = round(time.perf_counter() - t_all, 1)
    return steps


# Households with overdue work of every kind, in this many villages of the measured
# county and as many elsewhere: more than a short list (20) each, so that every named
# list of the measured pages is full.
WORK_VILLAGES = 40


def household_work() -> None:
    """Monitored households (monitored for three years: the long list), each with an
    overdue help plan, follow-up visit and look-back review, a running hand-over to the
    national system and an overdue warning in its village; and overdue green channels
    on open declarations of the same villages. Through the ORM (a few thousand rows)."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.deadlines.models import Clock, Stage
    from apps.declarations.models import CLOSED_STATES, Declaration
    from apps.declarations.services import SUBJECT
    from apps.households.models import FollowUp, HelpPlan, LookBack, MonitoredHousehold
    from apps.households.services import (
        FOLLOW_UP_SUBJECT,
        LOOK_BACK_SUBJECT,
        NATIONAL_SUBJECT,
        PLAN_SUBJECT,
    )
    from apps.regions.models import Level, Region
    from apps.screening.models import Warning
    from apps.screening.services import SUBJECT as WARNING_SUBJECT

    now = timezone.now()
    due = timezone.localdate() - dt.timedelta(days=30)
    due_at = now - dt.timedelta(days=29)
    worker, _ = User.objects.get_or_create(username="bench-worker")
    villages = Region.objects.filter(level=Level.VILLAGE).order_by("code")
    county = COUNTY[:6]
    chosen = [
        *villages.filter(code__startswith=county)[:WORK_VILLAGES],
        *villages.exclude(code__startswith=county)[:WORK_VILLAGES],
    ]

    def overdue(subject_type, subject_id, stage, code, breached=True):
        return Clock(
            subject_type=subject_type,
            subject_id=subject_id,
            stage=stage,
            region_code=code,
            started_at=now - dt.timedelta(days=60),
            due_on=due,
            due_at=due_at,
            breached_at=due_at if breached else None,
        )

    households = MonitoredHousehold.objects.bulk_create(
        MonitoredHousehold(
            village=v,
            region_code=v.code,
            head_name=f"户主{i}",
            head_id_number=f"62010219700101{i:03d}X",
            head_id_hash=f"bench-head-{i}",
            enrolled_by=worker,
            enrolled_at=now - dt.timedelta(days=3 * 365),
            monitoring_since=now - dt.timedelta(days=3 * 365),
        )
        for i, v in enumerate(chosen)
    )
    clocks = []
    for model, subject_type, stage, extra in (
        (HelpPlan, PLAN_SUBJECT, Stage.HELP_PLAN, {}),
        (FollowUp, FOLLOW_UP_SUBJECT, Stage.FOLLOW_UP, {"due_on": due}),
        (LookBack, LOOK_BACK_SUBJECT, Stage.LOOK_BACK, {"due_on": due, "round": "1"}),
    ):
        made = model.objects.bulk_create(
            model(household=h, region_code=h.region_code, **extra) for h in households
        )
        clocks += [overdue(subject_type, m.pk, stage, m.region_code) for m in made]
    clocks += [
        overdue(NATIONAL_SUBJECT, h.pk, Stage.NATIONAL_RECORD, h.region_code, breached=False)
        for h in households
    ]
    warnings = Warning.objects.bulk_create(
        Warning(
            village=h.village,
            region_code=h.region_code,
            household_key=f"bench-warning-{h.pk}",
            person_name=h.head_name,
            score=50,
        )
        for h in households
    )
    clocks += [overdue(WARNING_SUBJECT, w.pk, Stage.WARNING, w.region_code) for w in warnings]
    for v in chosen:
        case = (
            Declaration.objects.filter(region_code=v.code)
            .exclude(state__in=CLOSED_STATES)
            .exclude(
                pk__in=Clock.objects.filter(subject_type=SUBJECT, stage=Stage.GREEN_CHANNEL).values(
                    "subject_id"
                )
            )
            .values_list("pk", flat=True)
            .first()
        )
        if case is not None:
            clocks.append(overdue(SUBJECT, case, Stage.GREEN_CHANNEL, v.code))
    Clock.objects.bulk_create(clocks, batch_size=1000)


def data_profile() -> dict:
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:

        def q(sql):
            return conn.execute(sql).fetchall()

        return {
            "regions_by_level": dict(q("SELECT level, count(*) FROM regions_region GROUP BY 1")),
            "declarations": q("SELECT count(*) FROM declarations_declaration")[0][0],
            "declarations_by_state": dict(
                q("SELECT state, count(*) FROM declarations_declaration GROUP BY 1 ORDER BY 2 DESC")
            ),
            "submitted_range": [
                str(x)
                for x in q(
                    "SELECT min(submitted_at), max(submitted_at) FROM declarations_declaration"
                )[0]
            ],
            "clocks": q("SELECT count(*) FROM deadlines_clock")[0][0],
            "clocks_by_stage": dict(q("SELECT stage, count(*) FROM deadlines_clock GROUP BY 1")),
            "clocks_running": q("SELECT count(*) FROM deadlines_clock WHERE met_at IS NULL")[0][0],
            "clocks_running_breached": q(
                "SELECT count(*) FROM deadlines_clock WHERE met_at IS NULL AND breached_at IS NOT NULL"
            )[0][0],
            "clocks_met_late": q(
                "SELECT count(*) FROM deadlines_clock WHERE met_at IS NOT NULL AND breached_at IS NOT NULL"
            )[0][0],
            "table_sizes_mb": dict(
                q(
                    "SELECT relname, round(pg_total_relation_size(oid) / 1048576.0)::int"
                    " FROM pg_class WHERE relname IN ('declarations_declaration', 'deadlines_clock')"
                )
            ),
        }


# --- measurement ----------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def stats(ms: list[float]) -> dict:
    return {
        "n": len(ms),
        "p50": round(statistics.median(ms), 1),
        "p95": round(pct(ms, 95), 1),
        "max": round(max(ms), 1),
        "mean": round(statistics.fmean(ms), 1),
    }


def periods(today: dt.date):
    from apps.supervision.selectors import Period

    return {"12 months": Period.last_12_months(today), "this month": Period.this_month(today)}


def users():
    from apps.accounts.models import User
    from apps.regions.models import Region, Role, StaffMembership

    out = {}
    for key, code, role in (("province", PROVINCE, Role.PROVINCE), ("county", COUNTY, Role.COUNTY)):
        user, _ = User.objects.get_or_create(username=f"bench-dash-{key}")
        StaffMembership.objects.get_or_create(
            user=user, region=Region.objects.get(code=code), role=role
        )
        out[key] = (user, code)
    return out


def signed_in(user):
    """A test client signed in as `user`, its second factor passed (an authenticator,
    as the sign-in records it in the session)."""
    from django.test import Client
    from django.utils import timezone
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    # A password of their own, set today: no forced change.
    type(user).objects.filter(pk=user.pk).update(
        must_change_password=False, password_changed_at=timezone.now()
    )
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="bench", defaults={"confirmed": True}
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def measure_pages(requests: int, warmups: int) -> dict:
    """Each page warm (its figures in the cache: a preset period of the province, a
    city or a county after the refresh task has computed it, and every request after
    the first since the last refresh) and cold (the cache emptied before the request:
    the first request after a refresh for a page or period the worker did not compute,
    such as dates typed by the user or a township, its figures computed from the
    summaries)."""
    from django.core.cache import cache
    from django.urls import reverse
    from django.utils import timezone

    today = timezone.localdate()
    combos = []
    for key, (user, code) in users().items():
        client = signed_in(user)
        for pname, period in periods(today).items():
            url = reverse("supervision:region", args=[code])
            query = {"start": period.start.isoformat(), "end": period.end.isoformat()}
            # The cold request first (the cache emptied), then the warm one, which
            # finds what the cold one left: in each round, page after page.
            combos.append((f"{key} · {pname} · cold", client, url, query, True))
            combos.append((f"{key} · {pname}", client, url, query, False))

    def get(client, url, query, cold) -> float:
        if cold:
            cache.clear()
        t = time.perf_counter()
        response = client.get(url, query)
        ms = (time.perf_counter() - t) * 1000
        assert response.status_code == 200, (url, response.status_code)
        return ms

    for _ in range(warmups):
        for _, client, url, query, cold in combos:
            get(client, url, query, cold)
    times: dict[str, list[float]] = {name: [] for name, *_ in combos}
    # Interleaved, so the shared machine's noise falls on every page alike.
    for _ in range(requests):
        for name, client, url, query, cold in combos:
            times[name].append(get(client, url, query, cold))
    out = {}
    for name, _client, url, query, _cold in combos:
        out[name] = {
            "url": f"{url}?start={query['start']}&end={query['end']}",
            **stats(times[name]),
        }
        out[name]["all_ms"] = [round(x, 1) for x in times[name]]
    return out


def measure_warm_up() -> dict:
    """What the refresh task adds: the figures of the province's, cities' and
    counties' pages for each preset period, computed and cached by the worker."""
    from django.core.cache import cache

    from apps.supervision.page_figures import warm_page_figures

    cache.clear()
    started = time.perf_counter()
    pages = warm_page_figures()
    return {"pages": pages, "seconds": round(time.perf_counter() - started, 2)}


def measure_parts(repeat: int) -> dict:
    from django.utils import timezone

    from apps.deadlines.models import Stage
    from apps.regions.models import Region
    from apps.supervision.selectors import late_cases, region_figures, weekly_trend

    today = timezone.localdate()
    out = {}
    for code in (PROVINCE, COUNTY):
        region = Region.objects.get(code=code)
        parts = {}
        for pname, period in periods(today).items():
            parts[f"region_figures · {pname}"] = lambda p=period, r=region: region_figures(
                region=r, period=p
            )
        parts["late_cases verify (20)"] = lambda r=region: list(
            late_cases(region=r, stage=Stage.VERIFY, limit=20)
        )
        parts["late_cases enrol (20)"] = lambda r=region: list(
            late_cases(region=r, stage=Stage.ENROL, limit=20)
        )
        parts["weekly_trend"] = lambda r=region: weekly_trend(region=r)
        for name, fn in parts.items():
            fn()
            ms = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn()
                ms.append((time.perf_counter() - t) * 1000)
            out[f"{'province' if code == PROVINCE else 'county'} · {name}"] = stats(ms)
    return out


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(r[0] for r in cur.fetchall())


def profile_queries() -> dict:
    """Every statement of one request per page, warm and cold, slowest first, and the
    slowest's plan."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    today = timezone.localdate()
    out = {}
    for key, (user, code) in users().items():
        client = signed_in(user)
        for pname, period in periods(today).items():
            query = {"start": period.start.isoformat(), "end": period.end.isoformat()}
            url = reverse("supervision:region", args=[code])
            client.get(url, query)
            for suffix in ("", " · cold"):
                if suffix:
                    cache.clear()
                with CaptureQueriesContext(connection) as ctx:
                    t = time.perf_counter()
                    client.get(url, query)
                    total = (time.perf_counter() - t) * 1000
                queries = sorted(
                    (
                        {"ms": float(q["time"]) * 1000, "sql": q["sql"]}
                        for q in ctx.captured_queries
                    ),
                    key=lambda q: -q["ms"],
                )
                sql_ms = sum(q["ms"] for q in queries)
                out[f"{key} · {pname}{suffix}"] = {
                    "request_ms": round(total, 1),
                    "sql_ms": round(sql_ms, 1),
                    "statements": len(queries),
                    "queries": [{"ms": round(q["ms"], 1), "sql": q["sql"]} for q in queries],
                    "slowest_explain": explain(queries[0]["sql"]),
                }
    return out


def measure_refresh() -> list[dict]:
    """A full rebuild of the summary tables, then two incremental refreshes."""
    from django.db import connection

    from apps.supervision.summaries import default_since, figures_refresh

    out = []
    for label, since in (
        ("full rebuild", None),
        ("incremental (last 120 days)", default_since()),
        ("incremental, again", default_since()),
    ):
        t = time.perf_counter()
        refresh = figures_refresh(since=since)
        out.append(
            {
                "label": label,
                "since": str(since),
                "rows": refresh.rows,
                "seconds": round(time.perf_counter() - t, 2),
            }
        )
        if since is None:
            # As autovacuum would leave it after a rebuild.
            with connection.cursor() as cur:
                cur.execute("VACUUM (ANALYZE) supervision_dailyfigures")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT level, count(*) FROM supervision_dailyfigures GROUP BY 1 ORDER BY 1 DESC"
        )
        out.append({"label": "rows by level", "rows_by_level": dict(cur.fetchall())})
    return out


def rss_kb() -> dict:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "VmRSS_kb": int(fields["VmRSS"].split()[0]),
        "VmHWM_kb": int(fields["VmHWM"].split()[0]),
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def measure_sweep(small: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from apps.deadlines.services import clocks_sweep

    def sql(statement, *params):
        with connection.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone() if cur.description else cur.rowcount

    def reset(limit: int | None, now) -> int:
        """Unflag running clocks past due, as if the sweep had not run for a while."""
        n = sql(
            "UPDATE deadlines_clock SET breached_at = NULL, breach_notified_at = NULL"
            " WHERE id IN (SELECT id FROM deadlines_clock WHERE met_at IS NULL"
            " AND due_at < %s" + (f" ORDER BY id LIMIT {int(limit)}" if limit else "") + ")",
            now,
        )
        # A clean table, as between sweeps in production: the sweep is measured, not
        # the dead rows the reset leaves.
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) deadlines_clock")
        return n

    def run(label: str, now) -> dict:
        backlog = sql(
            "SELECT count(*) FROM deadlines_clock WHERE met_at IS NULL"
            " AND breached_at IS NULL AND due_at < %s",
            now,
        )[0]
        before = rss_kb()
        tracemalloc.start()
        t = time.perf_counter()
        flagged = clocks_sweep(now=now)
        seconds = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after = rss_kb()
        result = {
            "label": label,
            "backlog": backlog,
            "flagged": flagged,
            "seconds": round(seconds, 3),
            "tracemalloc_peak_kb": round(peak / 1024, 1),
            "rss_before": before,
            "rss_after": after,
        }
        log(
            f"  sweep {label}: backlog {backlog}, flagged {flagged} in {seconds:.2f} s, "
            f"tracemalloc peak {peak / 1024:.0f} KiB, RSS {before['VmRSS_kb']} -> "
            f"{after['VmRSS_kb']} KiB (ru_maxrss {before['ru_maxrss_kb']} -> "
            f"{after['ru_maxrss_kb']})"
        )
        return result

    connection.ensure_connection()
    now = timezone.now()
    total = sql("SELECT count(*) FROM deadlines_clock")[0]
    runs = []
    reset(small, now)
    runs.append(run(f"{small} past due", now))
    n = reset(None, now)
    runs.append(run(f"all {n} running past due", now))
    runs.append(run("again, nothing to flag", now))
    return {"clocks_total": total, "runs": runs}


def machine() -> dict:
    import django

    with psycopg.connect(f"{PG}/postgres") as conn:
        settings = {
            k: conn.execute(f"SHOW {k}").fetchone()[0]
            for k in (
                "shared_buffers",
                "work_mem",
                "effective_cache_size",
                "max_parallel_workers_per_gather",
            )
        }
    return {**common.machine(), "django": django.get_version(), "postgresql_settings": settings}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30, help="measured requests per page")
    parser.add_argument("--warmups", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=10, help="runs of each selector alone")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data of the last run (migrate only)"
    )
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument(
        "--skip-refresh",
        action="store_true",
        help="with --reuse: keep the summary tables as they are (refreshed by hand)",
    )
    parser.add_argument(
        "--pg-options",
        default="",
        help="PostgreSQL settings for the measuring connection, e.g. '-c jit=off' (PGOPTIONS)",
    )
    parser.add_argument("--label", default="", help="a note stored with the result")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    if args.pg_options:
        os.environ["PGOPTIONS"] = args.pg_options
    started = dt.datetime.now()
    result: dict = {
        "started": started.isoformat(timespec="seconds"),
        "label": args.label,
        "pg_options": args.pg_options,
    }
    result["machine"] = machine()
    loop = result["machine"]["cpu_loop_before"]
    log(
        f"machine: {result['machine']['uptime_before']};"
        f" cpu loop best {loop['best_ms']} ms, median {loop['median_ms']} ms"
    )

    if not args.reuse:
        log(f"fresh database {DB_NAME}")
        common.recreate_database(DB_NAME)
    import django

    django.setup()
    migrate()
    # The pages link hashed static files (production's manifest storage).
    common.manage(DB_NAME, "collectstatic", "--noinput", "-v", "0")
    if not args.reuse:
        log(f"generating {args.declarations:,} declarations")
        result["generation_s"] = generate(args.declarations)
        log(f"generated in {result['generation_s']['total']:.1f} s")
    else:
        # A previous run's sweep left flagged rows behind: vacuum as autovacuum would,
        # so index-only scans (currently overdue) do not fetch the heap.
        with psycopg.connect(f"{PG}/{DB_NAME}", autocommit=True) as conn:
            for t in ("declarations_declaration", "deadlines_clock"):
                conn.execute(f"VACUUM (ANALYZE) {t}")
    result["data"] = data_profile()
    log(
        f"data: {result['data']['declarations']:,} declarations, "
        f"{result['data']['clocks']:,} clocks ({result['data']['clocks_running']:,} running)"
    )

    log("summary tables")
    result["refresh"] = [] if args.skip_refresh else measure_refresh()
    for r in result["refresh"]:
        if "seconds" in r:
            log(f"  {r['label']}: {r['rows']:,} rows in {r['seconds']:.2f} s")
        else:
            log(f"  {r['label']}: {r['rows_by_level']}")

    result["warm_up"] = measure_warm_up()
    log(
        f"figures of the landing pages computed after a refresh: {result['warm_up']['pages']}"
        f" in {result['warm_up']['seconds']:.2f} s"
    )

    log(f"dashboards: {args.warmups} warm-ups, {args.requests} requests per page")
    result["pages"] = measure_pages(args.requests, args.warmups)
    for name, s in result["pages"].items():
        log(f"  {name:24} p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f}  max {s['max']:7.1f} ms")
    log("selectors alone")
    result["parts"] = measure_parts(args.repeat)
    for name, s in result["parts"].items():
        log(f"  {name:44} p50 {s['p50']:7.1f}  p95 {s['p95']:7.1f} ms")
    log("queries of one request per page")
    result["queries"] = profile_queries()
    for name, q in result["queries"].items():
        top = ", ".join(f"{x['ms']:.0f}" for x in q["queries"][:5])
        log(
            f"  {name:24} {q['statements']} statements, SQL {q['sql_ms']:.0f} of {q['request_ms']:.0f} ms; slowest {top} ms"
        )

    if not args.no_sweep:
        log("sweep")
        result["sweep"] = measure_sweep(small=10_000)

    targets = []
    n = result["data"]["declarations"]
    target_ms = next((ms for size, ms in sorted(TARGET_P95_MS.items()) if n <= size), None)
    for name, s in result["pages"].items():
        statements = result["queries"][name]["statements"]
        targets.append(
            (
                f"dashboard {name} at {n:,} declarations: p95 <= {target_ms or 0:.0f} ms",
                f"p50 {s['p50']:.1f}, p95 {s['p95']:.1f}, max {s['max']:.1f} ms;"
                f" {statements} statements",
                target_ms is not None and s["p95"] <= target_ms,
            )
        )
    if "sweep" in result:
        big = result["sweep"]["runs"][1]
        small_run = result["sweep"]["runs"][0]
        targets.append(
            (
                f"sweep of {result['sweep']['clocks_total']:,} clocks: <= {TARGET_SWEEP_S:.0f} s",
                f"{big['seconds']:.2f} s ({big['flagged']:,} flagged)",
                big["seconds"] <= TARGET_SWEEP_S
                and result["sweep"]["clocks_total"] >= 1_000_000
                and big["flagged"] >= MIN_SWEEP_BACKLOG,
            )
        )
        growth = big["tracemalloc_peak_kb"] - small_run["tracemalloc_peak_kb"]
        rss_growth = big["rss_after"]["VmRSS_kb"] - big["rss_before"]["VmRSS_kb"]
        targets.append(
            (
                "sweep memory flat in rows",
                f"Python peak {small_run['tracemalloc_peak_kb']:.0f} KiB at {small_run['flagged']:,} rows,"
                f" {big['tracemalloc_peak_kb']:.0f} KiB at {big['flagged']:,}; RSS +{rss_growth} KiB",
                abs(growth) < 256 and rss_growth < 1024,
            )
        )
    result["targets"] = [{"target": t, "result": r, "met": m} for t, r, m in targets]

    path = common.write_result("dashboards", result)
    loop = result["machine"]["cpu_loop_after"]
    log(f"cpu loop after: best {loop['best_ms']} ms, median {loop['median_ms']} ms")

    print("\nSummary")
    if "generation_s" in result:
        print(f"  generation: {result['generation_s']['total']:.1f} s ({result['generation_s']})")
    for r in result["refresh"]:
        if "seconds" in r:
            print(f"  summary tables, {r['label']}: {r['seconds']:.2f} s ({r['rows']:,} rows)")
    print(
        f"  figures of the landing pages after a refresh: {result['warm_up']['pages']} pages"
        f" in {result['warm_up']['seconds']:.2f} s"
    )
    for t, r, m in targets:
        print(f"  [{'met' if m else 'MISSED'}] {t}: {r}")
    print(f"  result: {path.relative_to(ROOT)}")
    return 0 if (not args.check or all(m for *_, m in targets)) else 1


if __name__ == "__main__":
    sys.exit(main())
