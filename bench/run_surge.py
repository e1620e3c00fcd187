"""A surge on the public form: 100 submissions a second from 20 concurrent clients for
5 minutes, on the server as production runs it, and nothing lost.

    .venv/bin/python bench/run_surge.py                 # 7-9 minutes (5 of load)
    .venv/bin/python bench/run_surge.py --seconds 30    # a quick try
    .venv/bin/python bench/run_surge.py --rate 0        # capacity: 20 clients flat out

Set-up (not measured): a fresh database (`bench_surge`), migrated, the Chinese catalog
compiled, static files collected, the demo regions imported and one grid worker with a
mobile number in 窝沟村, so that every declaration writes its SMS rows (the grid
worker's notice and the applicant's receipt) as in real use. Then, with bench.settings
(production's settings): gunicorn as the image runs it (sync workers, --workers 3 as
`.env.example`'s WEB_CONCURRENCY) and a Celery worker as docker-compose runs it, on the
Redis broker (BENCH_REDIS_URL, flushed), sending with the console SMS backend into its
log. The environment is passed on, e.g. INTAKE_SINGLE_STATEMENT=false
OUTBOX_PUBLISH_BATCH_SECONDS=0.

Load: 20 client threads in this process on the loopback, each with its own form page
(CSRF cookie and token) and one keep-alive connection where gunicorn allows it. The
load is open, as farmers arrive: submission k is due at k / rate seconds and goes to
client k mod 20, who sends it when due (or as soon as its previous one is answered), so
a server that falls behind shows in the latency, which is measured from when the
submission was due, not from when it could be sent. Every submission is a different
valid applicant (unique ID and mobile numbers, its own form token and client address).
The load stops by itself: `--seconds` of schedule, each request timing out after 10 s.
With `--rate 0` each client sends its next submission as soon as the last is answered,
for `--seconds`: the capacity of the machine, for information.

After the load: the declarations' form tokens are compared with the tokens of the 2xx
answers (a 2xx without its row is lost), every declaration must have its two clocks and
its SMS rows, and every SMS row must be sent by the worker (waited for up to
`--drain` seconds). Prints the figures and the targets, writes JSON to bench/results/
(git-ignored, with the gunicorn and Celery logs), stops both servers also on error or
Ctrl-C, and exits 1 when a target is missed.

Targets: at least 100 submissions/s for 5 minutes from 20 concurrent clients, p99 <= 300
ms, zero lost.
"""

import argparse
import datetime as dt
import html.parser
import http.client
import http.cookies
import os
import signal
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

DB = common.db_name("surge")
TARGET_RATE = 100.0
TARGET_SECONDS = 300
TARGET_CLIENTS = 20
TARGET_P99_MS = 300.0
SMS_PER_DECLARATION = 2  # the grid worker's notice and the applicant's receipt
log = common.logger("surge")

GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(u: int) -> str:
    """The u-th applicant's ID number: valid, unique for u < 10,000,000 (born 1950-1980)."""
    day, seq = divmod(u, 1000)
    body = f"621102{1950 + day // 336:04d}{day // 28 % 12 + 1:02d}{day % 28 + 1:02d}{seq:03d}"
    check = sum(int(d) * w for d, w in zip(body, GB11643_WEIGHTS, strict=True)) % 11
    return body + "10X98765432"[check]


NAMES = ["张伟", "王芳", "李秀兰", "魏家常", "马小红"]
DIFFICULTIES = ["illness", "disaster", "accident", "schooling", "income_shock"]


def form_body(u: int, csrf_token: str) -> tuple[str, bytes]:
    token = f"{u:032x}"
    return token, urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": csrf_token,
            "token": token,
            "name": NAMES[u % len(NAMES)],
            "phone": f"13{u:09d}",
            "id_number": id_number(u),
            "address_group": "3组",
            "address_house": str(u % 200 + 1),
            "difficulties": DIFFICULTIES[u % len(DIFFICULTIES)],
            "description": "老伴住院做手术",
            "consent": "on",
        }
    ).encode()


class _CsrfInput(html.parser.HTMLParser):
    token = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") == "csrfmiddlewaretoken":
            self.token = a.get("value", "")


