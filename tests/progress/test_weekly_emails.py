"""Weekly emails: the therapist digest and the member's weekly progress, every Monday at
08:00 in the recipient's own time zone, once per person and week whatever the number of
runs, with one-click unsubscribe that turns off that weekly email only.

Content tests read django.core.mail.outbox (locmem); the SMTP tests talk to a real local
SMTP server (aiosmtpd), and the last test runs a real Celery worker process against it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.schedules import crontab
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.accounts.export import member_export
from apps.accounts.models import User
from apps.careteam.models import AccessLogEntry
from apps.careteam.services import care_link_revoke
from apps.delivery import links
from apps.progress.models import WeeklyEmail
from apps.progress.weekly import (
    MAX_TRIES,
    SWEEP_AFTER,
    weekly_email_send,
    weekly_emails_due,
)
from apps.reminders.models import Nudge
from apps.tracking.pain import PERSISTENT_PAIN_MESSAGE
from tests.conftest import WorkerProcess, wait_until
from tests.delivery.smtp_sink import SmtpSink
from tests.factories import (
    make_activity,
    make_checkin,
    make_link,
    make_member,
    make_therapist,
)
from worker.schedule import BEAT_SCHEDULE
from worker.tasks import enqueue_weekly_emails

SITE = "https://stressrelief.example"
MONDAY = date(2026, 11, 2)  # the Monday after New York and Europe fall back
CLIENTS_URL = f"{SITE}/admin/progress/client/?attention=any"
DIGEST, PROGRESS = WeeklyEmail.Kind.DIGEST, WeeklyEmail.Kind.PROGRESS
Status = WeeklyEmail.Status


# --- Fixtures and helpers ------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = SITE


def local(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def set_profile(person: User, **fields: object) -> User:
    profile = person.profile
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save(update_fields=list(fields))
    return person


def named(person: User, name: str) -> User:
    person.display_name = name
    person.save(update_fields=["display_name"])
    return person


def therapist_with_a_client(zone: str = "UTC") -> User:
    """A therapist in `zone` with one active client (created at the current clock)."""
    therapist = set_profile(make_therapist(), timezone=zone)
    make_link(member=make_member(), therapist=therapist)
    return therapist


def opted_in_member(zone: str = "UTC", **fields: object) -> User:
    return set_profile(make_member(timezone=zone), weekly_progress_email=True, **fields)


@pytest.fixture
def run_at(django_capture_on_commit_callbacks) -> Callable[[datetime], list[int]]:
    """`run_at(moment)`: one run of the due-finder at `moment`, as beat would start it;
    returns the ids it enqueued once its transaction committed."""

    def run(moment: datetime) -> list[int]:
        enqueued: list[int] = []
        with (
            time_machine.travel(moment, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            weekly_emails_due(enqueue=enqueued.extend)
        return enqueued

    return run


def send_at(moment: datetime, ids: list[int]) -> list[str]:
    """What a worker does with each enqueued id at `moment`: the statuses afterwards."""
    with time_machine.travel(moment, tick=False):
        return [weekly_email_send(email_id=email_id).status for email_id in ids]


def rows(person: User) -> list[tuple[str, date, str]]:
    return list(
        WeeklyEmail.objects.filter(recipient=person)
        .order_by("week_start", "kind")
        .values_list("kind", "week_start", "status")
    )


def only_email_to(person: User) -> mail.EmailMultiAlternatives:
    sent = [message for message in mail.outbox if message.to == [person.email]]
    assert len(sent) == 1, [message.subject for message in mail.outbox]
    return sent[0]  # type: ignore[return-value]


def html_of(message: mail.EmailMultiAlternatives) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(html)


def token_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/").split("/")[-1]


# --- When: Monday 08:00 in the recipient's own zone -------------------------------------------
# (zone, the UTC moment of Monday 08:00 local)
EIGHT_O_CLOCK = {
    "Kathmandu (+05:45)": ("Asia/Kathmandu", datetime(2026, 11, 2, 2, 15, tzinfo=UTC)),
    "New York after fall-back": ("America/New_York", datetime(2026, 11, 2, 13, 0, tzinfo=UTC)),
    "New York in October": ("America/New_York", datetime(2026, 10, 26, 12, 0, tzinfo=UTC)),
    "Lord Howe (+11)": ("Australia/Lord_Howe", datetime(2026, 11, 1, 21, 0, tzinfo=UTC)),
    "Lord Howe (+10:30)": ("Australia/Lord_Howe", datetime(2026, 5, 31, 21, 30, tzinfo=UTC)),
    "Kiritimati (+14)": ("Pacific/Kiritimati", datetime(2026, 11, 1, 18, 0, tzinfo=UTC)),
    "GMT-12": ("Etc/GMT+12", datetime(2026, 11, 2, 20, 0, tzinfo=UTC)),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "eight_local"), EIGHT_O_CLOCK.values(), ids=EIGHT_O_CLOCK)
def test_the_digest_goes_at_the_first_quarter_hour_run_at_monday_eight_local(
    run_at, zone: str, eight_local: datetime
) -> None:
    with time_machine.travel(eight_local - timedelta(days=3), tick=False):
        therapist = therapist_with_a_client(zone)
    monday = eight_local.astimezone(ZoneInfo(zone)).date()
    assert monday.weekday() == 0

    # the run a quarter of an hour earlier finds nothing
    assert run_at(eight_local - timedelta(minutes=15)) == []
    assert rows(therapist) == []

    # the run at 08:00 local creates it and a worker sends it
    [email_id] = run_at(eight_local)
    assert send_at(eight_local + timedelta(seconds=5), [email_id]) == [Status.SENT]
    assert rows(therapist) == [(DIGEST, monday, Status.SENT)]
    assert only_email_to(therapist).subject.startswith("Your client")


@pytest.mark.django_db
def test_a_member_in_kathmandu_gets_the_progress_email_at_0215_utc_and_not_at_0200(
    run_at,
) -> None:
    with time_machine.travel(datetime(2026, 10, 30, 12, 0, tzinfo=UTC), tick=False):
        member = opted_in_member("Asia/Kathmandu")

    assert run_at(datetime(2026, 11, 2, 2, 0, tzinfo=UTC)) == []
    enqueued = run_at(datetime(2026, 11, 2, 2, 15, tzinfo=UTC))

    assert [row[:2] for row in rows(member)] == [(PROGRESS, MONDAY)]
    assert enqueued == [WeeklyEmail.objects.get(recipient=member).pk]


@pytest.mark.django_db
def test_running_the_finder_twice_creates_and_enqueues_one_email_per_person_and_week(
    run_at,
) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = therapist_with_a_client()
        member = opted_in_member()

    first = run_at(eight)
    again = run_at(eight)
    send_at(eight, first)
    later = run_at(eight + timedelta(minutes=15))

    assert len(first) == 2
    assert again == []
    assert later == []
    assert rows(therapist) == [(DIGEST, MONDAY, Status.SENT)]
    assert rows(member) == [(PROGRESS, MONDAY, Status.SENT)]
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_run_that_loses_the_insert_to_another_beat_enqueues_nothing(
    run_at, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a second beat that inserts the same row between this run's read and its insert
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = therapist_with_a_client()
    from apps.progress import weekly

    read_recipients = weekly._recipients

    def other_beat_inserts_first(kind: str, **arguments: object) -> list[int]:
        found = read_recipients(kind, **arguments)  # type: ignore[arg-type]
        WeeklyEmail.objects.create(recipient=therapist, kind=kind, week_start=MONDAY)
        return found

    monkeypatch.setattr(weekly, "_recipients", other_beat_inserts_first)

    # when this run inserts too
    enqueued = run_at(eight)

    # then the other beat's row is the only one and this run does not send it
    assert enqueued == []
    assert rows(therapist) == [(DIGEST, MONDAY, Status.PENDING)]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_beats_at_the_same_moment_on_postgresql_create_each_email_once() -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        people = [therapist_with_a_client() for _ in range(5)]
        people += [opted_in_member() for _ in range(20)]
    start = threading.Barrier(2)
    enqueued: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def beat(index: int) -> None:
        try:
            start.wait()
            weekly_emails_due(enqueue=enqueued[index].extend)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    with time_machine.travel(eight, tick=False):
        threads = [threading.Thread(target=beat, args=(index,)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert WeeklyEmail.objects.count() == len(people)
    assert sorted(enqueued[0] + enqueued[1]) == sorted(
        WeeklyEmail.objects.values_list("id", flat=True)
    )


@pytest.mark.django_db
def test_next_monday_is_a_new_email(run_at) -> None:
    eight = local(MONDAY, 8, 0, "Europe/Berlin")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = therapist_with_a_client("Europe/Berlin")

    send_at(eight, run_at(eight))
    next_week = run_at(eight + timedelta(days=7))
    send_at(eight + timedelta(days=7), next_week)

    assert rows(therapist) == [
        (DIGEST, MONDAY, Status.SENT),
        (DIGEST, MONDAY + timedelta(days=7), Status.SENT),
    ]
    assert len(mail.outbox) == 2


# --- Late beats: the same Monday still sends, Tuesday is stale -----------------------------------
@pytest.mark.django_db
def test_a_beat_back_at_eleven_on_monday_still_sends_the_weeks_email(run_at) -> None:
    zone = "America/New_York"
    with time_machine.travel(local(MONDAY, 7, 0, zone) - timedelta(days=2), tick=False):
        therapist = therapist_with_a_client(zone)

    eleven = local(MONDAY, 11, 0, zone)
    statuses = send_at(eleven, run_at(eleven))

    assert statuses == [Status.SENT]
    assert rows(therapist) == [(DIGEST, MONDAY, Status.SENT)]


@pytest.mark.django_db
def test_a_beat_back_only_on_tuesday_skips_that_weeks_email(run_at) -> None:
    zone = "America/New_York"
    with time_machine.travel(local(MONDAY, 7, 0, zone) - timedelta(days=2), tick=False):
        therapist = therapist_with_a_client(zone)
        member = opted_in_member(zone)

    assert run_at(local(MONDAY + timedelta(days=1), 0, 0, zone)) == []
    assert run_at(local(MONDAY + timedelta(days=1), 8, 0, zone)) == []

    assert rows(therapist) == []
    assert rows(member) == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_last_run_of_monday_in_the_latest_zone_still_sends(run_at) -> None:
    zone = "Etc/GMT+12"  # Monday 23:45 there is Tuesday 11:45 UTC
    with time_machine.travel(local(MONDAY, 7, 0, zone) - timedelta(days=2), tick=False):
        therapist = therapist_with_a_client(zone)

    quarter_to_midnight = local(MONDAY, 23, 45, zone)
    statuses = send_at(quarter_to_midnight, run_at(quarter_to_midnight))

    assert statuses == [Status.SENT]
    assert rows(therapist) == [(DIGEST, MONDAY, Status.SENT)]


@pytest.mark.django_db
def test_an_email_created_on_monday_but_picked_up_on_tuesday_is_skipped_not_sent(
    run_at,
) -> None:
    zone = "Asia/Kathmandu"
    with time_machine.travel(local(MONDAY, 7, 0, zone) - timedelta(days=2), tick=False):
        therapist = therapist_with_a_client(zone)
    ids = run_at(local(MONDAY, 8, 0, zone))

    statuses = send_at(local(MONDAY + timedelta(days=1), 0, 5, zone), ids)

    assert statuses == [Status.SKIPPED]
    assert mail.outbox == []
    assert "stale" in WeeklyEmail.objects.get(recipient=therapist).error


# --- Who gets which email -----------------------------------------------------------------------
@pytest.mark.django_db
def test_a_therapist_who_turned_the_digest_off_gets_nothing(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = set_profile(therapist_with_a_client(), weekly_digest_email=False)

    assert run_at(eight) == []
    assert rows(therapist) == []


@pytest.mark.django_db
def test_a_therapist_without_an_active_client_gets_nothing(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = make_therapist()
        care_link_revoke(link=make_link(member=make_member(), therapist=therapist))

    assert run_at(eight) == []
    assert rows(therapist) == []


@pytest.mark.django_db
def test_a_member_who_did_not_opt_in_gets_no_progress_email(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        member = make_member()  # weekly_progress_email is off by default

    assert member.profile.weekly_progress_email is False
    assert run_at(eight) == []
    assert rows(member) == []


@pytest.mark.django_db
def test_a_member_who_unsubscribed_from_reminder_emails_gets_no_progress_email(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        member = opted_in_member()
        links.email_unsubscribe(member=member)

    assert run_at(eight) == []
    assert rows(member) == []


@pytest.mark.django_db
def test_an_inactive_account_gets_nothing(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = therapist_with_a_client()
        member = opted_in_member()
    User.objects.filter(pk__in=[therapist.pk, member.pk]).update(is_active=False)

    assert run_at(eight) == []
    assert rows(therapist) == []
    assert rows(member) == []


@pytest.mark.django_db
def test_opting_out_after_the_email_was_created_skips_it(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        member = opted_in_member()
    ids = run_at(eight)
    links.email_unsubscribe(member=member)

    assert send_at(eight + timedelta(minutes=1), ids) == [Status.SKIPPED]
    assert mail.outbox == []


# --- The digest's content --------------------------------------------------------------------
@pytest.fixture
def digest_world() -> dict[str, User]:
    """A therapist (UTC) on Saturday before MONDAY: Anna needs attention (pain 8, no nudge
    acted on), Ben is fine; Carl is another therapist's client, Dora revoked her link."""
    with time_machine.travel(datetime(2026, 10, 31, 9, 0, tzinfo=UTC), tick=False):
        therapist = named(make_therapist(), "Dr Ruth")
        other_therapist = make_therapist()
        anna, ben, carl, dora = (
            named(make_member(), name) for name in ("Anna", "Ben", "Carl", "Dora")
        )
        for client in (anna, ben):
            make_link(member=client, therapist=therapist)
        make_link(member=carl, therapist=other_therapist)
        care_link_revoke(link=make_link(member=dora, therapist=therapist))
        sunday = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
        make_checkin(member=anna, pain=8, recorded_at=sunday)
        for hours in (1, 2):
            Nudge.objects.create(
                member=anna, kind="stretch", due_at=sunday - timedelta(hours=hours), status="sent"
            )
        make_checkin(member=ben, pain=1, stress=2, recorded_at=sunday)
        for client in (carl, dora):
            make_checkin(member=client, pain=9, recorded_at=sunday)
    return {"therapist": therapist, "anna": anna, "ben": ben, "carl": carl, "dora": dora}


