"""`python -m bench [module ...]`: run the benchmarks, each in its own process, then write
docs/PERFORMANCE.md. Without arguments, every `bench/b*_*.py` in name order."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.common import RESULTS_DIR, ROOT, bench_environment
from bench.report import write_report

# The whole of `make bench` must stay under 20 minutes on the reference machine.
PER_BENCHMARK_TIMEOUT = 12 * 60


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("modules", nargs="*", help="e.g. b1_dispatch (default: all)")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite the doc")
    args = parser.parse_args()
    # The physical reference (b0) runs last: it compares itself with benchmarks 1 and 3.
    modules = args.modules or sorted(
        (path.stem for path in (ROOT / "bench").glob("b*_*.py")),
        key=lambda name: (name.startswith("b0_"), name),
    )
    bench_environment("check")  # fails early, with one line, when the URLs are missing
    if not args.modules:
        for stale in RESULTS_DIR.glob("*.json"):
            stale.unlink()  # a full run reports only what it measured now
    failed: list[str] = []
    started = time.monotonic()
    for module in modules:
        print(f"bench: running {module} ...", flush=True)
        began = time.monotonic()
        try:
            code = subprocess.run(
                [sys.executable, "-m", f"bench.{module}"],
                cwd=ROOT, env=bench_environment(module), timeout=PER_BENCHMARK_TIMEOUT, check=False,
            ).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            code = -1
            print(f"bench: {module} ran past {PER_BENCHMARK_TIMEOUT} s and was stopped")
        print(f"bench: {module} finished in {time.monotonic() - began:.0f} s (exit {code})")
        if code != 0:
            failed.append(module)
    total = time.monotonic() - started
    if not args.no_report:
        path = write_report(total_seconds=total if not args.modules else None)
        print(f"bench: wrote {path.relative_to(ROOT)} ({total:.0f} s in all)")
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