class Client(threading.Thread):
    """One phone: GETs the form once, then POSTs its submissions, each when due."""

    def __init__(self, index: int, port: int, path: str, jobs, results: list, stop_at: float):
        super().__init__(daemon=True)
        self.index, self.port, self.path = index, port, path
        self.jobs = jobs  # iterable of (u, due monotonic time or None)
        self.results = results
        self.stop_at = stop_at
        self.conn = None

    def _request(self, method, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            self.conn.request(method, self.path, body=body, headers=headers or {})
            resp = self.conn.getresponse()
            data = resp.read()
            if resp.will_close:
                self.conn.close()
                self.conn = None
            return resp, data
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def run(self):
        resp, page = self._request("GET")
        cookies = http.cookies.SimpleCookie()
        for header in resp.headers.get_all("Set-Cookie") or []:
            cookies.load(header)
        parser = _CsrfInput()
        parser.feed(page.decode())
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken'].value}",
        }
        for u, due in self.jobs:
            now = time.monotonic()
            if now >= self.stop_at:
                break
            if due is not None and due > now:
                time.sleep(due - now)
            token, body = form_body(u, parser.token)
            headers["X-Real-IP"] = f"10.{u >> 16 & 255}.{u >> 8 & 255}.{u & 255}"
            start = time.monotonic()
            try:
                resp, _ = self._request("POST", body, headers)
                status = resp.status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
            end = time.monotonic()
            self.results.append((token, due if due is not None else start, start, end, status))


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live children."""
    total, pids = 0.0, [pid]
    while pids:
        p = pids.pop()
        try:
            stat = _stat(p)
            total += (int(stat[11]) + int(stat[12])) / CLK_TCK
            for task in Path(f"/proc/{p}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def postgres_backends() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the benchmark's database."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and f" {DB} ".encode() in (proc / "cmdline").read_bytes():
                stat = _stat(proc.name)
                found[int(proc.name)] = (int(stat[11]) + int(stat[12])) / CLK_TCK
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def services_cpu() -> float:
    """CPU seconds of Redis and of PostgreSQL's own processes (WAL writer, checkpointer,
    autovacuum...; not the client backends, whose command line names their client)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() in (
                "redis-server",
                "postgres",
            ):
                if b"(" not in (proc / "cmdline").read_bytes():
                    stat = _stat(proc.name)
                    total += (int(stat[11]) + int(stat[12])) / CLK_TCK
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy, and of those in interrupts (the
    loopback's packets are handled there, charged to no process)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / CLK_TCK, (fields[5] + fields[6]) / CLK_TCK


class CpuMeter:
    """Where the machine's CPU went during the load: gunicorn, the Celery worker, the
    database's backends (sampled, as they come and go), Redis and PostgreSQL's
    background processes (shared with the machine's other users), this client, the
    machine's interrupt time, and the rest (other jobs of a shared machine)."""

    def __init__(self, web, worker):
        self.web, self.worker = web, worker
        self.first = postgres_backends()
        self.last = dict(self.first)
        self.start = self._now()

    def _now(self):
        return {
            "gunicorn": tree_cpu(self.web.pid),
            "celery": tree_cpu(self.worker.pid),
            "client": sum(os.times()[:2]),
            "redis_and_postgres_background": services_cpu(),
            "interrupts": machine_cpu()[1],
            "machine": machine_cpu()[0],
        }

    def sample(self):
        self.last.update(postgres_backends())

    def stop(self) -> dict:
        self.sample()
        end = self._now()
        out = {k: end[k] - self.start[k] for k in end}
        out["postgres"] = sum(c - self.first.get(pid, 0.0) for pid, c in self.last.items())
        out["rest_of_machine"] = out.pop("machine") - sum(out.values())
        return {k: round(v, 1) for k, v in out.items()}


def closed_jobs(index: int, clients: int):
    k = 0
    while True:
        yield k * clients + index, None
        k += 1


def run_load(port, path, rate, seconds, clients, web, worker) -> dict:
    results: list = []
    t0 = time.monotonic() + 1.0  # time for every client to fetch its form first
    if rate > 0:
        n = int(rate * seconds)
        schedule = [[] for _ in range(clients)]
        for k in range(n):
            schedule[k % clients].append((k, t0 + k / rate))
        stop_at = t0 + seconds + 30  # a server far behind: stop anyway
        threads = [Client(i, port, path, schedule[i], results, stop_at) for i in range(clients)]
    else:
        n = None
        stop_at = t0 + seconds
        threads = [
            Client(i, port, path, closed_jobs(i, clients), results, stop_at) for i in range(clients)
        ]
    for t in threads:
        t.start()
    cpu = CpuMeter(web, worker)
    r = redis.Redis.from_url(common.REDIS_URL)
    queue_max = 0
    next_report = t0 + 30
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        queue_max = max(queue_max, r.llen("celery"))
        cpu.sample()
        if time.monotonic() >= next_report:
            next_report += 30
            done = len(results)
            log(
                f"  {time.monotonic() - t0:5.0f} s: {done} answered "
                f"({done / (time.monotonic() - t0):.1f}/s), Celery queue {r.llen('celery')}, "
                f"load {os.getloadavg()[0]:.2f}"
            )
    return {
        "t0": t0,
        "scheduled": n,
        "results": results,
        "celery_queue_max": queue_max,
        "cpu_seconds": cpu.stop(),
        "loadavg_end": os.getloadavg(),
    }


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(p / 100 * len(s) + 0.999999) - 1))]


