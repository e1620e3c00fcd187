"""Submission under load: the village form against a bare Django view, in one run.

    .venv/bin/python bench/run_submit.py            # about 5 minutes

Creates a fresh database (yjsb_bench on the local PostgreSQL), migrates it, imports the
demo regions and one grid worker with a mobile number, starts gunicorn with
bench.settings, then runs wrk against the bare view and the real form alternately
(baseline, real, baseline, real, ...) so the machine's noise falls on both. Every
request is a different valid applicant (bench/submit.lua). After each run, the rows
written are counted against the successful responses. Prints a summary, writes JSON to
bench/results/ and stops gunicorn, also on error or Ctrl-C.

Targets (from the issue): real form >= 60 % of the bare view's requests/s, p99 <= 300 ms
at 10 concurrent clients, no lost submissions.
"""

import argparse
import datetime as dt
import html.parser
import http.cookies
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
DB_NAME = os.environ.get("BENCH_DB_NAME", "yjsb_bench")
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/7"
VILLAGE_CODE = "621102100201"

TARGET_RATIO = 0.60
TARGET_P99_MS = 300.0

# Success is what each view answers when it has stored the submission: the real form
# redirects to the receipt (302), the bare view answers 201.
SUCCESS_STATUS = {"real": {302}, "baseline": {201}}
TABLE = {"real": "declarations_declaration", "baseline": "bench_baseline_submission"}
PATH = {"real": "/v/{slug}/", "baseline": "/bench/baseline/"}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def django_env() -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=f"{PG}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def manage(*args: str) -> str:
    out = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=django_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def fresh_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    redis.Redis.from_url(REDIS_URL).flushdb()
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")
    manage("import_regions", "apps/regions/data/demo_regions.csv")


def seed() -> str:
    out = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "bench.seed", VILLAGE_CODE],
        cwd=ROOT,
        env=django_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def count(sql: str) -> int:
    with psycopg.connect(f"{PG}/{DB_NAME}") as conn:
        return conn.execute(sql).fetchone()[0]


def rows(mode: str) -> int:
    return count(f"SELECT count(*) FROM {TABLE[mode]}")


def settled_rows(mode: str, timeout: float = 15.0) -> int:
    """Rows once the requests still in flight when wrk stopped have finished."""
    deadline = time.monotonic() + timeout
    last = rows(mode)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = rows(mode)
        if now == last:
            return now
        last = now
    return last


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, args) -> subprocess.Popen:
    cmd = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--log-level",
        "warning",
        "--backlog",
        "256",
    ]
    if args.worker_class == "gthread":
        cmd += ["--threads", str(args.worker_threads)]
    log(" ".join(cmd[1:]))
    # Own process group, so that stopping it stops every worker.
    return subprocess.Popen(cmd, cwd=ROOT, env=django_env(), start_new_session=True)


