"""Check the database and the broker from the command line (compose health checks)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.operations.selectors import health_report, heartbeats_recent


class Command(BaseCommand):
    help = "Exit 0 when the database and the broker answer; otherwise name what does not."

    def handle(self, *args: Any, **options: Any) -> None:
        report = health_report()
        for name, health in report.items():
            self.stdout.write(f"{name}: {'ok' if health.ok else 'unavailable: ' + health.detail}")
        failed = [name for name, health in report.items() if not health.ok]
        if failed:
            raise CommandError(f"unavailable: {', '.join(failed)}")
        workers = heartbeats_recent()
        # Informational: a worker heartbeat needs beat and a worker, which may not run here.
        self.stdout.write(
            "workers seen in the last 5 minutes: "
            + (", ".join(h.worker_name for h in workers) if workers else "none")
        )
