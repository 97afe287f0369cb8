"""Signed links in emails: act on a nudge (done, snooze, skip), unsubscribe from nudge
email, and turn off one weekly email (the therapist digest or the member's progress).

Guarantees:
- A token is `django.core.signing` output (HMAC-SHA256 with SECRET_KEY, a salt per purpose,
  a timestamp). Changing any character of it makes it invalid; a token made for one
  purpose (an action) is refused by the other (unsubscribe).
- An action token binds the action, the nudge id and the member id: it acts only on that
  member's nudge, and only while the member's account is active.
- An action link is valid for 48 hours and works once: its use is recorded
  (`UsedActionLink`, unique digest) in the same transaction as the action, so a second
  use, or two clicks racing, cannot act twice; an action the nudge refuses (already
  skipped, snoozed three times) rolls back and leaves the link unused.
- Reading a link (`action_link_read`, `unsubscribe_link_read`) never changes anything:
  mail scanners prefetch every link with GET.
- An unsubscribe link stays valid for 60 days and may be used again (unsubscribing twice
  is harmless); mail providers POST it (RFC 8058) long after the message arrived.
- A weekly unsubscribe link (its own salt) binds the member and one weekly email; using it
  turns off that weekly email only: nudge email and the other weekly email are untouched.
"""

from __future__ import annotations

import functools
import hashlib
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from apps.delivery.models import UsedActionLink
from apps.reminders import actions
from apps.reminders.models import Nudge, Schedule

if TYPE_CHECKING:
    from apps.accounts.models import User

ACTIONS = ("done", "snooze", "skip")
ACTION_LINK_MAX_AGE = timedelta(hours=48)
# US CAN-SPAM requires an opt-out to keep working for at least 30 days after sending.
UNSUBSCRIBE_LINK_MAX_AGE = timedelta(days=60)
ACTION_SALT = "stressrelief.delivery.links.action"
UNSUBSCRIBE_SALT = "stressrelief.delivery.links.unsubscribe"
WEEKLY_UNSUBSCRIBE_SALT = "stressrelief.delivery.links.weekly-unsubscribe"
# Weekly email kind (apps.progress.models.WeeklyEmail.Kind) -> the profile flag that turns
# it on; a weekly unsubscribe link sets its flag to False.
WEEKLY_EMAIL_FLAGS = {"digest": "weekly_digest_email", "progress": "weekly_progress_email"}