def stop_gunicorn(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    log("gunicorn stopped")


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not become ready")


class _CsrfInput(html.parser.HTMLParser):
    token = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken":
            self.token = a.get("value", "")


def csrf_pair(url: str) -> tuple[str, str]:
    """One GET of the form: the csrftoken cookie and the matching form token. Django
    accepts the pair for every later POST, as a browser tab would reuse it."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        page = resp.read().decode()
        cookies = http.cookies.SimpleCookie()
        for header in resp.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
    parser = _CsrfInput()
    parser.feed(page)
    if "csrftoken" not in cookies or not parser.token:
        raise RuntimeError("no CSRF cookie or token on the form page")
    return cookies["csrftoken"].value, parser.token


GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643_check(body17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(body17, GB11643_WEIGHTS, strict=True)) % 11]


def id_check_rule(url: str, csrf: tuple[str, str]) -> str:
    """Which check digit the form accepts: submit one applicant whose ID number is
    right by GB 11643 and wrong by the legacy rule (see submit.lua), outside the range
    the load runs use."""
    body = "62110219990101001"
    number = body + gb11643_check(body)
    assert number[17] != gb11643_check("0" + body[:16])
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": csrf[1],
            "token": "be0cffff" + "0" * 24,
            "name": "张伟",
            "phone": "13899999999",
            "id_number": number,
            "address_group": "3组",
            "difficulties": "illness",
            "consent": "on",
        }
    ).encode()
    req = urllib.request.Request(url, data=data, headers={"Cookie": f"csrftoken={csrf[0]}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None

    try:
        status = urllib.request.build_opener(NoRedirect).open(req, timeout=10).status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status == 302:
        return "gb11643"
    if status == 400:
        return "legacy"
    raise RuntimeError(f"preflight submission answered {status}")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all cores, not idle or iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / CLK_TCK


def process_tree_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live children: gunicorn's
    master and workers."""
    total = 0.0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / CLK_TCK
            for task in Path(f"/proc/{p}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def postgres_backends() -> dict[int, float]:
    """CPU seconds (user + system) of each PostgreSQL backend serving the bench
    database now, by process id."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if f" {DB_NAME} ".encode() not in (proc / "cmdline").read_bytes():
                continue
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        found[int(proc.name)] = (int(stat[11]) + int(stat[12])) / CLK_TCK
    return found


class PostgresCpu:
    """CPU seconds the bench database's backends spend while it runs. gunicorn reopens
    its connections (CONN_MAX_AGE), so backends come and go within a run: they are
    sampled four times a second and each counts from its first sight (or from zero if
    it started during the run) to its last."""

    def __init__(self):
        import threading

        self._start = postgres_backends()
        self._last = dict(self._start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.25):
            self._last.update(postgres_backends())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._last.update(postgres_backends())
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._last.items())


def run_wrk(
    mode: str, run: int, url: str, csrf: tuple[str, str], args, duration: int, server_pid: int
) -> dict:
    env = dict(os.environ)
    env.update(
        BENCH_ID_CHECK=args.id_check,
        BENCH_MODE=mode,
        BENCH_RUN=str(run),
        BENCH_CSRF_COOKIE=csrf[0],
        BENCH_CSRF_TOKEN=csrf[1],
    )
    cmd = [
        "wrk",
        "-t",
        str(args.wrk_threads),
        "-c",
        str(args.connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(BENCH / "submit.lua"),
        url,
    ]
    before = rows(mode)
    cpu_machine, cpu_server = machine_busy_seconds(), process_tree_seconds(server_pid)
    postgres = PostgresCpu()
    proc = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True)
    cpu_machine = machine_busy_seconds() - cpu_machine
    cpu_server = process_tree_seconds(server_pid) - cpu_server
    cpu_postgres = postgres.stop()
    if proc.returncode != 0 or "BENCH_RESULT " not in proc.stdout:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    out = proc.stdout
    after = settled_rows(mode)
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH_RESULT "))
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    result["status"] = {int(k): v for k, v in result["status"].items()}
    seconds = result["duration_us"] / 1e6
    ok = sum(n for s, n in result["status"].items() if s in SUCCESS_STATUS[mode])
    result.update(
        rps=result["requests"] / seconds,
        success=ok,
        rows=after - before,
        # A success with no row behind it is a lost submission. More rows than
        # successes only means requests were in flight when wrk stopped.
        lost=max(ok - (after - before), 0),
        p99_ms=result["latency_us"]["p99"] / 1000,
        p50_ms=result["latency_us"]["p50"] / 1000,
        # CPU per response: gunicorn's processes only, and the whole machine (gunicorn,
        # PostgreSQL, Redis, wrk, and whatever else the shared machine runs).
        gunicorn_cpu_ms=cpu_server / max(result["requests"], 1) * 1000,
        postgres_cpu_ms=cpu_postgres / max(result["requests"], 1) * 1000,
        machine_cpu_ms=cpu_machine / max(result["requests"], 1) * 1000,
        wrk_text=out.split("BENCH_RESULT")[0].strip(),
    )
    return result


def machine() -> dict:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout
    total = re.search(r"Mem:\s+(\S+)", mem)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": total.group(1) if total else "?",
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
        "python": platform.python_version(),
    }


def summarise(runs: list[dict]) -> dict:
    out = {}
    for mode in ("baseline", "real"):
        rs = [r for r in runs if r["mode"] == mode]
        seconds = sum(r["duration_us"] for r in rs) / 1e6
        out[mode] = {
            "runs": len(rs),
            "requests": sum(r["requests"] for r in rs),
            "rps": sum(r["requests"] for r in rs) / seconds,
            "rps_per_run": [round(r["rps"], 1) for r in rs],
            "p50_ms_per_run": [r["p50_ms"] for r in rs],
            "p99_ms_per_run": [r["p99_ms"] for r in rs],
            "p99_ms_worst": max(r["p99_ms"] for r in rs),
            "gunicorn_cpu_ms_per_req": sum(r["gunicorn_cpu_ms"] * r["requests"] for r in rs)
            / sum(r["requests"] for r in rs),
            "machine_cpu_ms_per_req": sum(r["machine_cpu_ms"] * r["requests"] for r in rs)
            / sum(r["requests"] for r in rs),
            "postgres_cpu_ms_per_req": sum(r["postgres_cpu_ms"] * r["requests"] for r in rs)
            / sum(r["requests"] for r in rs),
            "success": sum(r["success"] for r in rs),
            "rows": sum(r["rows"] for r in rs),
            "lost": sum(r["lost"] for r in rs),
            "socket_errors": sum(
                r["errors"][k] for r in rs for k in ("connect", "read", "write", "timeout")
            ),
            "non_success": sum(
                n for r in rs for s, n in r["status"].items() if s not in SUCCESS_STATUS[mode]
            ),
        }
    real, base = out["real"], out["baseline"]
    out["ratio"] = real["rps"] / base["rps"]
    pairs = [r for r in runs if r["mode"] == "real"], [r for r in runs if r["mode"] == "baseline"]
    out["ratio_per_round"] = [round(r["rps"] / b["rps"], 3) for r, b in zip(*pairs, strict=True)]
    # For reading the noise, not for the target (which is the ratio of all requests).
    out["ratio_median_round"] = statistics.median(out["ratio_per_round"])
    out["targets"] = {
        "throughput_ratio_ge_60pct": out["ratio"] >= TARGET_RATIO,
        "p99_le_300ms": real["p99_ms_worst"] <= TARGET_P99_MS,
        "zero_lost": real["lost"] == 0 and base["lost"] == 0,
        "all_real_requests_succeeded": real["non_success"] == 0 and real["socket_errors"] == 0,
    }
    return out


def outbox_check() -> dict:
    declarations = count("SELECT count(*) FROM declarations_declaration")
    return {
        "declarations": declarations,
        "transitions": count("SELECT count(*) FROM declarations_transition"),
        "messages": count("SELECT count(*) FROM notifications_message"),
        "messages_dispatched": count(
            "SELECT count(*) FROM notifications_message WHERE dispatched_at IS NOT NULL"
        ),
        "celery_queue_length": redis.Redis.from_url(REDIS_URL).llen("celery"),
    }


def print_summary(s: dict, outbox: dict) -> None:
    print()
    print(
        f"{'':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'success':>8} {'rows':>7}"
        f" {'lost':>5} {'CPU ms/req (gunicorn, postgres, machine)':>41}"
    )
    for mode in ("baseline", "real"):
        m = s[mode]
        print(
            f"{mode:10} {m['rps']:8.1f} {max(m['p50_ms_per_run']):8.1f} "
            f"{m['p99_ms_worst']:8.1f} {m['success']:8d} {m['rows']:7d} {m['lost']:5d}"
            f" {m['gunicorn_cpu_ms_per_req']:20.2f} {m['postgres_cpu_ms_per_req']:9.2f}"
            f" {m['machine_cpu_ms_per_req']:10.2f}"
        )
    print(
        f"\nreal / baseline throughput: {s['ratio']:.1%} (per round: {s['ratio_per_round']},"
        f" median {s['ratio_median_round']:.1%})"
    )
    print(f"outbox: {outbox}")
    for name, ok in s["targets"].items():
        print(f"  {'MET   ' if ok else 'MISSED'} {name}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=20, help="seconds per measured run")
    p.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per view")
    # Many short rounds rather than a few long ones: this shared host's speed changes
    # from minute to minute, and more alternations spread that over both views.
    p.add_argument("--rounds", type=int, default=6, help="baseline+real pairs")
    p.add_argument("--connections", type=int, default=10)
    p.add_argument("--wrk-threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    p.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    p.add_argument("--worker-threads", type=int, default=4, help="threads per gthread worker")
    p.add_argument(
        "--id-check",
        default="auto",
        choices=["auto", "gb11643", "legacy"],
        help="check digit rule of the generated ID numbers; auto: the one the form accepts",
    )
    p.add_argument(
        "--no-health-checks",
        action="store_true",
        help="CONN_HEALTH_CHECKS off for both views (on in production settings)",
    )
    p.add_argument("--port", type=int, default=0, help="0: any free port")
    p.add_argument("--keep-server", action="store_true", help="leave gunicorn up (debug)")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = p.parse_args()
    if args.no_health_checks:
        os.environ["BENCH_HEALTH_CHECKS"] = "0"  # django_env() passes it on to gunicorn
    if args.rounds * 2 + 2 > 64 or args.wrk_threads > 4 or args.duration > 60:
        p.error("at most 31 rounds, 4 wrk threads and 60 s a run (unique ID numbers, submit.lua)")

    # A plain `kill` of the runner still goes through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = dt.datetime.now().astimezone()
    info = machine()
    log(f"machine: {info}")
    log(f"fresh database {DB_NAME}, Redis {REDIS_URL}")
    fresh_database()
    slug = seed()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    proc = None
    runs: list[dict] = []
    try:
        proc = start_gunicorn(port, args)
        wait_ready(base, proc)
        urls = {
            "real": base + PATH["real"].format(slug=slug),
            "baseline": base + PATH["baseline"],
        }
        csrf = csrf_pair(urls["real"])
        if args.id_check == "auto":
            args.id_check = id_check_rule(urls["real"], csrf)
            if args.id_check == "legacy":
                log(
                    "WARNING: the form refuses an ID number with a correct GB 11643 check"
                    " digit; load runs use the check digit it accepts (legacy rule)"
                )
        run = 0
        for mode in ("baseline", "real"):
            log(f"warm-up {mode} {args.warmup}s")
            run_wrk(mode, run, urls[mode], csrf, args, args.warmup, proc.pid)
            run += 1
        for i in range(args.rounds):
            for mode in ("baseline", "real"):
                log(f"round {i + 1}/{args.rounds} {mode} {args.duration}s")
                r = run_wrk(mode, run, urls[mode], csrf, args, args.duration, proc.pid)
                run += 1
                log(
                    f"  {r['rps']:.1f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms,"
                    f" CPU/req gunicorn {r['gunicorn_cpu_ms']:.2f} ms postgres"
                    f" {r['postgres_cpu_ms']:.2f} ms machine {r['machine_cpu_ms']:.2f} ms,"
                    f" status {r['status']}, errors {r['errors']}, rows {r['rows']}, lost {r['lost']}"
                )
                runs.append(r)
        outbox = outbox_check()
    finally:
        if args.keep_server and proc is not None:
            log(f"gunicorn left running on {base} (process group {proc.pid})")
        else:
            stop_gunicorn(proc)

    summary = summarise(runs)
    print_summary(summary, outbox)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"submit-{started:%Y%m%d-%H%M%S}.json"
    result = {
        "started": started.isoformat(timespec="seconds"),
        "machine": info,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        "config": vars(args),
        "summary": summary,
        "outbox": outbox,
        "runs": runs,
    }
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log(f"written {path.relative_to(ROOT)}")
    return 1 if args.check and not all(summary["targets"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