@pytest.mark.django_db
def test_the_digest_names_the_clients_who_need_attention_with_their_reasons(
    run_at, digest_world: dict[str, User]
) -> None:
    therapist = digest_world["therapist"]
    eight = local(MONDAY, 8, 0, "UTC")

    send_at(eight, run_at(eight))

    message = only_email_to(therapist)
    text, html = message.body, html_of(message)
    assert message.subject == "Your clients this week: 1 needs attention"
    for body in (text, html):
        assert "Anna" in body
        assert "Pain 8/10 at a check-in this week" in body
        assert "Acted on 0 of 2 nudges in 7 days" in body
        assert "7-day adherence 0% (0 of 2 reminders acted on)" in body
        assert "1 other client is doing fine" in body
        assert CLIENTS_URL in body.replace("&amp;", "&")
    assert "Ben" not in text  # doing fine: counted, not named


@pytest.mark.django_db
def test_the_digest_leaves_out_another_therapists_clients_and_revoked_links(
    run_at, digest_world: dict[str, User]
) -> None:
    eight = local(MONDAY, 8, 0, "UTC")

    send_at(eight, run_at(eight))

    message = only_email_to(digest_world["therapist"])
    for body in (message.body, html_of(message)):
        assert "Carl" not in body
        assert "Dora" not in body
        assert "9/10" not in body
    assert "One of your 2 clients needs attention this week" in message.body