def check_rows(acked: set[str]) -> dict:
    with psycopg.connect(f"{common.PG}/{DB}") as conn:
        stored = {
            t for (t,) in conn.execute("SELECT submission_token FROM declarations_declaration")
        }
        incomplete = conn.execute(
            """SELECT count(*) FILTER (WHERE coalesce(m.n, 0) < %s),
                      count(*) FILTER (WHERE coalesce(c.n, 0) < 2)
               FROM declarations_declaration d
               LEFT JOIN (SELECT subject, count(*) n FROM notifications_message
                          GROUP BY subject) m ON m.subject = 'declaration:' || d.id
               LEFT JOIN (SELECT subject_id, count(*) n FROM deadlines_clock
                          WHERE subject_type = 'declaration' GROUP BY subject_id) c
                      ON c.subject_id = d.id""",
            (SMS_PER_DECLARATION,),
        ).fetchone()
        messages = conn.execute("SELECT count(*) FROM notifications_message").fetchone()[0]
        clocks = conn.execute("SELECT count(*) FROM deadlines_clock").fetchone()[0]
    return {
        "declarations": len(stored),
        "messages": messages,
        "clocks": clocks,
        "lost": len(acked - stored),
        "stored_without_2xx": len(stored - acked),
        "declarations_without_their_sms_rows": incomplete[0],
        "declarations_without_their_clocks": incomplete[1],
    }


def drain(timeout: float) -> dict:
    """Wait until the worker has sent every SMS row (or timeout)."""
    started = time.monotonic()
    with psycopg.connect(f"{common.PG}/{DB}", autocommit=True) as conn:
        while True:
            by_status = dict(
                conn.execute("SELECT status, count(*) FROM notifications_message GROUP BY 1")
            )
            waiting = by_status.get("pending", 0) + by_status.get("sending", 0)
            if not waiting or time.monotonic() - started > timeout:
                break
            time.sleep(1.0)
    return {
        "seconds_after_load": round(time.monotonic() - started, 1),
        "by_status": by_status,
        "not_sent": sum(n for s, n in by_status.items() if s != "sent"),
    }


