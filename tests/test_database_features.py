"""What the production database must offer the dispatcher (CONVENTIONS: claim work with
select_for_update(skip_locked=True) so two workers never take the same row)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from apps.operations.models import WorkerHeartbeat
from apps.operations.services import heartbeat_record


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_one_transaction_is_skipped_by_another() -> None:
    # given two rows, one of them locked by this thread's open transaction
    heartbeat_record(worker_name="worker-a")
    heartbeat_record(worker_name="worker-b")
    claimed_elsewhere: list[str] = []

    def claim_from_another_connection() -> None:
        try:
            with transaction.atomic():
                rows = WorkerHeartbeat.objects.select_for_update(skip_locked=True).order_by(
                    "worker_name"
                )
                claimed_elsewhere.extend(row.worker_name for row in rows)
        finally:
            connections.close_all()

    with transaction.atomic():
        locked = WorkerHeartbeat.objects.select_for_update().get(worker_name="worker-a")

        # when another connection claims with skip_locked
        other = threading.Thread(target=claim_from_another_connection)
        other.start()
        other.join(timeout=30)

    # then it took only the unlocked row, without waiting for ours
    assert locked.worker_name == "worker-a"
    assert claimed_elsewhere == ["worker-b"]


@pytest.mark.postgresql
@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit_compilation() -> None:
    # Benchmark 7: JIT compilation cost ~1 s of the clients list's 1.3 s main statement.
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