@pytest.mark.django_db
def test_a_client_who_shares_adherence_only_has_no_pain_in_the_digest(run_at) -> None:
    # given a client in persistent, high pain who shares adherence only, and acted on none
    # of her reminders
    with time_machine.travel(datetime(2026, 10, 10, 9, 0, tzinfo=UTC), tick=False):
        therapist = make_therapist()
        eve = named(make_member(), "Eve")
        make_link(member=eve, therapist=therapist, adherence=True, checkins=False)
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(hours=1), tick=False):
        for offset in range(1, 21):
            moment = local(MONDAY, 10, 0, "UTC") - timedelta(days=offset)
            make_checkin(member=eve, pain=9, stress=9, recorded_at=moment)
            Nudge.objects.create(member=eve, kind="stretch", due_at=moment, status="sent")

    send_at(eight, run_at(eight))

    message = only_email_to(therapist)
    for body in (message.body, html_of(message)):
        assert "Eve" in body
        assert "Acted on 0 of 6 nudges in 7 days" in body
        assert "pain" not in body.lower()
        assert not re.search(r"\bstress\b", body, re.IGNORECASE)
        assert "9/10" not in body


@pytest.mark.django_db
def test_a_therapist_whose_clients_are_all_fine_gets_a_short_all_fine_email(run_at) -> None:
    with time_machine.travel(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), tick=False):
        therapist = make_therapist()
        for _ in range(3):
            client = make_member()
            make_link(member=client, therapist=therapist)
            make_checkin(member=client, pain=0, stress=2)
    eight = local(MONDAY, 8, 0, "UTC")

    send_at(eight, run_at(eight))

    message = only_email_to(therapist)
    assert message.subject == "Your clients this week: all 3 are doing fine"
    assert "All 3 of your clients are doing fine this week" in message.body
    assert CLIENTS_URL in message.body