def summarise(load: dict, rate: float, seconds: int) -> dict:
    res = load["results"]
    ok = [r for r in res if r[4] == 302]
    latency = [(r[3] - r[1]) * 1000 for r in res]  # from when it was due
    service = [(r[3] - r[2]) * 1000 for r in res]  # from when it was sent
    statuses: dict = {}
    for r in res:
        statuses[str(r[4])] = statuses.get(str(r[4]), 0) + 1
    span = max(r[3] for r in res) - load["t0"]
    # Paced: over the schedule, or longer if the clients fell behind it (the last
    # submission sent late); flat out: over the whole run.
    window = max(seconds, max(r[2] for r in res) - load["t0"] + 1 / rate) if rate > 0 else span
    achieved = len(ok) / window
    return {
        "scheduled": load["scheduled"],
        "answered": len(res),
        "ok_2xx": len(ok),
        "status": statuses,
        "wall_seconds": round(span, 2),
        "rate": round(achieved, 2),
        "latency_ms": {
            "p50": round(statistics.median(latency), 1),
            "p95": round(pct(latency, 95), 1),
            "p99": round(pct(latency, 99), 1),
            "max": round(max(latency), 1),
        },
        "service_ms": {
            "p50": round(statistics.median(service), 1),
            "p99": round(pct(service, 99), 1),
        },
        "late_start_ms_p99": round(pct([(r[2] - r[1]) * 1000 for r in res], 99), 1),
        "celery_queue_max": load["celery_queue_max"],
        "cpu_seconds": load["cpu_seconds"],
        "cpu_ms_per_submission": {
            k: round(v / max(len(res), 1) * 1000, 2) for k, v in load["cpu_seconds"].items()
        },
        "loadavg_end": load["loadavg_end"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=TARGET_SECONDS, help="length of the load")
    p.add_argument("--rate", type=float, default=TARGET_RATE, help="submissions/s; 0: flat out")
    p.add_argument("--clients", type=int, default=TARGET_CLIENTS)
    p.add_argument("--workers", type=int, default=3, help="gunicorn workers (WEB_CONCURRENCY)")
    p.add_argument("--drain", type=float, default=600, help="seconds to wait for the SMS")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = dt.datetime.now().astimezone()
    info = common.machine()
    log(f"machine: {info['uptime_before']}")
    env_seen = {
        k: os.environ.get(k)
        for k in ("INTAKE_SINGLE_STATEMENT", "OUTBOX_PUBLISH_BATCH_SECONDS", "CONN_MAX_AGE")
    }
    log(f"environment: {env_seen}")
    log(f"fresh database {DB}, Redis {common.REDIS_URL} flushed")
    redis.Redis.from_url(common.REDIS_URL).flushdb()
    slug = common.prepare_site(DB)
    stamp = f"{started:%Y%m%d-%H%M%S}"
    logs = {
        "gunicorn": common.RESULTS / f"surge-{stamp}-gunicorn.log",
        "celery": common.RESULTS / f"surge-{stamp}-celery.log",
    }
    port = common.free_port()
    worker = web = None
    try:
        worker = common.celery_worker(DB, logs["celery"])
        web = common.gunicorn(DB, port, args.workers, logs["gunicorn"])
        common.wait_http(f"http://127.0.0.1:{port}/healthz", web)
        common.wait_log(logs["celery"], " ready.", worker)
        what = f"{args.rate:g}/s" if args.rate > 0 else "flat out"
        log(f"load: {what} from {args.clients} clients for {args.seconds} s, /v/{slug}/")
        load = run_load(port, f"/v/{slug}/", args.rate, args.seconds, args.clients, web, worker)
        summary = summarise(load, args.rate, args.seconds)
        log(f"load done: {summary['ok_2xx']} answered 2xx; waiting for the SMS")
        sms = drain(args.drain)
        rows = check_rows({r[0] for r in load["results"] if r[4] == 302})
    finally:
        common.stop(web)
        common.stop(worker, timeout=60)
        log("gunicorn and the Celery worker stopped")

    lat = summary["latency_ms"]
    full = args.seconds >= TARGET_SECONDS and args.clients == TARGET_CLIENTS
    targets = [
        (
            f">= {TARGET_RATE:g} submissions/s for {args.seconds} s from {args.clients} clients"
            + ("" if full else f" (the target is {TARGET_SECONDS} s from {TARGET_CLIENTS})"),
            f"{summary['rate']:.1f}/s ({summary['ok_2xx']} 2xx of {summary['answered']})",
            summary["rate"] >= TARGET_RATE
            and summary["ok_2xx"] == summary["answered"]
            and (args.rate <= 0 or summary["answered"] == summary["scheduled"]),
        ),
        (f"p99 <= {TARGET_P99_MS:g} ms", f"{lat['p99']:.1f} ms", lat["p99"] <= TARGET_P99_MS),
        (
            "zero lost (2xx without a row, a row without its clocks or SMS rows, SMS unsent)",
            f"{rows['lost']} lost, {rows['declarations_without_their_clocks']} without clocks, "
            f"{rows['declarations_without_their_sms_rows']} without SMS rows, "
            f"{sms['not_sent']} SMS not sent",
            rows["lost"] == 0
            and rows["declarations_without_their_clocks"] == 0
            and rows["declarations_without_their_sms_rows"] == 0
            and sms["not_sent"] == 0,
        ),
    ]
    print()
    print(
        f"submissions: {summary['answered']} answered ({summary['status']}), "
        f"{summary['rate']:.1f}/s, wall {summary['wall_seconds']} s"
    )
    print(
        f"latency from due time: p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms,"
        f" max {lat['max']} ms (from sending: p50 {summary['service_ms']['p50']},"
        f" p99 {summary['service_ms']['p99']} ms)"
    )
    print(
        f"rows: {rows['declarations']} declarations, {rows['clocks']} clocks, "
        f"{rows['messages']} SMS rows; {rows['lost']} lost, "
        f"{rows['stored_without_2xx']} stored without a 2xx"
    )
    print(
        f"SMS: {sms['by_status']}, all sent {sms['seconds_after_load']} s after the load; "
        f"Celery queue at most {summary['celery_queue_max']} tasks"
    )
    cpu = summary["cpu_ms_per_submission"]
    own = sum(v for k, v in cpu.items() if k != "rest_of_machine")
    print(
        f"CPU ms per submission: {cpu} (load average at the end {summary['loadavg_end']});"
        f" this stack alone {own:.1f} ms, i.e. at most {os.cpu_count() * 1000 / own:.0f}"
        f" submissions/s on {os.cpu_count()} cores with nothing else running"
    )
    met = common.print_targets(targets)
    path = common.write_result(
        "surge",
        {
            "started": started.isoformat(timespec="seconds"),
            "machine": info,
            "config": vars(args),
            "environment": env_seen,
            "summary": summary,
            "rows": rows,
            "sms": sms,
            "logs": {k: str(v.relative_to(common.ROOT)) for k, v in logs.items()},
            "targets": [{"target": t, "result": r, "met": m} for t, r, m in targets],
        },
    )
    print(f"written {path.relative_to(common.ROOT)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
