# ruff: noqa: E501 - the phrases read better unwrapped
"""What a nudge says, in the project's own words (facts from DOMAIN.md). Several
phrasings per kind, picked by the nudge's id, so the same reminder does not read the
same every time yet a redelivered message says exactly what the first try said.

A stretch nudge also lists the stretches the member's therapists prescribed (active ones,
from therapists the member still shares with), read in one query per message; in a delivery
batch, in one query for all the batch's members.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from apps.careteam.models import PrescribedStretch
from apps.careteam.selectors import stretches_for_member, stretches_for_members
from apps.reminders.models import Nudge, NudgeKind

# A nudge is a prompt, not a care plan: a few stretches with short instructions keep the
# email readable and the push payload well under its 3 KB (webpush.PAYLOAD_LIMIT_BYTES).
STRETCHES_IN_MESSAGE = 5
INSTRUCTIONS_IN_MESSAGE = 160  # characters, cut at a word

PHRASES: dict[str, tuple[tuple[str, str], ...]] = {
    NudgeKind.MINDFULNESS: (
        ("Ten quiet minutes", "Sit comfortably, let your shoulders drop and follow your breath for 10 minutes."),
        ("A pause for your shoulders", "Stress tightens the neck and shoulders without us noticing. Ten minutes of slow breathing loosens them."),
        ("Time to unclench", "Check your jaw, neck and shoulders, then give yourself 10 calm minutes."),
    ),
    NudgeKind.HYDRATION: (
        ("A glass of water", "Muscles cramp more easily when you are low on fluids. Have a glass now."),
        ("Drink some water", "Small, regular drinks beat one big one. A glass now keeps you topped up."),
        ("Water break", "Especially in the heat: a glass of water helps keep cramps away."),
    ),
    NudgeKind.MOVEMENT: (
        ("Up and walk", "You have been sitting a while. Stand up and walk for a couple of minutes."),
        ("Break the posture", "Holding one position tires muscles. A short walk resets them."),
        ("Stretch your legs", "Thirty minutes at the desk is enough: get up and move for a moment."),
    ),
    NudgeKind.STRETCH: (
        ("Stretch time", "A gentle stretch lengthens the muscle, the opposite of a spasm. Hold each one, breathe, no bouncing."),
        ("Loosen up", "Stretching often eases the tension that forms tender knots. Take two minutes now."),
        ("A few stretches", "Neck, shoulders and back: slow stretches, held without pain."),
    ),
    NudgeKind.WARMUP: (
        ("Warm up first", "Before exercise or physical work, warm up for a few minutes: cold muscles cramp more easily."),
        ("Get warm", "A few minutes of easy movement before you start protects your muscles."),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Message:
    """One message to a member, covering one or more nudges due together."""

    nudge_ids: tuple[int, ...]
    title: str
    body: str
    lines: tuple[tuple[str, str], ...]  # (title, text) per nudge, for a bundled message
    # 0 for the first sending; the snooze count after a snooze: a snoozed nudge sent
    # again is a new message (its own Message-ID), a retry of one sending is not.
    round: int = 0


def compose(nudges: Sequence[Nudge]) -> Message:
    """The message for these nudges of one member (the first nudge's member).

    The first stretch nudge's text ends with the member's prescribed stretches, when there
    are any (a bundle lists them once). They are read once per call, whatever the number
    of nudges, and only the recipient's: a nudge of anybody else never gets them.
    Prescriptions are read at send time, so a retry after the therapist edited one shows
    the edit.
    """
    stretches = _prescribed_stretches(nudges)
    first_stretch = next((n for n in nudges if n.kind == NudgeKind.STRETCH), None)
    lines = tuple(
        _with_stretches(_phrase(nudge), stretches)
        if nudge is first_stretch and nudge.member_id == nudges[0].member_id
        else _phrase(nudge)
        for nudge in nudges
    )
    if len(lines) == 1:
        title, body = lines[0]
    else:
        title = " and ".join(line[0] for line in lines[:2]) + (
            " and more" if len(lines) > 2 else ""
        )
        body = "\n".join(f"{line[0]}: {line[1]}" for line in lines)
    return Message(
        nudge_ids=tuple(nudge.pk for nudge in nudges),
        title=title,
        body=body,
        lines=lines,
        round=max(nudge.snooze_count for nudge in nudges),
    )


def _phrase(nudge: Nudge) -> tuple[str, str]:
    choices = PHRASES[nudge.kind]
    return choices[nudge.pk % len(choices)]


def _prescribed_stretches(nudges: Sequence[Nudge]) -> list[PrescribedStretch]:
    """The recipient's active prescribed stretches if a stretch nudge is among `nudges`
    (one query), else none (no query)."""
    if not any(nudge.kind == NudgeKind.STRETCH for nudge in nudges):
        return []
    member_id = nudges[0].member_id
    # Imported here: transports imports this module for Message.
    from apps.delivery.transports import batch_loaded, batch_member_ids

    if member_id in batch_member_ids():
        # In a delivery batch, one query for every member's stretches at the first stretch
        # message, instead of one heavy query (an EXISTS over care links) per message: a
        # batch of 50 stretch emails on PostgreSQL, in-process, 2.9 -> 1.4 ms of CPU each.
        # Read at the batch's start (seconds before its last send), still at send time.
        batch = batch_loaded("prescribed_stretches", _stretches_by_member)
        if batch is not None:
            return batch.get(member_id, [])
    return list(stretches_for_member(member=member_id))


def _stretches_by_member(member_ids: tuple[int, ...]) -> dict[int, list[PrescribedStretch]]:
    found: dict[int, list[PrescribedStretch]] = {}
    for stretch in stretches_for_members(member_ids=member_ids):
        found.setdefault(stretch.member_id, []).append(stretch)
    return found


def _with_stretches(line: tuple[str, str], stretches: list[PrescribedStretch]) -> tuple[str, str]:
    if not stretches:
        return line
    title, text = line
    shown = stretches[:STRETCHES_IN_MESSAGE]
    items = [f"- {describe_stretch(stretch)}" for stretch in shown]
    if len(stretches) > len(shown):
        items.append(f"- and {len(stretches) - len(shown)} more your therapist prescribed.")
    return title, "\n".join([text, "", "From your therapist:", *items])


def describe_stretch(stretch: PrescribedStretch) -> str:
    """`Name: hold 30 seconds, 3 times. Short instructions…` on one line."""
    times = ""
    if stretch.repetitions:
        times = ", once" if stretch.repetitions == 1 else f", {stretch.repetitions} times"
    instructions = textwrap.shorten(
        stretch.instructions, width=INSTRUCTIONS_IN_MESSAGE, placeholder="…"
    )
    return f"{stretch.name}: hold {stretch.hold_seconds} seconds{times}. {instructions}"
