"""CPU per request of the village form and the bare view, in-process, with cProfile.

    .venv/bin/python bench/profile_submit.py                 # CPU ms/request, both views
    .venv/bin/python bench/profile_submit.py --profile real  # plus cProfile's top entries

Where `run_submit.py` measures throughput under load through gunicorn and wrk, this
runs the same requests one after another through Django's test client (the whole
middleware stack, CSRF enforced) in this process, on the local PostgreSQL and Redis
with bench.settings, so that a profile shows where the request's own CPU goes. It uses
its own database (`yjsb_profile`, dropped and re-created) and Redis database 8.
"""

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
os.environ["BENCH_DB_NAME"] = os.environ.get("BENCH_PROFILE_DB", "yjsb_profile")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{os.environ['BENCH_DB_NAME']}"
os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/8"
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
sys.path.insert(0, str(ROOT))

from bench import run_submit  # noqa: E402 — reads BENCH_DB_NAME at import

run_submit.REDIS_URL = os.environ["REDIS_URL"]


def gb_id(u: int) -> str:
    day, seq = divmod(u, 1000)
    body = f"621102{1950 + day // 336:04d}{day // 28 % 12 + 1:02d}{day % 28 + 1:02d}{seq:03d}"
    return body + run_submit.gb11643_check(body)


def payload(mode: str, u: int, csrf_token: str) -> dict:
    data = {"csrfmiddlewaretoken": csrf_token, "name": "张伟", "phone": f"13{u:09d}"}
    data["id_number"] = gb_id(u)
    if mode == "baseline":
        return {**data, "address": "3组"}
    return {
        **data,
        "token": f"{u:032x}",
        "address_group": "3组",
        "address_house": str(u % 200 + 1),
        "difficulties": "illness",
        "description": "老伴住院做手术",
        "consent": "on",
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=400, help="per view and pass")
    p.add_argument("--passes", type=int, default=3, help="alternating passes per view")
    p.add_argument("--profile", choices=["real", "baseline"], help="cProfile one view")
    p.add_argument("--top", type=int, default=45)
    p.add_argument("--sort", default="cumulative")
    p.add_argument("--callees", help="also print what functions matching this call")
    p.add_argument("--callers", help="also print what calls the functions matching this")
    p.add_argument("--no-setup", action="store_true", help="reuse the database as it is")
    args = p.parse_args()

    if not args.no_setup:
        run_submit.fresh_database()
    slug = run_submit.seed()

    import django

    django.setup()
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    form_url = f"/v/{slug}/"
    page = client.get(form_url).content.decode()
    csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    urls = {"real": form_url, "baseline": "/bench/baseline/"}
    ok = {"real": 302, "baseline": 201}
    counter = iter(range(1, 10**7))

    def batch(mode: str, n: int) -> float:
        started = time.process_time()
        for _ in range(n):
            # Form-encoded, as browsers and wrk send it (the test client's default is
            # multipart, whose parser would dominate both views).
            response = client.post(
                urls[mode],
                urlencode(payload(mode, next(counter), csrf_token)),
                content_type="application/x-www-form-urlencoded",
            )
            if response.status_code != ok[mode]:
                raise RuntimeError(f"{mode}: {response.status_code} {response.content[:300]!r}")
        return (time.process_time() - started) / n * 1000

    for mode in urls:  # warm-up: imports, connections, caches
        batch(mode, 50)
    results: dict[str, list[float]] = {"baseline": [], "real": []}
    for _ in range(args.passes):
        for mode in urls:
            results[mode].append(batch(mode, args.requests))
    for mode, values in results.items():
        print(
            f"{mode:9} CPU ms/request: {min(values):.3f} (passes: {[round(v, 3) for v in values]})"
        )
    print(f"ratio of CPU (baseline / real): {min(results['baseline']) / min(results['real']):.1%}")

    if args.profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not waits
        profiler.enable()
        batch(args.profile, args.requests)
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats(args.sort)
        stats.print_stats(args.top)
        if args.callees:
            stats.print_callees(args.callees)
        if args.callers:
            stats.print_callers(args.callers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