@pytest.mark.django_db
def test_a_sent_digest_is_in_each_clients_access_log(run_at, digest_world) -> None:
    eight = local(MONDAY, 8, 0, "UTC")

    send_at(eight, run_at(eight))

    logged = AccessLogEntry.objects.filter(
        therapist=digest_world["therapist"], what="weekly digest email"
    )
    assert sorted(entry.member.display_name for entry in logged) == ["Anna", "Ben"]


# --- The member's weekly progress ------------------------------------------------------------
BERLIN = "Europe/Berlin"


def at_berlin(day: int, hour: int = 10) -> datetime:
    """A moment in the two weeks before MONDAY: 19-31 are October, 1 is 1 November."""
    month = 11 if day == 1 else 10
    return local(date(2026, month, day), hour, 0, BERLIN)


def member_with_a_week(**profile: object) -> User:
    """A Berlin member with a week of reminders, habits and check-ins before MONDAY,
    recorded early on MONDAY."""
    with time_machine.travel(local(MONDAY, 7, 0, BERLIN), tick=False):
        return _member_with_a_week(**profile)


def _member_with_a_week(**profile: object) -> User:
    with time_machine.travel(local(date(2026, 10, 10), 9, 0, BERLIN), tick=False):
        member = named(opted_in_member(BERLIN, **profile), "Mia")
    # Stretches: not done on Wednesday, then done Friday, Saturday and Sunday.
    Nudge.objects.create(member=member, kind="stretch", due_at=at_berlin(28), status="sent")
    for day in (30, 31, 1):
        Nudge.objects.create(member=member, kind="stretch", due_at=at_berlin(day), status="done")
    Nudge.objects.create(member=member, kind="hydration", due_at=at_berlin(29), status="done")
    make_activity(member=member, kind="mindfulness", minutes=10, recorded_at=at_berlin(27))
    make_activity(member=member, kind="mindfulness", minutes=15, recorded_at=at_berlin(30))
    for hour in (9, 11, 13, 15):
        make_activity(
            member=member, kind="hydration", amount_ml=500, recorded_at=at_berlin(28, hour)
        )
    # The week before: stress 6, pain 3. This week: stress 4, pain 2.
    make_checkin(member=member, stress=6, pain=3, recorded_at=at_berlin(21))
    make_checkin(member=member, stress=4, pain=2, recorded_at=at_berlin(29))
    return member


