"""`python manage.py dispatch_nudges`: one dispatcher tick now (the beat task's service)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.reminders.dispatch import dispatch_tick
from worker.tasks import enqueue_deliveries


class Command(BaseCommand):
    help = "Run one dispatcher tick now; --loop keeps ticking every minute until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="tick every --interval seconds")
        parser.add_argument("--interval", type=float, default=60.0)

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        while True:
            report = dispatch_tick(enqueue=enqueue_deliveries)
            self.stdout.write(
                f"{report.schedules} schedules, {report.created} nudges created, "
                f"{report.enqueued} enqueued, {report.requeued} re-enqueued, "
                f"{report.missed} missed, {report.suppressed} suppressed, "
                f"{report.unsnoozed} back from snooze"
            )
            if not loop:
                return
            try:
                time.sleep(interval)
            except KeyboardInterrupt:
                return
