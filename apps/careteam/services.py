"""Writes about sharing: invitations, accepting, changing and revoking links, access logs,
and the stretches a therapist prescribes to a client."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.careteam.models import (
    NOTE_TEXT_MAX_LENGTH,
    AccessLogEntry,
    CareLink,
    Invitation,
    PrescribedStretch,
    TherapistNote,
)
from apps.careteam.permissions import active_links_of_therapist, shared_categories

if TYPE_CHECKING:
    from apps.accounts.models import User

INVITATION_LIFETIME = timedelta(days=7)
# No 0/O, 1/I/L: codes are read aloud and typed from paper. 8 characters of 31: ~40 bits,
# and accepting is throttled, so guessing a live code is impractical.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
INVALID_CODE_MESSAGE = "This code is not valid. Ask your therapist for a new one."
USED_CODE_MESSAGE = "This code has been used already. Ask your therapist for a new one."
EXPIRED_CODE_MESSAGE = (
    "This code has expired (codes last 7 days). Ask your therapist for a new one."
)


@dataclass(frozen=True)
class Shares:
    adherence: bool = True
    checkins: bool = True
    notes: bool = False


def normalise_code(code: str) -> str:
    """Upper-case, without spaces or dashes: 'k7qx-m2pd' and 'K7QXM2PD' are one code."""
    return "".join(character for character in code.upper() if character.isalnum())


def code_digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def invitation_create(*, therapist: User) -> tuple[Invitation, str]:
    """A new one-time code for `therapist`; the clear code is returned once, never stored."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invitation = Invitation.objects.create(
        therapist=therapist,
        code_digest=code_digest(code),
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    return invitation, format_code(code)


@transaction.atomic
def care_link_accept(*, member: User, code: str, shares: Shares) -> CareLink:
    """Use an invitation code: link `member` to its therapist with the chosen shares.

    The invitation row is locked (and, through select_related, the therapist's user row
    with it), so two members racing for one code cannot both win; the partial unique
    constraint on active links backs the "already sharing" check. Errors are
    ValidationErrors on the `code` field.
    """
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("therapist")
        .filter(code_digest=code_digest(code))
        .first()
    )
    if invitation is None or not invitation.therapist.is_active:
        raise ValidationError({"code": [INVALID_CODE_MESSAGE]})
    if invitation.accepted_at is not None:
        raise ValidationError({"code": [USED_CODE_MESSAGE]})
    now = timezone.now()
    if invitation.expires_at <= now:
        raise ValidationError({"code": [EXPIRED_CODE_MESSAGE]})
    if invitation.therapist_id == member.pk:
        raise ValidationError({"code": ["You cannot share with yourself."]})
    if CareLink.objects.filter(
        member=member, therapist=invitation.therapist, revoked_at__isnull=True
    ).exists():
        raise ValidationError(
            {"code": ["You already share with this therapist; change what you share instead."]}
        )
    invitation.accepted_at = now
    invitation.accepted_by = member
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return CareLink.objects.create(
        member=member,
        therapist=invitation.therapist,
        share_adherence=shares.adherence,
        share_checkins=shares.checkins,
        share_notes=shares.notes,
    )


def care_link_update(*, link: CareLink, shares: Shares) -> CareLink:
    """Change what the member shares; takes effect on the therapist's next request."""
    link.share_adherence = shares.adherence
    link.share_checkins = shares.checkins
    link.share_notes = shares.notes
    link.save(update_fields=["share_adherence", "share_checkins", "share_notes", "updated_at"])
    return link


