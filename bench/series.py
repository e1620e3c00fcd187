"""The series of runs the import benchmarks make (bench/run_roster.py,
bench/run_screening.py, bench/run_national.py): the small file and the big one timed, the big one again (which
must change nothing), then both traced for Python's memory peak, and optionally the big
one profiled; the database emptied between them as each script does it."""

import json
import os
import sys
import time
import tracemalloc
from pathlib import Path


def vm(field: str) -> int:
    """A line of /proc/self/status in KiB, e.g. VmRSS (now) or VmHWM (the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def report_import(run, pk: int, mode: str, phases: dict, missing: list, counts, **extra) -> None:
    """In the child process: run one import (`run(pk)`, an Importer's run) as `mode`
    asks — plain, traced for Python's memory peak, or profiled — and print its RESULT
    line: status, time, phases, the import's `counts` (attribute names) and memory."""
    rss_before = vm("VmRSS")
    if mode == "trace":
        tracemalloc.start()
    t = time.perf_counter()
    if mode == "profile":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(run, pk)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    else:
        result = run(pk)
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] if mode == "trace" else None
    if mode == "trace" and os.environ.get("BENCH_TRACE_TOP"):
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:10]:
            print(stat, file=sys.stderr)
    out = {
        "mode": mode,
        "status": result.status,
        "errors": result.errors[:3],
        "rows": result.total_rows,
        "seconds": round(seconds, 2),
        "phases": {k: round(v, 2) for k, v in phases.items()},
        "phases_not_found": missing,
        "counts": {k: getattr(result, k) for k in counts},
        "tracemalloc_peak_kb": round(peak / 1024) if peak is not None else None,
        "rss_before_kb": rss_before,
        "rss_hwm_kb": vm("VmHWM"),
        "file_left": bool(result.file.name),
        **{k: v() if callable(v) else v for k, v in extra.items()},
    }
    print("RESULT " + json.dumps(out, ensure_ascii=False), flush=True)


def time_phases(phases: dict, spots) -> list[str]:
    """Wrap each (owner, attribute, label) of the import code so that its wall time adds
    up in phases[label]. Returns the spots the code no longer has (renamed in a
    refactoring), which are skipped: the import's total is measured regardless."""
    missing = []
    for owner, attribute, label in spots:
        fn = getattr(owner, attribute, None)
        if fn is None:
            missing.append(f"{owner.__name__}.{attribute}")
            continue

        def wrapper(*args, _fn=fn, _label=label, **kwargs):
            t = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                phases[_label] = phases.get(_label, 0.0) + time.perf_counter() - t

        setattr(owner, attribute, wrapper)
    return missing


def run_series(
    *,
    files: dict,
    small: int,
    big: int,
    unit: str,
    again: str,
    measure,
    truncate,
    summary_line,
    log,
    result: dict,
    target_seconds: float,
    profile: bool = False,
    media=None,
) -> dict:
    runs = []

    def run(label, n, mode):
        r = measure(files[n], mode, media)
        r.update(label=label, size=n)
        runs.append(r)
        traced = r["tracemalloc_peak_kb"]
        log(summary_line(label, r) + (f"  tracemalloc peak {traced} KiB" if traced else ""))
        if r.get("phases_not_found"):
            log(f"  phases no longer in the import code: {r['phases_not_found']}")
        if r["status"] != "done":
            raise RuntimeError(f"import failed: {r['errors']}")
        return r

    run(f"{small} {unit}", small, "time")
    truncate()
    run(f"{big} {unit}", big, "time")
    run(f"{big} {again}", big, "time")
    truncate()
    run(f"{small} {unit}, traced", small, "trace")
    truncate()
    run(f"{big} {unit}, traced", big, "trace")
    if profile:
        truncate()
        run(f"{big} {unit}, profiled", big, "profile")
    result["runs"] = runs
    result["machine"]["loadavg_end"] = os.getloadavg()
    timed = runs[1]
    result["target_met"] = timed["seconds"] <= target_seconds
    log(
        f"target: {big} {unit} in {timed['seconds']:.1f} s "
        f"(<= {target_seconds:.0f} s: {'met' if result['target_met'] else 'MISSED'})"
    )
    return result
