"""Reads about sharing that are not a permission decision (those live in permissions.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, QuerySet

from apps.careteam.models import CareLink, PrescribedStretch

if TYPE_CHECKING:
    from apps.accounts.models import User


def stretches_for_member(*, member: User | int) -> QuerySet[PrescribedStretch]:
    """The member's active prescribed stretches, oldest prescription first, with their
    therapist loaded.

    Guarantees: no retired stretch, and none from a therapist who no longer holds an active
    link with the member (revoking hides them at once; re-linking shows them again) or whose
    account is deactivated (nobody can keep those up to date). One query when evaluated.
    """
    return _active_stretches(member=member)


def stretches_for_members(*, member_ids: Sequence[int]) -> QuerySet[PrescribedStretch]:
    """`stretches_for_member` for several members in one query (a delivery batch): the same
    guarantees and order per member; group the rows by `member_id`."""
    return _active_stretches(member_id__in=list(member_ids))


def _active_stretches(**members: object) -> QuerySet[PrescribedStretch]:
    still_linked = CareLink.objects.filter(
        member_id=OuterRef("member_id"),
        therapist_id=OuterRef("therapist_id"),
        revoked_at__isnull=True,
    )
    return (
        PrescribedStretch.objects.filter(
            **members, retired_at__isnull=True, therapist__is_active=True
        )
        .filter(Exists(still_linked))
        .select_related("therapist")
        .order_by("created_at", "id")
    )