@pytest.mark.django_db
def test_the_progress_email_sums_up_the_members_last_week(run_at) -> None:
    member = member_with_a_week()
    eight = local(MONDAY, 8, 0, BERLIN)

    send_at(eight, run_at(eight))

    message = only_email_to(member)
    assert message.subject == "Your week, 26 October to 1 November"
    for body in (message.body, html_of(message)):
        assert "Monday 26 October to Sunday 1 November" in body
        assert "You acted on 4 of 5 reminders (80%)" in body
        assert "Stretches: 3 of 4" in body
        assert "Water: 1 of 1" in body
        assert "Mindfulness: 25 minutes" in body
        assert "Water goal reached on 1 of 7 days" in body
        assert "Stress: 4.0 this week, 6.0 the week before (falling)" in body
        assert "Pain: 2.0 this week, 3.0 the week before (falling)" in body
        assert "Stretches: 3 days in a row" in body
        assert PERSISTENT_PAIN_MESSAGE not in body
        # Warmth, never ice, for sore muscles (DOMAIN.md).
        assert "warm" in body
        assert not re.search(r"\bice\b", body, re.IGNORECASE)


@pytest.mark.django_db
def test_streaks_are_left_out_for_a_member_who_hides_them(run_at) -> None:
    member = member_with_a_week(show_streaks=False)
    eight = local(MONDAY, 8, 0, BERLIN)

    send_at(eight, run_at(eight))

    message = only_email_to(member)
    for body in (message.body, html_of(message)):
        assert "You acted on 4 of 5 reminders" in body
        assert "in a row" not in body
        assert "Streak" not in body


