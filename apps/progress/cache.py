"""The progress document (`progress/`, `clients/{id}/progress/`), kept for a short while.

Why: computing a member's progress reads their whole history (streaks) and the figures'
days: ~13 ms of database and Python per request for a year of history, against ~0.4 ms
to read a kept document and render it (issue 7, benchmark 6, measured on this project's
2-core machine). An app that polls, a page reloaded, a therapist opening a client
several times: the same document, computed once.

What a reader sees (the guarantee):
- The member's own changes show at once. Every service a member (or their therapist
  acting through a service) uses to change what progress counts calls
  `progress_cache_expire` on commit: acting on a nudge, logging a habit or a mindfulness
  session, a check-in, editing or deleting one, the profile (time zone, water goal,
  workdays, streaks shown).
- Changes the system makes (the dispatcher's new nudges, a delivery marked sent, a
  nudge that expires unanswered, nudges a pause suppresses) and edits outside the
  services (the Django admin, a shell) show within settings.PROGRESS_CACHE_SECONDS
  (30 s): a document is never used when it is older than that by the request's clock,
  nor on another local day than the one it was computed on.
- A kept document is used only with the same member, period and categories (the
  categories a therapist may see are checked before this module is asked).
- No cache (Redis unreachable): the document is computed, as if nothing were kept.

How: one cache round trip per request (MGET of the document and the member's
generation). A change sets a new random generation; a document computed under another
generation is not used. The generation is read before the database, and set only after
the change committed, so a document computed from rows older than a change can never
carry that change's generation. The generation outlives every document
(GENERATION_LIFETIMES), so its expiry cannot bring an older document back.

With REDIS_URL (production, and `make run`'s embedded Redis) every web process shares
the cache. Without it Django's per-process memory cache is used: that is right for one
web process (runserver); several web processes on one machine need REDIS_URL anyway for
the broker.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from apps.progress import figures, selectors
from apps.progress.serializers import progress_document

if TYPE_CHECKING:
    from apps.accounts.models import User

logger = logging.getLogger(__name__)

# The generation must outlive every document stored under the previous one.
GENERATION_LIFETIMES = 4
# What a reader may be allowed to see: the member everything, a therapist one or both.
_READER_CATEGORIES = (
    selectors.EVERYTHING,
    frozenset({selectors.ADHERENCE}),
    frozenset({selectors.CHECKINS}),
)


@dataclass(frozen=True)
class _Kept:
    generation: str | None
    computed_at: datetime
    time_zone: str
    today: date
    document: dict[str, Any]


def progress_document_for_member(
    *,
    member: User,
    now: datetime,
    days: int,
    include: frozenset[str] = selectors.EVERYTHING,
) -> dict[str, Any]:
    """The response body of `progress_for_member(member, now, days, include)`, kept for
    PROGRESS_CACHE_SECONDS and recomputed after any change the member made (see the module)."""
    max_age = settings.PROGRESS_CACHE_SECONDS
    document_key = _document_key(member_id=member.pk, days=days, include=include)
    generation_key = _generation_key(member.pk)
    found = _kept_and_generation(document_key, generation_key) if max_age else None
    if found is not None:
        kept = found.get(document_key)
        if isinstance(kept, _Kept) and _still_valid(
            kept, generation=found.get(generation_key), now=now, max_age=max_age
        ):
            return kept.document

    progress = selectors.progress_for_member(member=member, now=now, days=days, include=include)
    document = progress_document(progress)
    if found is not None:  # None: nothing is kept (no lifetime, or no cache to keep it in)
        fresh = _Kept(found.get(generation_key), now, progress.time_zone, progress.today, document)
        try:
            cache.set(document_key, fresh, max_age)
        except Exception:
            logger.warning("progress cache unreachable; the progress document was not kept")
    return document


def _kept_and_generation(document_key: str, generation_key: str) -> dict[str, Any] | None:
    """Both in one round trip; None when the cache does not answer."""
    try:
        return cache.get_many([document_key, generation_key])
    except Exception:  # any cache failure: the caller computes the document, keeps nothing
        logger.warning("progress cache unreachable; computing the progress document")
        return None


def progress_cache_expire(*, member_id: int) -> None:
    """After the current transaction commits, stop every kept progress document of
    `member_id` from being used. Call it from every service that changes what progress
    counts for a member."""
    transaction.on_commit(lambda: _generation_renew(member_id))


def progress_cache_forget(*, member_id: int) -> None:
    """After the current transaction commits, delete every progress document kept for
    `member_id` (an erased member's figures must not outlive their rows, even for
    PROGRESS_CACHE_SECONDS)."""
    transaction.on_commit(lambda: _documents_delete(member_id))


def _documents_delete(member_id: int) -> None:
    keys = [
        _document_key(member_id=member_id, days=days, include=include)
        for days in figures.PERIODS
        for include in _READER_CATEGORIES
    ]
    try:
        cache.delete_many([*keys, _generation_key(member_id)])
    except Exception:
        logger.warning("progress cache unreachable; kept documents expire on their own")


def _generation_renew(member_id: int) -> None:
    try:
        lifetime = GENERATION_LIFETIMES * max(settings.PROGRESS_CACHE_SECONDS, 1)
        cache.set(_generation_key(member_id), secrets.token_hex(8), lifetime)
    except Exception:
        # The change is stored; only its display may lag, by PROGRESS_CACHE_SECONDS at most.
        logger.warning("progress cache unreachable; kept documents expire on their own")


def _still_valid(kept: _Kept, *, generation: str | None, now: datetime, max_age: int) -> bool:
    age = (now - kept.computed_at).total_seconds()
    return (
        kept.generation == generation
        and 0 <= age < max_age
        and now.astimezone(ZoneInfo(kept.time_zone)).date() == kept.today
    )


def _document_key(*, member_id: int, days: int, include: frozenset[str]) -> str:
    return f"progress:v1:document:{member_id}:{days}:{'+'.join(sorted(include))}"


def _generation_key(member_id: int) -> str:
    return f"progress:v1:generation:{member_id}"
