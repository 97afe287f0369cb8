"""What every benchmark shares: the bench database and broker, the result record, the
machine description. A benchmark is a module `bench/b<N>_<name>.py` with a `main()` that
returns a list of `Result`; `python -m bench` runs each in its own process and writes
docs/PERFORMANCE.md from the results.

The benchmarks never touch the database named in DATABASE_URL: each creates (and drops and
re-creates on every run) its own `<that name>_bench_<module prefix>` (e.g.
`stressrelief_bench_b1`) on the same server. Redis: the database in
REDIS_URL is FLUSHED at the start of each benchmark that uses the broker, so point
REDIS_URL at a database nothing else uses (`make bench` documents this).
"""

from __future__ import annotations

import base64
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "var" / "bench" / "results"


class BenchSetupError(SystemExit):
    pass


def required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise BenchSetupError(
            f"bench: {name} must be set (PostgreSQL and Redis on loopback), e.g. "
            "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief "
            "REDIS_URL=redis://127.0.0.1:6379/2"
        )
    return value


def bench_database_url(module: str) -> str:
    """DATABASE_URL with `_bench_<b1>` appended to the database name (never the real one)."""
    parts = urlsplit(os.environ.get("BENCH_REAL_DATABASE_URL") or required_env("DATABASE_URL"))
    if not parts.scheme.startswith("postgres"):
        raise BenchSetupError("bench: DATABASE_URL must be a PostgreSQL URL")
    name = (parts.path.lstrip("/") or "stressrelief").split("_bench_")[0]
    return urlunsplit(parts._replace(path=f"/{name}_bench_{module.split('_')[0]}"))


def bench_environment(module: str) -> dict[str, str]:
    """The environment a benchmark process (and any worker it starts) runs with."""
    env = dict(os.environ)
    env.setdefault("BENCH_REAL_DATABASE_URL", required_env("DATABASE_URL"))
    env.update(
        BENCH_MODULE=module,
        DATABASE_URL=bench_database_url(module),
        REDIS_URL=required_env("REDIS_URL"),
        DJANGO_SETTINGS_MODULE=env.get("DJANGO_SETTINGS_MODULE", "stressrelief.settings"),
        STRESSRELIEF_VAR_DIR=str(ROOT / "var" / "bench" / "var"),
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


def setup_django(module: str, settings_module: str = "stressrelief.settings") -> None:
    """Point this process at its bench database and the broker, then django.setup().
    `module` is the benchmark's module name (`b1_dispatch`)."""
    os.environ.update(bench_environment(module))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def reset_database() -> None:
    """Drop and re-create the bench database, then migrate it (a few seconds)."""
    import psycopg

    target = urlsplit(os.environ["DATABASE_URL"])  # set by setup_django
    assert "_bench_" in target.path, "reset_database() runs only after setup_django()"
    name = target.path.lstrip("/")
    admin_url = urlunsplit(target._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(required_env("REDIS_URL")).flushdb()


@dataclass
class Result:
    """One figure against its target. `higher_is_better` decides the ratio's direction:
    ratio_to_target >= 1 always means the target is met."""

    number: int  # the benchmark's number in issue 7 (1..7)
    name: str  # short label for the table, e.g. "Burst dispatch p99 lag"
    figure: float
    unit: str
    target: float
    higher_is_better: bool = False
    vs_celery_beat: float | None = None  # how many times better than django-celery-beat
    details: str = ""  # markdown for the benchmark's section: method, plan, profile, limits
    command: str = ""  # the exact command that reproduces it
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return self.figure >= self.target if self.higher_is_better else self.figure <= self.target

    @property
    def ratio_to_target(self) -> float:
        """>= 1 when met: how much room there is (or how far short, below 1)."""
        if self.higher_is_better:
            return self.figure / self.target if self.target else float("inf")
        return self.target / self.figure if self.figure else float("inf")


def write_results(module: str, results: list[Result]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{module}.json"
    path.write_text(json.dumps([asdict(result) for result in results], indent=2, default=str))
    return path


def read_results() -> list[Result]:
    results: list[Result] = []
    for path in sorted(RESULTS_DIR.glob("*.json")):
        results.extend(Result(**row) for row in json.loads(path.read_text()))
    return sorted(results, key=lambda result: (result.number, result.name))


def machine() -> dict[str, str]:
    import psutil

    return {
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "cpu": _cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run_main(module: str, main: object) -> None:
    """The `if __name__ == "__main__"` of every benchmark module."""
    results = main()  # type: ignore[operator]
    path = write_results(module, results)
    for result in results:
        verdict = "met" if result.met else "MISSED"
        print(
            f"bench {result.number}: {result.name}: {result.figure:g} {result.unit} "
            f"(target {'>=' if result.higher_is_better else '<='} {result.target:g}, {verdict})"
        )
    print(f"bench: results in {path.relative_to(ROOT)}")


def nudge_ids_in_redis() -> list[int]:
    """Every integer inside the args of every message waiting in the broker's lists: the
    delivery tasks carry only nudge ids (per member, or several members per message)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    found: list[int] = []

    def walk(value: object) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            found.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for key in client.scan_iter():
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            message = json.loads(raw)
            body = message["body"]
            if message.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)
            walk(args[0] if isinstance(args, list) else args)
            if isinstance(args, list) and len(args) > 1:
                walk(args[1])
    return found