@pytest.mark.django_db
def test_the_progress_email_of_a_member_in_persistent_pain_says_so(run_at) -> None:
    eight = local(MONDAY, 8, 0, BERLIN)
    with time_machine.travel(eight - timedelta(days=30), tick=False):
        member = opted_in_member(BERLIN)
    with time_machine.travel(eight - timedelta(hours=1), tick=False):
        for offset in range(1, 21):  # pain every day for the 20 days before MONDAY
            moment = local(MONDAY, 10, 0, BERLIN) - timedelta(days=offset)
            make_checkin(member=member, pain=5, recorded_at=moment)

    send_at(eight, run_at(eight))

    message = only_email_to(member)
    assert PERSISTENT_PAIN_MESSAGE in message.body
    assert PERSISTENT_PAIN_MESSAGE in html_of(message)


# --- Unsubscribing from one weekly email -----------------------------------------------------
def weekly_unsubscribe_path(message: mail.EmailMessage) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert re.fullmatch(rf"<{re.escape(SITE)}/n/weekly/unsubscribe/[^/>\s]+/>", header)
    url = header.strip("<>")
    assert url in message.body
    return urlsplit(url).path


@pytest.fixture
def digest_received(run_at) -> tuple[User, mail.EmailMessage]:
    """A therapist who also gets the progress email and reminder emails, and this week's
    digest."""
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = set_profile(therapist_with_a_client(), weekly_progress_email=True)
    send_at(eight, run_at(eight))
    [digest] = [m for m in mail.outbox if m.subject.startswith("Your client")]
    return therapist, digest


@pytest.mark.django_db
def test_every_weekly_email_has_one_click_unsubscribe_headers(digest_received) -> None:
    therapist, digest = digest_received
    progress = next(m for m in mail.outbox if m.subject.startswith("Your week"))

    for message in (digest, progress):
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        path = weekly_unsubscribe_path(message)
        assert f'href="{SITE}{path}"' in html_of(message)  # type: ignore[arg-type]
    assert digest.extra_headers["Message-ID"] == (
        f"<weekly-digest-20261102-{therapist.pk}@stressrelief.example>"
    )


@pytest.mark.django_db
def test_opening_the_weekly_unsubscribe_link_asks_first_and_changes_nothing(
    client: Client, digest_received
) -> None:
    therapist, digest = digest_received

    page = client.get(weekly_unsubscribe_path(digest))

    assert page.status_code == 200
    assert b"Stop the weekly digest of your clients?" in page.content
    assert b'method="post"' in page.content
    therapist.profile.refresh_from_db()
    assert therapist.profile.weekly_digest_email is True