def care_link_revoke(*, link: CareLink) -> CareLink:
    """End the therapist's access now. Idempotent."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at", "updated_at"])
    return link


def access_log_record(*, link: CareLink, categories: list[str], what: str) -> AccessLogEntry:
    """Write down that the link's therapist read these categories of the member's data."""
    therapist = link.therapist
    return AccessLogEntry.objects.create(
        member_id=link.member_id,
        therapist=therapist,
        therapist_name=therapist.display_name or therapist.email,
        categories=categories,
        what=what,
    )


# A therapist paging back and forth through a list writes one entry per client and clock
# hour, not one per page view: the member's log stays readable and still shows each hour.
LIST_READ_CATEGORIES = ("adherence", "checkins")


def access_log_record_list(*, therapist: User, links: list[CareLink], what: str) -> None:
    """Log that `therapist` saw the figures of these clients in a list (the categories each
    link shares), at most once per client, list and clock hour: one INSERT for any number
    of clients (the unique key skips what this hour already holds)."""
    name = therapist.display_name or therapist.email
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    entries = []
    for link in links:
        categories = [c for c in shared_categories(link) if c in LIST_READ_CATEGORIES]
        if categories:
            entries.append(
                AccessLogEntry(
                    member_id=link.member_id,
                    therapist=therapist,
                    therapist_name=name,
                    categories=categories,
                    what=what,
                    list_read_hour=hour,
                )
            )
    if entries:
        AccessLogEntry.objects.bulk_create(entries, ignore_conflicts=True)


# Not re-validated by full_clean (each would cost a query): the link check covers them.
STRETCH_PARTIES = ["therapist", "member"]
NOT_A_CLIENT_MESSAGE = "You can prescribe only to a client who currently shares with you."


class StretchChanges(TypedDict, total=False):
    """The fields of a prescribed stretch a therapist may change; absent keys stay."""

    name: str
    instructions: str
    hold_seconds: int
    repetitions: int | None


def prescribed_stretch_create(
    *,
    therapist: User,
    member: User,
    name: str,
    instructions: str,
    hold_seconds: int,
    repetitions: int | None = None,
) -> PrescribedStretch:
    """Prescribe a stretch to `member`.

    Guarantees: the member holds an active link to `therapist` at the time of the write,
    and every field is within the model's bounds; otherwise a ValidationError that names
    the field (`member`, `name`, `hold_seconds`, ...) and nothing is written.
    """
    if not active_links_of_therapist(therapist=therapist).filter(member=member).exists():
        raise ValidationError({"member": [NOT_A_CLIENT_MESSAGE]})
    stretch = PrescribedStretch(
        therapist=therapist,
        member=member,
        name=name.strip(),
        instructions=instructions.strip(),
        hold_seconds=hold_seconds,
        repetitions=repetitions,
    )
    stretch.full_clean(exclude=STRETCH_PARTIES)
    stretch.save()
    return stretch


def prescribed_stretch_update(
    *, stretch: PrescribedStretch, changes: StretchChanges
) -> PrescribedStretch:
    """Apply `changes` to `stretch`; the next stretch nudge shows them.

    Guarantees: all or nothing. An out-of-bounds value is a ValidationError that names the
    field, and the row is left as it was.
    """
    cleaned: dict[str, object] = {
        field: value.strip() if isinstance(value, str) else value
        for field, value in changes.items()
    }
    previous = {field: getattr(stretch, field) for field in cleaned}
    for field, value in cleaned.items():
        setattr(stretch, field, value)
    try:
        stretch.full_clean(exclude=STRETCH_PARTIES)
    except ValidationError:
        # The caller's instance must not keep values the database never got.
        for field, value in previous.items():
            setattr(stretch, field, value)
        raise
    stretch.save(update_fields=[*cleaned, "updated_at"])
    return stretch


def prescribed_stretch_retire(*, stretch: PrescribedStretch) -> PrescribedStretch:
    """Stop showing the stretch in nudges and lists from now on. Idempotent; the row stays
    for the member's export."""
    if stretch.retired_at is None:
        stretch.retired_at = timezone.now()
        stretch.save(update_fields=["retired_at", "updated_at"])
    return stretch


def therapist_note_add(*, link: CareLink, text: str) -> TherapistNote:
    """Add the link's therapist's private note about the link's member. The caller has
    checked the link is the therapist's and active (permissions.link_for_therapist_read)."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": ["Write the note first."]})
    if len(text) > NOTE_TEXT_MAX_LENGTH:
        raise ValidationError(
            {"text": [f"A note holds at most {NOTE_TEXT_MAX_LENGTH} characters."]}
        )
    return TherapistNote.objects.create(
        therapist_id=link.therapist_id, member_id=link.member_id, text=text
    )