class LinkProblem(Exception):
    """A link that must not act. `status` is the HTTP answer, `title` and `detail` what the
    page tells the person who clicked it."""

    def __init__(self, *, status: int, title: str, detail: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail

    @classmethod
    def invalid(cls) -> LinkProblem:
        # One answer for forged, tampered and wrong-member links: never reveal whether a
        # nudge of another member exists.
        return cls(
            status=400,
            title="This link is not valid",
            detail="The link may have been cut short or changed when it was copied. "
            "Open the link straight from the email, or act on the reminder in the app.",
        )

    @classmethod
    def expired(cls, max_age: timedelta) -> LinkProblem:
        hours = int(max_age.total_seconds() // 3600)
        span = f"{hours} hours" if hours < 72 else f"{hours // 24} days"
        return cls(
            status=410,
            title="This link has expired",
            detail=f"Links in reminder emails work for {span}. "
            "You can still act on the reminder in the app.",
        )

    @classmethod
    def used(cls) -> LinkProblem:
        return cls(
            status=410,
            title="This link was already used",
            detail="Each link in a reminder email works once, and this one has done its job. "
            "Nothing was changed this time.",
        )

    @classmethod
    def gone(cls) -> LinkProblem:
        return cls(
            status=410,
            title="This reminder no longer exists",
            detail="The reminder or the account it belonged to has been removed.",
        )


@dataclass(frozen=True)
class ActionLink:
    """A verified, unused action link and the nudge it acts on."""

    token: str
    action: str
    nudge: Nudge


# --- Making links -------------------------------------------------------------------------
def action_token(*, nudge_id: int, member_id: int, action: str) -> str:
    """A signed, timestamped token for `action` on this member's nudge."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {ACTIONS}")
    return signing.dumps({"a": action, "n": nudge_id, "m": member_id}, salt=ACTION_SALT)


def action_url(*, nudge_id: int, member_id: int, action: str) -> str:
    """The absolute URL (SITE_URL, never the Host header) of an action link."""
    token = action_token(nudge_id=nudge_id, member_id=member_id, action=action)
    return absolute_url(_token_path("delivery:action", token))


def unsubscribe_token(*, member_id: int) -> str:
    return signing.dumps({"m": member_id}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(*, member_id: int) -> str:
    """The absolute URL of the member's unsubscribe page, also the RFC 8058 POST target."""
    token = unsubscribe_token(member_id=member_id)
    return absolute_url(_token_path("delivery:unsubscribe", token))


def weekly_unsubscribe_token(*, member_id: int, kind: str) -> str:
    """A signed, timestamped token that turns off the weekly email `kind` for the member."""
    if kind not in WEEKLY_EMAIL_FLAGS:
        raise ValueError(f"unknown weekly email {kind!r}; expected {list(WEEKLY_EMAIL_FLAGS)}")
    return signing.dumps({"m": member_id, "w": kind}, salt=WEEKLY_UNSUBSCRIBE_SALT)


def weekly_unsubscribe_url(*, member_id: int, kind: str) -> str:
    """The absolute URL of the page that turns off one weekly email, also the RFC 8058
    one-click POST target of that email's List-Unsubscribe header."""
    token = weekly_unsubscribe_token(member_id=member_id, kind=kind)
    return absolute_url(reverse("delivery:weekly_unsubscribe", kwargs={"token": token}))


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# A token is URL-safe base64 and ":" (django.core.signing), all of which reverse() leaves
# as they are, so the path is the route's path around the token. Resolving the route once
# (per URLconf and script prefix) instead of per link: 5 us instead of 18 us a link, four
# links an email; tests/delivery/test_delivery_cpu.py checks the result equals reverse()'s.
# The four signatures stay: one token per action and link is what makes each link single-use
# and unforgeable for the others (10 us each, not worth weakening).
_PLACEHOLDER = "placeholder"


def _token_path(name: str, token: str) -> str:
    if not token or not set(token) <= _TOKEN_CHARACTERS:
        return reverse(name, kwargs={"token": token})  # not a signer's token: reverse() quotes
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    before, after = _route_around_token(name, urlconf, get_script_prefix())
    return before + token + after


_TOKEN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_:")


@functools.lru_cache(maxsize=32)
def _route_around_token(name: str, urlconf: object, prefix: str) -> tuple[str, str]:
    before, after = reverse(name, urlconf=urlconf, kwargs={"token": _PLACEHOLDER}).split(
        _PLACEHOLDER
    )
    return before, after


# --- Reading and using links -----------------------------------------------------------
def action_link_read(*, token: str) -> ActionLink:
    """The link's action and nudge, or LinkProblem. Changes nothing."""
    payload = _verified(token, salt=ACTION_SALT, max_age=ACTION_LINK_MAX_AGE)
    action, nudge_id, member_id = payload.get("a"), payload.get("n"), payload.get("m")
    if action not in ACTIONS or not _is_id(nudge_id) or not _is_id(member_id):
        raise LinkProblem.invalid()
    nudge = Nudge.objects.select_related("member__profile").filter(pk=nudge_id).first()
    if nudge is None or not nudge.member.is_active:
        raise LinkProblem.gone()
    if nudge.member_id != member_id:
        raise LinkProblem.invalid()
    if UsedActionLink.objects.filter(digest=_digest(token)).exists():
        raise LinkProblem.used()
    return ActionLink(token=token, action=action, nudge=nudge)


def action_link_use(
    *, token: str, minutes: int = actions.DEFAULT_SNOOZE_MINUTES, now: datetime | None = None
) -> Nudge:
    """Perform the link's action through apps.reminders.actions, once.

    Raises LinkProblem for a link that must not act, and the action's ValidationError
    when the nudge refuses it; in both cases nothing changes and the link stays unused.
    `minutes` is used by snooze only.
    """
    with transaction.atomic():
        link = action_link_read(token=token)
        try:
            # A savepoint: the unique digest turns a second use into an IntegrityError
            # that must not spoil the surrounding transaction.
            with transaction.atomic():
                UsedActionLink.objects.create(
                    digest=_digest(token), nudge=link.nudge, action=link.action
                )
        except IntegrityError:
            raise LinkProblem.used() from None
        if link.action == "done":
            return actions.nudge_done(nudge=link.nudge, now=now)
        if link.action == "snooze":
            return actions.nudge_snooze(nudge=link.nudge, minutes=minutes, now=now)
        return actions.nudge_skip(nudge=link.nudge, now=now)


def unsubscribe_link_read(*, token: str) -> User:
    """The member an unsubscribe link belongs to, or LinkProblem. Changes nothing."""
    from apps.accounts.models import User

    payload = _verified(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_LINK_MAX_AGE)
    member_id = payload.get("m")
    if not _is_id(member_id):
        raise LinkProblem.invalid()
    member = User.objects.select_related("profile").filter(pk=member_id, is_active=True).first()
    if member is None:
        raise LinkProblem.gone()
    return member


@transaction.atomic
def email_unsubscribe(*, member: User) -> bool:
    """Stop email for this member: "email" leaves the profile's channels and every
    schedule's channels, in one transaction. True when something changed; a second call
    changes nothing. A profile left with no channel at all gets "in_app": the nudge row
    is the in-app message, so nothing leaves the service, and nudges do not end as
    `failed` for want of a channel."""
    from apps.profiles.models import Profile

    profile = Profile.objects.select_for_update().get(user=member)
    changed = False
    if "email" in profile.channels:
        profile.channels = [c for c in profile.channels if c != "email"] or ["in_app"]
        profile.save(update_fields=["channels", "updated_at"])
        changed = True
    schedules = [
        schedule
        for schedule in Schedule.objects.select_for_update().filter(member=member)
        if "email" in schedule.channels
    ]
    for schedule in schedules:
        # Left empty, a schedule follows the profile's channels, which no longer email.
        schedule.channels = [c for c in schedule.channels if c != "email"]
    Schedule.objects.bulk_update(schedules, ["channels"])
    return changed or bool(schedules)


@dataclass(frozen=True)
class WeeklyUnsubscribeLink:
    """A verified weekly unsubscribe link: whose, and which weekly email it turns off."""

    member: User
    kind: str


def weekly_unsubscribe_link_read(*, token: str) -> WeeklyUnsubscribeLink:
    """The member and weekly email a weekly unsubscribe link names, or LinkProblem.
    Changes nothing."""
    from apps.accounts.models import User

    try:
        payload = _verified(token, salt=WEEKLY_UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_LINK_MAX_AGE)
    except LinkProblem as problem:
        if problem.status != 410:
            raise
        days = UNSUBSCRIBE_LINK_MAX_AGE.days
        raise LinkProblem(
            status=410,
            title="This link has expired",
            detail=f"The unsubscribe link in a weekly email works for {days} days. "
            "Use the link in a more recent weekly email.",
        ) from None
    member_id, kind = payload.get("m"), payload.get("w")
    if not _is_id(member_id) or kind not in WEEKLY_EMAIL_FLAGS:
        raise LinkProblem.invalid()
    member = User.objects.select_related("profile").filter(pk=member_id, is_active=True).first()
    if member is None:
        raise LinkProblem.gone()
    return WeeklyUnsubscribeLink(member=member, kind=kind)


@transaction.atomic
def weekly_email_unsubscribe(*, member: User, kind: str) -> bool:
    """Turn off the weekly email `kind` for this member; nothing else changes (nudge
    channels, schedules and the other weekly email stay as they are). True when something
    changed; a second call changes nothing."""
    from apps.profiles.models import Profile

    flag = WEEKLY_EMAIL_FLAGS[kind]
    profile = Profile.objects.select_for_update().get(user=member)
    if not getattr(profile, flag):
        return False
    setattr(profile, flag, False)
    profile.save(update_fields=[flag, "updated_at"])
    return True


def used_action_links_prune(*, now: datetime | None = None) -> int:
    """Forget uses older than a link's lifetime: such links are refused as expired anyway."""
    cutoff = (now or timezone.now()) - ACTION_LINK_MAX_AGE - timedelta(hours=1)
    deleted, _ = UsedActionLink.objects.filter(used_at__lt=cutoff).delete()
    return deleted


def _verified(token: str, *, salt: str, max_age: timedelta) -> dict[str, Any]:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise LinkProblem.expired(max_age) from None
    except (signing.BadSignature, ValueError, UnicodeError):
        # BadSignature for anything changed; the others for bytes no signer produced.
        raise LinkProblem.invalid() from None
    if not isinstance(payload, dict):
        raise LinkProblem.invalid()
    return payload


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
