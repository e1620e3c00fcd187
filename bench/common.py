"""What the benchmark scripts share: where their databases and Redis are, the machine
they ran on, the production-like server (gunicorn, a Celery worker) and the result files.

Every benchmark creates its own PostgreSQL database, named `<prefix>_<benchmark>`
(prefix `bench` unless BENCH_DB_PREFIX says otherwise), and drops it and creates it
afresh on every run; the ones that need Redis use BENCH_REDIS_URL (default Redis
database 7), which they flush.
"""

import datetime as dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
PG = "postgres://postgres@127.0.0.1:5432"
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")


def db_name(benchmark: str) -> str:
    return f"{DB_PREFIX}_{benchmark}"


def logger(tag: str):
    t0 = time.monotonic()

    def log(msg: str) -> None:
        print(f"[{tag} {time.monotonic() - t0:6.1f}s] {msg}", flush=True)

    return log


def recreate_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_env(database: str, **extra: str) -> dict:
    """The environment of a Django process (manage.py, gunicorn, Celery, a measured
    child) of a benchmark: bench.settings on the benchmark's database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=f"{PG}/{database}",
        REDIS_URL=REDIS_URL,
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def manage(database: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=django_env(database),
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def prepare_site(database: str) -> str:
    """A deployment's steps on a fresh database: migrate, the Chinese catalog, static
    files collected (hashed and compressed, as the image does), the demo regions, and
    one grid worker with a mobile number in 窝沟村. Returns the village's public slug."""
    recreate_database(database)
    manage(database, "migrate", "--noinput", "-v", "0")
    manage(database, "compiletranslations")
    manage(database, "collectstatic", "--noinput", "-v", "0")
    manage(database, "import_regions", "apps/regions/data/demo_regions.csv")
    out = subprocess.run(
        [sys.executable, "-m", "bench.seed", "621102100201"],
        cwd=ROOT,
        env=django_env(database),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


def cpu_loop() -> dict:
    """A fixed pure-Python loop timed seven times: how fast this machine's CPU runs for
    us right now. The load average does not show a neighbour's load on a shared host;
    this does (the same loop has taken from about 105 to 260 ms within one minute)."""

    def once() -> float:
        started, total = time.perf_counter(), 0
        for i in range(3_000_000):
            total += i
        return (time.perf_counter() - started) * 1000

    runs = sorted(once() for _ in range(7))
    return {"best_ms": round(runs[0]), "median_ms": round(runs[3])}


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    with psycopg.connect(f"{PG}/postgres") as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    try:
        import redis

        redis_version = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    except Exception:  # Redis is not needed by every benchmark
        redis_version = None
    return {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "arch": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": redis_version,
        "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "cpu_loop_before": cpu_loop(),
    }


def write_result(kind: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result.setdefault("machine", {})["loadavg_after"] = os.getloadavg()
    result["machine"]["cpu_loop_after"] = cpu_loop()
    path = RESULTS / f"{kind}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def print_targets(targets: list[tuple[str, str, bool]]) -> bool:
    for name, value, met in targets:
        print(f"  {'met   ' if met else 'MISSED'}  {name}: {value}")
    return all(met for *_, met in targets)


# --- the production-like server ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """A server process in its own process group (so that stopping it stops its
    workers), its output to a log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out = log_path.open("w")
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen | None, timeout: float = 30.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def gunicorn(database: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    """gunicorn as the image's CMD runs it (sync workers, WEB_CONCURRENCY of them, the
    access log on), on 127.0.0.1."""
    cmd = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--worker-tmp-dir=/dev/shm",
        "--timeout=60",
        "--access-logfile=-",
        "--no-control-socket",
        f"--workers={workers}",
    ]
    return start(cmd, django_env(database), log_path)


def celery_worker(database: str, log_path: Path, **env: str) -> subprocess.Popen:
    """The Celery worker as docker-compose runs it (prefork, one process per core)."""
    cmd = [str(VENV_BIN / "celery"), "-A", "config", "worker", "-l", "info"]
    return start(cmd, django_env(database, **env), log_path)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def wait_log(path: Path, text: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}, see {path}")
        if text in path.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise RuntimeError(f"no {text!r} in {path} within {timeout:.0f} s")
