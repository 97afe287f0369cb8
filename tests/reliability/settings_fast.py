"""Settings for the worker and beat processes of the fault-injection tests.

The product's settings, plus shorter waits so a scenario recovers in seconds against a
real clock instead of minutes. Each wait comes from an environment variable the harness
(tests/reliability/harness.py) sets per scenario:

- STRESSRELIEF_FAULT_DISPATCH_EVERY: seconds between the beat's dispatcher ticks (1 min);
- STRESSRELIEF_FAULT_REQUEUE_AFTER: seconds before a pending nudge handed to the broker
  is handed over again (2 min);
- STRESSRELIEF_FAULT_RECLAIM_AFTER: seconds before a nudge stuck `sending` (its worker
  died) goes back to pending (5 min);
- STRESSRELIEF_FAULT_BACKOFF_BASE: the first delivery retry's backoff ceiling in seconds,
  doubling per try (30 s).
"""

from __future__ import annotations

import os
from datetime import timedelta

from stressrelief.settings import *  # noqa: F403
from worker import schedule as _schedule

DISPATCH_EVERY = float(os.environ.get("STRESSRELIEF_FAULT_DISPATCH_EVERY", "2"))
DELIVERY_BACKOFF_BASE = float(os.environ.get("STRESSRELIEF_FAULT_BACKOFF_BASE", "30"))
DISPATCH_REQUEUE_AFTER = timedelta(
    seconds=float(os.environ.get("STRESSRELIEF_FAULT_REQUEUE_AFTER", "15"))
)
DISPATCH_RECLAIM_AFTER = timedelta(
    seconds=float(os.environ.get("STRESSRELIEF_FAULT_RECLAIM_AFTER", "20"))
)

# The Celery app installs worker.schedule.BEAT_SCHEDULE itself once finalized (after the
# settings are read), so the tick is made faster in that dict, in this process only.
_schedule.BEAT_SCHEDULE["dispatch-nudges"] = {
    **_schedule.BEAT_SCHEDULE["dispatch-nudges"],
    "schedule": timedelta(seconds=DISPATCH_EVERY),
    # A tick queued behind a burst of deliveries is superseded by a later one.
    "options": {"expires": max(10.0, DISPATCH_EVERY * 5)},
}
