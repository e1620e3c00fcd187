"""The farmer's page: the public form (/v/<village>/) and everything it loads, on an
emulated slow mobile network, in Debian's Chromium.

    .venv/bin/python bench/run_page.py              # about a minute
    .venv/bin/python bench/run_page.py --runs 10

Set-up as a deployment (bench/common.py `prepare_site`: migrate, the Chinese catalog,
static files collected hashed and gzipped, the demo regions) on a fresh database
(`bench_page`), then gunicorn with bench.settings (production's: WhiteNoise serves the
compressed static files) on 127.0.0.1. Each run opens the page in a fresh browser
context (no cache, no cookies, no open connections) of /usr/bin/chromium, headless,
driven by Playwright, sized as a cheap Android phone in WeChat, with the Chrome
DevTools Protocol's `Network.setCacheDisabled` and `Network.emulateNetworkConditions`:

- 3G: 400 ms round trip, 400 kbit/s down and up;
- EDGE: 800 ms round trip, 150 kbit/s down and up.

DevTools applies the latency once per request: connection set-up (and TLS, which a
deployment adds) is not slowed, so a real first visit pays one or two more round trips.

Measured: every request of the page until a second after its load event (so a late
favicon request counts), the bytes each transferred (headers and compressed body, as
on the wire: `encodedDataLength`), and from the Navigation Timing entry
DOMContentLoaded, first contentful paint and the load event. "Ready" is the load event
(the HTML and its stylesheet loaded and applied). The page has no script, so the form
can be filled and sent from DOMContentLoaded on; the number of scripts is checked and
printed. Times are the median of `--runs` runs (the worst is printed too).

Targets: <= 30 KB (30,720 bytes) and <= 4 requests; ready <= 2 s on 3G, <= 4 s on EDGE.
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

DB = common.db_name("page")
CHROMIUM = "/usr/bin/chromium"
# The browser tests' phone: a cheap Android phone, the form opened from WeChat's scanner.
from tests.browser.conftest import CHROMIUM_ARGS, PHONE  # noqa: E402

NETWORKS = {  # name: (round trip ms, kbit/s both ways, target for ready in ms)
    "3G": (400, 400, 2000),
    "EDGE": (800, 150, 4000),
}
TARGET_BYTES = 30 * 1024
TARGET_REQUESTS = 4
log = common.logger("page")

TIMING_JS = """() => {
    const n = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return {dom_content_loaded: n.domContentLoadedEventEnd,
            first_contentful_paint: fcp ? fcp.startTime : null, load: n.loadEventEnd,
            scripts: document.scripts.length,
            form_ready: !!document.querySelector('form button[type=submit]')};
}"""


def open_page(browser, url: str, network: tuple[int, int, int] | None) -> dict:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    requests: dict[str, dict] = {}

    def sent(event):
        requests[event["requestId"]] = {"url": event["request"]["url"], "bytes": 0}

    def received(event):
        requests[event["requestId"]]["status"] = event["response"]["status"]
        requests[event["requestId"]]["encoding"] = {
            k.lower(): v for k, v in event["response"]["headers"].items()
        }.get("content-encoding", "")

    def finished(event):
        requests[event["requestId"]]["bytes"] = int(event["encodedDataLength"])

    def failed(event):
        requests[event["requestId"]]["failed"] = event.get("errorText", "failed")

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.loadingFailed", failed)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    if network:
        latency, kbit, _ = network
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": latency,
                "downloadThroughput": kbit * 1000 / 8,
                "uploadThroughput": kbit * 1000 / 8,
            },
        )
    page.goto(url, wait_until="load", timeout=60_000)
    page.wait_for_function(
        "performance.getEntriesByType('navigation')[0].loadEventEnd > 0", timeout=60_000
    )
    page.wait_for_timeout(1000)  # a favicon or anything else late
    timing = page.evaluate(TIMING_JS)
    context.close()
    return {
        **{k: round(v) if isinstance(v, float) else v for k, v in timing.items()},
        "requests": list(requests.values()),
        "bytes": sum(r["bytes"] for r in requests.values()),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5, help="page loads per network")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = p.parse_args()

    from playwright.sync_api import sync_playwright

    started = dt.datetime.now().astimezone()
    info = common.machine()
    log(f"machine: {info['uptime_before']}")
    log(f"fresh database {DB}")
    slug = common.prepare_site(DB)
    port = common.free_port()
    url = f"http://127.0.0.1:{port}/v/{slug}/"
    web = None
    results: dict[str, list[dict]] = {}
    try:
        web = common.gunicorn(
            DB, port, args.workers, common.RESULTS / f"page-{started:%Y%m%d-%H%M%S}-gunicorn.log"
        )
        common.wait_http(f"http://127.0.0.1:{port}/healthz", web)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            info["chromium"] = browser.version
            open_page(browser, url, None)  # warm-up: the server's first request
            for name, network in NETWORKS.items():
                results[name] = []
                for _ in range(args.runs):
                    results[name].append(open_page(browser, url, network))
                    time.sleep(0.2)
                r = results[name][-1]
                log(
                    f"{name}: ready (load) "
                    f"{[x['load'] for x in results[name]]} ms, DOMContentLoaded "
                    f"{[x['dom_content_loaded'] for x in results[name]]} ms, "
                    f"{len(r['requests'])} requests, {r['bytes']} bytes"
                )
            browser.close()
    finally:
        common.stop(web)

    first = results["3G"][0]
    print(f"\n{url}")
    for r in first["requests"]:
        print(
            f"  {r.get('status', r.get('failed'))} {r['bytes']:>6} bytes "
            f"{r.get('encoding') or 'identity':8} {r['url'].replace(url[: -len(f'/v/{slug}/')], '')}"
        )
    print(
        f"  {len(first['requests'])} requests, {first['bytes']} bytes; "
        f"{first['scripts']} scripts, form present: {first['form_ready']}"
    )
    targets = [
        (
            f"<= {TARGET_BYTES} bytes transferred",
            f"{max(x['bytes'] for v in results.values() for x in v)} bytes",
            all(x["bytes"] <= TARGET_BYTES for v in results.values() for x in v),
        ),
        (
            f"<= {TARGET_REQUESTS} requests",
            f"{max(len(x['requests']) for v in results.values() for x in v)}",
            all(len(x["requests"]) <= TARGET_REQUESTS for v in results.values() for x in v),
        ),
    ]
    summary = {}
    for name, runs in results.items():
        latency, kbit, target = NETWORKS[name]
        med = {
            k: statistics.median(x[k] for x in runs)
            for k in ("dom_content_loaded", "first_contentful_paint", "load")
        }
        summary[name] = {"median_ms": med, "worst_load_ms": max(x["load"] for x in runs)}
        print(
            f"{name} ({latency} ms, {kbit} kbit/s): median DOMContentLoaded {med['dom_content_loaded']:.0f}, first paint "
            f"{med['first_contentful_paint']:.0f}, load {med['load']:.0f} ms "
            f"(worst load {summary[name]['worst_load_ms']} ms)"
        )
        targets.append(
            (
                f"ready (load event) on {name} <= {target / 1000:g} s",
                f"{med['load'] / 1000:.2f} s median of {len(runs)}",
                med["load"] <= target,
            )
        )
    met = common.print_targets(targets)
    path = common.write_result(
        "page",
        {
            "started": started.isoformat(timespec="seconds"),
            "machine": info,
            "url": url,
            "networks": NETWORKS,
            "summary": summary,
            "runs": results,
            "targets": [{"target": t, "result": r, "met": m} for t, r, m in targets],
        },
    )
    print(f"written {path.relative_to(common.ROOT)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