@pytest.mark.django_db
def test_a_one_click_post_turns_off_that_weekly_email_only(digest_received, run_at) -> None:
    therapist, digest = digest_received
    channels_before = list(therapist.profile.channels)
    # A mail provider: no cookies, no CSRF token, the RFC 8058 body.
    provider = Client(enforce_csrf_checks=True)

    response = provider.post(weekly_unsubscribe_path(digest), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    profile = therapist.profile
    profile.refresh_from_db()
    assert profile.weekly_digest_email is False
    assert profile.weekly_progress_email is True
    assert profile.channels == channels_before
    assert "email" in profile.channels
    # and next Monday brings the progress email only
    next_monday = local(MONDAY + timedelta(days=7), 8, 0, "UTC")
    run_at(next_monday)
    assert [kind for kind, _, _ in rows(therapist)] == [DIGEST, PROGRESS, PROGRESS]


@pytest.mark.django_db
def test_the_progress_unsubscribe_link_leaves_reminder_emails_on(run_at, client: Client) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        member = opted_in_member()
    send_at(eight, run_at(eight))

    client.post(weekly_unsubscribe_path(only_email_to(member)), {"List-Unsubscribe": "One-Click"})

    member.profile.refresh_from_db()
    assert member.profile.weekly_progress_email is False
    assert "email" in member.profile.channels
    assert all("email" in s.channels or not s.channels for s in member.schedules.all())


def tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_forged_weekly_unsubscribe_link_gets_a_clear_page_and_changes_nothing(
    client: Client, digest_received, method: str
) -> None:
    therapist, digest = digest_received
    path = weekly_unsubscribe_path(digest)
    forged = path.replace(token_of(path), tampered(token_of(path)))
    nudge_token = links.unsubscribe_token(member_id=therapist.pk)

    for bad_path in (forged, f"/n/weekly/unsubscribe/{nudge_token}/"):
        response = getattr(client, method)(bad_path)
        assert response.status_code == 400
        assert b"This link is not valid" in response.content

    therapist.profile.refresh_from_db()
    assert therapist.profile.weekly_digest_email is True
    assert "email" in therapist.profile.channels


@pytest.mark.django_db
def test_an_expired_weekly_unsubscribe_link_gets_a_clear_page_and_changes_nothing(
    client: Client, digest_received
) -> None:
    therapist, digest = digest_received

    with time_machine.travel(local(MONDAY, 9, 0, "UTC") + timedelta(days=61), tick=False):
        response = client.post(weekly_unsubscribe_path(digest))

    assert response.status_code == 410
    assert b"This link has expired" in response.content
    therapist.profile.refresh_from_db()
    assert therapist.profile.weekly_digest_email is True


# --- Exactly once: claims, duplicates, lost work ------------------------------------------------
@pytest.mark.django_db
def test_a_duplicated_send_task_sends_nothing_twice(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = therapist_with_a_client()
    [email_id] = run_at(eight)

    statuses = send_at(eight, [email_id, email_id])

    assert statuses == [Status.SENT, ""]
    assert len(mail.outbox) == 1
    assert rows(therapist) == [(DIGEST, MONDAY, Status.SENT)]


@pytest.mark.django_db
def test_an_email_whose_task_was_lost_is_handed_over_again_by_a_later_run(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = therapist_with_a_client()
    [email_id] = run_at(eight)  # ... and the broker lost the task

    assert run_at(eight + timedelta(minutes=5)) == []
    again = run_at(eight + SWEEP_AFTER + timedelta(minutes=5))

    assert again == [email_id]
    send_at(eight + timedelta(minutes=16), again)
    assert rows(therapist) == [(DIGEST, MONDAY, Status.SENT)]


@pytest.mark.django_db
def test_an_email_a_dead_worker_left_sending_is_sent_by_another(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist_with_a_client()
    [email_id] = run_at(eight)
    WeeklyEmail.objects.filter(pk=email_id).update(
        status=Status.SENDING, claimed_at=eight, tries=1
    )  # a worker claimed it, then was killed

    again = run_at(eight + SWEEP_AFTER + timedelta(minutes=1))
    statuses = send_at(eight + SWEEP_AFTER + timedelta(minutes=2), again)

    assert again == [email_id]
    assert statuses == [Status.SENT]
    assert len(mail.outbox) == 1
    assert WeeklyEmail.objects.get(pk=email_id).tries == 2


# --- SMTP: retries and failures, through a real local SMTP server -----------------------------
def digest_message_id(therapist: User, week: date = MONDAY) -> str:
    return f"<weekly-digest-{week:%Y%m%d}-{therapist.pk}@stressrelief.example>"


@pytest.fixture
def due_digest(run_at) -> tuple[User, int]:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        therapist = therapist_with_a_client()
    [email_id] = run_at(eight)
    return therapist, email_id


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["data", "rcpt"])
def test_a_451_is_retried_later_and_the_retry_delivers_it_once(
    mail_to_sink: SmtpSink, due_digest, stage: str
) -> None:
    therapist, email_id = due_digest
    mail_to_sink.answer_next("451 4.3.0 Mailbox busy, try again later", at=stage)
    eight = local(MONDAY, 8, 0, "UTC")

    with time_machine.travel(eight, tick=False):
        first = weekly_email_send(email_id=email_id)
    row = WeeklyEmail.objects.get(pk=email_id)
    assert first.status == Status.PENDING
    assert first.retry_in is not None
    assert 30 <= first.retry_in <= 60
    assert row.retry_at == eight + timedelta(seconds=first.retry_in)
    assert "451" in row.error
    assert therapist.email not in row.error
    # too early: nothing
    assert send_at(eight + timedelta(seconds=10), [email_id]) == [""]

    assert send_at(row.retry_at, [email_id]) == [Status.SENT]

    row.refresh_from_db()
    assert (row.status, row.tries, row.error) == (Status.SENT, 2, "")
    assert len(mail_to_sink.accepted_with_id(digest_message_id(therapist))) == 1
    assert len(mail_to_sink.accepted) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["data", "rcpt"])
def test_a_550_is_recorded_as_failed_at_once(
    mail_to_sink: SmtpSink, due_digest, stage: str
) -> None:
    therapist, email_id = due_digest
    mail_to_sink.answer_next("550 5.1.1 No such mailbox here", at=stage)

    outcome = send_at(local(MONDAY, 8, 0, "UTC"), [email_id])

    row = WeeklyEmail.objects.get(pk=email_id)
    assert outcome == [Status.FAILED]
    assert (row.status, row.tries, row.retry_at) == (Status.FAILED, 1, None)
    assert "550" in row.error
    assert therapist.email not in row.error
    assert mail_to_sink.accepted == []
    assert AccessLogEntry.objects.filter(what="weekly digest email").count() == 0


@pytest.mark.django_db
def test_a_server_that_keeps_answering_4xx_ends_in_failed_after_max_tries(
    mail_to_sink: SmtpSink, due_digest
) -> None:
    _, email_id = due_digest
    mail_to_sink.answer_next("451 4.7.1 Too busy, try later", times=MAX_TRIES + 1)
    moment = local(MONDAY, 8, 0, "UTC")

    statuses = []
    for _ in range(MAX_TRIES + 1):
        [status] = send_at(moment, [email_id])
        statuses.append(status)
        retry_at = WeeklyEmail.objects.get(pk=email_id).retry_at
        moment = retry_at or moment

    assert statuses == [Status.PENDING] * (MAX_TRIES - 1) + [Status.FAILED, ""]
    row = WeeklyEmail.objects.get(pk=email_id)
    assert (row.status, row.tries) == (Status.FAILED, MAX_TRIES)
    assert "451" in row.error
    assert mail_to_sink.accepted == []


# --- Wiring: beat entry, export -------------------------------------------------------------------
def test_beat_runs_the_weekly_emails_on_every_quarter_hour() -> None:
    entry = BEAT_SCHEDULE["weekly-emails"]
    schedule = entry["schedule"]

    assert entry["task"] == "worker.tasks.weekly_emails"
    assert isinstance(schedule, crontab)
    assert schedule.minute == {0, 15, 30, 45}
    assert schedule.hour == set(range(24))


@pytest.mark.django_db
def test_the_export_lists_the_members_weekly_emails(run_at) -> None:
    eight = local(MONDAY, 8, 0, "UTC")
    with time_machine.travel(eight - timedelta(days=1), tick=False):
        member = opted_in_member()
    send_at(eight, run_at(eight))

    export = member_export(member=member)

    assert export["weekly_emails"] == [
        {"kind": "progress", "week_start": MONDAY, "status": "sent", "sent_at": eight}
    ]


# --- End to end: a real worker process and a real SMTP server ------------------------------------
@pytest.fixture
def worker_mailing_the_sink(
    transactional_db: None,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> WorkerProcess:
    """A Celery worker process whose settings send email to the sink (see
    tests/delivery/test_email_delivery.py for why transactional_db is asked for here)."""
    monkeypatch.setenv("EMAIL_URL", smtp_sink.url)
    monkeypatch.setenv("SITE_URL", SITE)
    return request.getfixturevalue("celery_worker_process")


@pytest.mark.slow
def test_a_worker_process_emails_the_digest_to_the_smtp_server_once(
    worker_mailing_the_sink: WorkerProcess, smtp_sink: SmtpSink
) -> None:
    # given this week's digest, claimed as the Monday run claims it. The worker runs on the
    # real clock (no time travel in another process), so the row is for the therapist's
    # local today, the day the worker checks before sending.
    therapist = therapist_with_a_client("UTC")
    today = timezone.now().astimezone(ZoneInfo("UTC")).date()
    row = WeeklyEmail.objects.create(recipient=therapist, kind=DIGEST, week_start=today)

    # when its send task is published twice (a duplicate, as after a redelivery)
    enqueue_weekly_emails([row.pk, row.pk])

    # then the SMTP server accepts it once, with the week's Message-ID
    assert wait_until(lambda: smtp_sink.accepted, timeout=60), (
        "no email at the SMTP sink within 60 s; worker output:\n" + worker_mailing_the_sink.output
    )
    assert wait_until(
        lambda: worker_mailing_the_sink.output.count("send_weekly_email") >= 4, timeout=30
    ), worker_mailing_the_sink.output  # both tasks received and finished
    [received] = smtp_sink.accepted
    assert received.recipients == (therapist.email,)
    assert received.message_id == digest_message_id(therapist, today)
    assert received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert (received.header("List-Unsubscribe") or "").startswith(f"<{SITE}/n/weekly/unsubscribe/")
    assert CLIENTS_URL in received.text
    row.refresh_from_db()
    assert (row.status, row.tries) == (Status.SENT, 1)
