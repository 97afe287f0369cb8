"""The access-control matrix (issue 3): every /api/v1/ endpoint x every role.

Member A owns the data. Each cell of MATRIX states, from the rules (../shared/API_CONTRACT.md
and the docstring of apps/careteam/permissions.py), the status the role must get and exactly
which kinds of A's private data the response may hold. Every cell also checks that A's
records are unchanged unless A made the request, and that nothing but a permitted therapist
read adds to A's access log.

The rules, in short: anonymous gets 401 except on the four open auth endpoints; a member
sees and changes only their own records (another member's object is a 404); a therapist
reads, never writes, only clients with an active link and only the categories shared
(unlinked or revoked: 404; linked but not shared: 403); every account, therapists and
admins included, is a plain member of its own records in the API. The one thing a therapist
writes is their own content: stretches prescribed to a client with an active link (any
shares), editable only by that therapist, never logged as a read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import resolve
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.careteam.models import AccessCategory, AccessLogEntry, CareLink, PrescribedStretch
from apps.careteam.services import (
    access_log_record,
    care_link_revoke,
    prescribed_stretch_create,
)
from apps.profiles.models import Profile
from apps.reminders.models import Nudge, NudgeStatus, Schedule
from apps.tracking.models import Activity, CheckIn
from stressrelief import api_urls
from tests.factories import (
    DEFAULT_PASSWORD,
    make_activity,
    make_checkin,
    make_link,
    make_member,
    make_therapist,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/"
A_EMAIL = "owner-a@example.org"
A_NAME = "Alice Owner-A"
SECRET_NOTE = "A-SECRET-NOTE"

# --- Roles (the matrix columns, in this order) -------------------------------------------
ANON = "anonymous"
A = "member_a"  # the data owner
B = "member_b"  # another member, with data of their own
T_FULL = "therapist_full"  # active link from A sharing adherence, check-ins and notes
T_NO_CI = "therapist_no_checkins"  # active link from A that does not share check-ins
T_REV = "therapist_revoked"  # A's link to them (sharing everything) was revoked
ADMIN = "admin"  # a superuser, linked to nobody: just a member in the API
ROLES = (ANON, A, B, T_FULL, T_NO_CI, T_REV, ADMIN)

# --- Kinds of A's private data a response can hold ---------------------------------------
IDENTITY = "identity"  # A's email or display name
NOTE = "note"  # the secret marker in A's check-in note
CHECKINS = "checkins"  # ids of A's check-ins
ACTIVITIES = "activities"  # ids of A's activities
LINKS = "links"  # ids of A's care links
LOG = "log"  # ids of A's access-log entries
CLIENT = "client"  # A listed as somebody's client (A's user id)
SCHEDULES = "schedules"  # ids of A's reminder schedules
NUDGES = "nudges"  # ids of A's nudges
STRETCHES = "stretches"  # ids of the stretches prescribed to A
# Progress documents carry figures, not ids: A's are recognised by values only A has.
PROGRESS_ADHERENCE = "progress_adherence"  # A's nudge counted (nobody else has a nudge)
PROGRESS_CHECKINS = "progress_checkins"  # A's stress this week: mean of 7 and 2 = 4.5


@dataclass(frozen=True)
class Cell:
    statuses: frozenset[int]
    sees: frozenset[str]


def see(status: int, *kinds: str) -> Cell:
    """`status`, and a response holding exactly these kinds of A's data."""
    return Cell(frozenset({status}), frozenset(kinds))


W = (403, 405)  # a therapist writing to a read-only clients endpoint: refused either way

# --- Endpoints: path (placeholders filled from A's objects), request body per method ------
Body = dict[str, Any] | Callable[["World"], dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    path: str
    ids: str | None = None  # which of A's id kinds the `id` of this endpoint's items are
    bodies: dict[str, Body] | None = None


ENDPOINTS = {
    "auth/register/": Endpoint("auth/register/", bodies={"POST": {}}),
    "auth/token/": Endpoint("auth/token/", bodies={"POST": {}}),
    "auth/password/change/": Endpoint("auth/password/change/", bodies={"POST": {}}),
    "auth/password/reset/": Endpoint("auth/password/reset/", bodies={"POST": {}}),
    "auth/password/reset/confirm/": Endpoint("auth/password/reset/confirm/", bodies={"POST": {}}),
    "me/": Endpoint(
        "me/",
        bodies={"PATCH": {"water_goal_ml": 2100}, "DELETE": {"password": "not-my-password"}},
    ),
    "me/export/": Endpoint("me/export/"),
    "me/pause/": Endpoint("me/pause/", bodies={"POST": {"minutes": 60}}),
    "invitations/": Endpoint("invitations/"),
    "care-team/": Endpoint(
        "care-team/",
        ids=LINKS,
        bodies={"POST": {"code": "AAAA-BBBB"}, "DELETE": lambda world: {"id": world.link}},
    ),
    "care-team/access-log/": Endpoint("care-team/access-log/", ids=LOG),
    "care-team/{A}/": Endpoint(
        "care-team/{link}/", ids=LINKS, bodies={"PATCH": {"share_notes": False}}
    ),
    "clients/": Endpoint("clients/", ids=CLIENT, bodies={"POST": {"note": "x"}}),
    "clients/{A}/checkins/": Endpoint(
        "clients/{a}/checkins/",
        ids=CHECKINS,
        bodies={method: {"stress": 0, "pain": 0} for method in ("POST", "PUT", "PATCH")},
    ),
    "checkins/": Endpoint("checkins/", ids=CHECKINS, bodies={"POST": {"stress": 2, "pain": 1}}),
    "checkins/{A}/": Endpoint(
        "checkins/{checkin}/",
        ids=CHECKINS,
        bodies={
            "PUT": {"stress": 1, "pain": 0, "note": f"{SECRET_NOTE} rewritten"},
            "PATCH": {"stress": 9},
        },
    ),
    "activities/": Endpoint(
        "activities/", ids=ACTIVITIES, bodies={"POST": {"kind": "hydration", "amount_ml": 300}}
    ),
    "activities/{A}/": Endpoint(
        "activities/{activity}/",
        ids=ACTIVITIES,
        bodies={"PUT": {"kind": "stretch", "minutes": 9}, "PATCH": {"minutes": 7}},
    ),
    "push-subscriptions/": Endpoint(
        "push-subscriptions/",
        bodies={"POST": {}, "DELETE": {"endpoint": "https://fcm.googleapis.com/fcm/send/none"}},
    ),
    "schedules/": Endpoint(
        "schedules/", ids=SCHEDULES, bodies={"POST": {"kind": "mindfulness", "times": ["12:00"]}}
    ),
    "schedules/{A}/": Endpoint(
        "schedules/{schedule}/",
        ids=SCHEDULES,
        bodies={"PUT": {"kind": "stretch", "times": ["10:00"]}, "PATCH": {"enabled": False}},
    ),
    "nudges/": Endpoint("nudges/", ids=NUDGES),
    "nudges/{A}/": Endpoint("nudges/{nudge}/", ids=NUDGES),
    "nudges/{A}/done/": Endpoint("nudges/{nudge}/done/", ids=NUDGES, bodies={"POST": {}}),
    "nudges/{A}/snooze/": Endpoint(
        "nudges/{nudge}/snooze/", ids=NUDGES, bodies={"POST": {"minutes": 15}}
    ),
    "nudges/{A}/skip/": Endpoint("nudges/{nudge}/skip/", ids=NUDGES, bodies={"POST": {}}),
    "clients/{A}/stretches/": Endpoint(
        "clients/{a}/stretches/",
        ids=STRETCHES,
        bodies={"POST": {"name": "Chest stretch", "instructions": "Lean.", "hold_seconds": 30}},
    ),
    "clients/{A}/stretches/{A}/": Endpoint(
        "clients/{a}/stretches/{stretch}/", ids=STRETCHES, bodies={"PATCH": {"hold_seconds": 45}}
    ),
    "stretches/": Endpoint("stretches/", ids=STRETCHES),
    "progress/": Endpoint("progress/"),
    "clients/{A}/progress/": Endpoint("clients/{a}/progress/"),
}

# --- The matrix ----------------------------------------------------------------------------
# A bare status means: that status, and none of A's data in the body.
# A tuple of statuses means: any one of them, and none of A's data.
# fmt: off
MATRIX: dict[tuple[str, str], tuple[int | tuple[int, ...] | Cell, ...]] = {
    #                                       anonymous  member_a   member_b  therapist_full
    #                                       therapist_no_checkins  therapist_revoked  admin
    # Open auth endpoints: an empty body is a 400 for everybody (a token is ignored there).
    ("POST", "auth/register/"):               (400, 400, 400, 400, 400, 400, 400),
    ("POST", "auth/token/"):                  (400, 400, 400, 400, 400, 400, 400),
    ("POST", "auth/password/reset/"):         (400, 400, 400, 400, 400, 400, 400),
    ("POST", "auth/password/reset/confirm/"): (400, 400, 400, 400, 400, 400, 400),
    # Empty body: every account may change its own password, so the body is what fails.
    ("POST", "auth/password/change/"):        (401, 400, 400, 400, 400, 400, 400),
    # Every account's own profile; DELETE carries a wrong password, so nothing is erased.
    ("GET", "me/"):         (401, see(200, IDENTITY), 200, 200, 200, 200, 200),
    ("PATCH", "me/"):       (401, see(200, IDENTITY), 200, 200, 200, 200, 200),
    ("DELETE", "me/"):      (401, 400, 400, 400, 400, 400, 400),
    ("GET", "me/export/"):  (401, see(200, IDENTITY, NOTE, CHECKINS, ACTIVITIES, LINKS, LOG,
                                       SCHEDULES, NUDGES, STRETCHES),
                             200, 200, 200, 200, 200),
    ("POST", "me/pause/"):   (401, see(200, IDENTITY), 200, 200, 200, 200, 200),
    ("DELETE", "me/pause/"): (401, see(200, IDENTITY), 200, 200, 200, 200, 200),
    # Only therapists invite (a revoked link does not make one less of a therapist).
    ("POST", "invitations/"): (401, 403, 403, 201, 201, 201, 403),
    # Care team: each member's own links; A's link id is a 404 to everybody else.
    ("GET", "care-team/"):               (401, see(200, LINKS), 200, 200, 200, 200, 200),
    ("POST", "care-team/"):              (401, 400, 400, 400, 400, 400, 400),  # made-up code
    ("DELETE", "care-team/"):            (401, 204, 404, 404, 404, 404, 404),  # {id: A's link}
    ("GET", "care-team/access-log/"):    (401, see(200, LOG), 200, 200, 200, 200, 200),
    ("PATCH", "care-team/{A}/"):         (401, see(200, LINKS), 404, 404, 404, 404, 404),
    ("DELETE", "care-team/{A}/"):        (401, 204, 404, 404, 404, 404, 404),
    # Clients: therapists only, read-only; A is listed only while A's link is active.
    ("GET", "clients/"):    (401, 403, 403, see(200, IDENTITY, CLIENT),
                             see(200, IDENTITY, CLIENT), 200, 403),
    ("POST", "clients/"):   (401, 403, 403, W, W, W, 403),
    ("GET", "clients/{A}/checkins/"):    (401, 403, 403, see(200, CHECKINS, NOTE), 403, 404, 403),
    ("POST", "clients/{A}/checkins/"):   (401, 403, 403, W, W, W, 403),
    ("PUT", "clients/{A}/checkins/"):    (401, 403, 403, W, W, W, 403),
    ("PATCH", "clients/{A}/checkins/"):  (401, 403, 403, W, W, W, 403),
    ("DELETE", "clients/{A}/checkins/"): (401, 403, 403, W, W, W, 403),
    # Own check-ins and activities: A's objects are a 404 to everybody but A.
    ("GET", "checkins/"):         (401, see(200, CHECKINS, NOTE), 200, 200, 200, 200, 200),
    ("POST", "checkins/"):        (401, 201, 201, 201, 201, 201, 201),
    ("GET", "checkins/{A}/"):     (401, see(200, CHECKINS, NOTE), 404, 404, 404, 404, 404),
    # No PUT on log entries (PATCH updates): refused before any object is looked up.
    ("PUT", "checkins/{A}/"):     (401, 405, 405, 405, 405, 405, 405),
    ("PATCH", "checkins/{A}/"):   (401, see(200, CHECKINS, NOTE), 404, 404, 404, 404, 404),
    ("DELETE", "checkins/{A}/"):  (401, 204, 404, 404, 404, 404, 404),
    ("GET", "activities/"):       (401, see(200, ACTIVITIES), 200, 200, 200, 200, 200),
    ("POST", "activities/"):      (401, 201, 201, 201, 201, 201, 201),
    ("GET", "activities/{A}/"):   (401, see(200, ACTIVITIES), 404, 404, 404, 404, 404),
    ("PUT", "activities/{A}/"):   (401, 405, 405, 405, 405, 405, 405),
    ("PATCH", "activities/{A}/"): (401, see(200, ACTIVITIES), 404, 404, 404, 404, 404),
    ("DELETE", "activities/{A}/"): (401, 204, 404, 404, 404, 404, 404),
    # Push subscriptions: an empty body is invalid; an unknown endpoint is nobody's.
    ("POST", "push-subscriptions/"):   (401, 400, 400, 400, 400, 400, 400),
    ("DELETE", "push-subscriptions/"): (401, 404, 404, 404, 404, 404, 404),
    # Reminder schedules and nudges: each account's own; A's are a 404 to everybody else.
    ("GET", "schedules/"):        (401, see(200, SCHEDULES), 200, 200, 200, 200, 200),
    ("POST", "schedules/"):       (401, 201, 201, 201, 201, 201, 201),
    ("GET", "schedules/{A}/"):    (401, see(200, SCHEDULES), 404, 404, 404, 404, 404),
    ("PUT", "schedules/{A}/"):    (401, 405, 405, 405, 405, 405, 405),
    ("PATCH", "schedules/{A}/"):  (401, see(200, SCHEDULES), 404, 404, 404, 404, 404),
    ("DELETE", "schedules/{A}/"): (401, 204, 404, 404, 404, 404, 404),
    ("GET", "nudges/"):           (401, see(200, NUDGES), 200, 200, 200, 200, 200),
    ("GET", "nudges/{A}/"):       (401, see(200, NUDGES), 404, 404, 404, 404, 404),
    ("POST", "nudges/{A}/done/"):   (401, see(200, NUDGES), 404, 404, 404, 404, 404),
    ("POST", "nudges/{A}/snooze/"): (401, see(200, NUDGES), 404, 404, 404, 404, 404),
    ("POST", "nudges/{A}/skip/"):   (401, see(200, NUDGES), 404, 404, 404, 404, 404),
    # Prescribed stretches: a therapist's own content for a client with an active link,
    # whatever it shares; one therapist's stretch is a 404 to another. Members: 403.
    ("GET", "clients/{A}/stretches/"):        (401, 403, 403, see(200, STRETCHES), 200, 404, 403),
    ("POST", "clients/{A}/stretches/"):       (401, 403, 403, 201, 201, 404, 403),
    ("PATCH", "clients/{A}/stretches/{A}/"):  (401, 403, 403, see(200, STRETCHES), 404, 404,
                                               403),
    ("DELETE", "clients/{A}/stretches/{A}/"): (401, 403, 403, 204, 404, 404, 403),
    # Each account's own prescribed stretches (B has one from therapist_full too).
    ("GET", "stretches/"): (401, see(200, STRETCHES), 200, 200, 200, 200, 200),
    # Progress: each account's own; a client's only in the categories their link shares.
    ("GET", "progress/"): (401, see(200, PROGRESS_ADHERENCE, PROGRESS_CHECKINS),
                           200, 200, 200, 200, 200),
    ("GET", "clients/{A}/progress/"): (401, 403, 403,
                                       see(200, PROGRESS_ADHERENCE, PROGRESS_CHECKINS),
                                       see(200, PROGRESS_ADHERENCE), 404, 403),
}
# fmt: on

# The one cell that is a permitted read of A's data by a therapist: it must be logged.
LOGGED_READS = {
    ("GET", "clients/{A}/checkins/", T_FULL),
    ("GET", "clients/{A}/progress/", T_FULL),
    ("GET", "clients/{A}/progress/", T_NO_CI),
    # The list shows each client's figures: a read too.
    ("GET", "clients/", T_FULL),
    ("GET", "clients/", T_NO_CI),
}
# The cells where somebody other than A may change A's records, and only the stretches
# prescribed to A: a linked therapist prescribing, or editing their own prescription.
PERMITTED_WRITES = {
    ("POST", "clients/{A}/stretches/", T_FULL),
    ("POST", "clients/{A}/stretches/", T_NO_CI),
    ("PATCH", "clients/{A}/stretches/{A}/", T_FULL),
    ("DELETE", "clients/{A}/stretches/{A}/", T_FULL),
}


def expectation(value: int | tuple[int, ...] | Cell) -> Cell:
    if isinstance(value, Cell):
        return value
    statuses = value if isinstance(value, tuple) else (value,)
    return Cell(frozenset(statuses), frozenset())


CELLS = [
    pytest.param(
        method, endpoint, role, expectation(row[column]), id=f"{method} {endpoint} as {role}"
    )
    for (method, endpoint), row in MATRIX.items()
    for column, role in enumerate(ROLES)
]


# --- The world every cell runs in ------------------------------------------------------------
@dataclass
class World:
    users: dict[str, User | None]
    a: int  # A's user id
    checkin: int  # A's check-in (its note holds the secret marker)
    activity: int  # A's activity
    link: int  # A's active link to therapist_full
    schedule: int  # one of A's reminder schedules
    nudge: int  # a nudge sent to A
    stretch: int  # a stretch therapist_full prescribed to A
    a_ids: dict[str, set[int]]  # kind -> ids of A's rows of that kind


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Throttle counters live in the cache: every cell starts with none."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Seven accounts per cell: hash their passwords quickly (nothing here tests hashing)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world() -> World:
    a = make_member(email=A_EMAIL)
    a.display_name = A_NAME
    a.save(update_fields=["display_name"])
    b = make_member()
    t_full, t_no_checkins, t_revoked = make_therapist(), make_therapist(), make_therapist()
    admin = User.objects.create_superuser(email="root@example.org", password=DEFAULT_PASSWORD)

    full = make_link(member=a, therapist=t_full, adherence=True, checkins=True, notes=True)
    narrow = make_link(
        member=a, therapist=t_no_checkins, adherence=True, checkins=False, notes=False
    )
    revoked = make_link(member=a, therapist=t_revoked, adherence=True, checkins=True, notes=True)
    care_link_revoke(link=revoked)
    secret = make_checkin(member=a, pain=4, stress=7, note=f"{SECRET_NOTE}: jaw clenched all day")
    plain = make_checkin(member=a, pain=0, stress=2)
    stretch = make_activity(member=a)
    water = make_activity(member=a, kind="hydration")
    logged = access_log_record(link=full, categories=[AccessCategory.CHECKINS], what="check-ins")
    schedule = Schedule.objects.filter(member=a).first()
    nudge = Nudge.objects.create(
        member=a, schedule=schedule, kind=schedule.kind, due_at=timezone.now(),
        status=NudgeStatus.SENT,
    )  # fmt: skip

    prescribed = prescribed_stretch_create(
        therapist=t_full, member=a, name="Upper trapezius stretch",
        instructions="Tilt your ear towards your shoulder.", hold_seconds=30, repetitions=3,
    )  # fmt: skip

    # B's own data, and B is also a client of therapist_full (without notes).
    make_checkin(member=b, note="B's own note")
    make_activity(member=b)
    make_link(member=b, therapist=t_full, notes=False)
    prescribed_stretch_create(
        therapist=t_full, member=b, name="B's calf stretch", instructions="Lean on a wall.",
        hold_seconds=20,
    )  # fmt: skip

    return World(
        users={
            ANON: None,
            A: a,
            B: b,
            T_FULL: t_full,
            T_NO_CI: t_no_checkins,
            T_REV: t_revoked,
            ADMIN: admin,
        },
        a=a.pk,
        checkin=secret.pk,
        activity=stretch.pk,
        link=full.pk,
        schedule=schedule.pk,
        nudge=nudge.pk,
        stretch=prescribed.pk,
        a_ids={
            CHECKINS: {secret.pk, plain.pk},
            ACTIVITIES: {stretch.pk, water.pk},
            LINKS: {full.pk, narrow.pk, revoked.pk},
            LOG: {logged.pk},
            CLIENT: {a.pk},
            SCHEDULES: set(Schedule.objects.filter(member=a).values_list("pk", flat=True)),
            NUDGES: {nudge.pk},
            STRETCHES: {prescribed.pk},
        },
    )


def client_as(user: User | None) -> APIClient:
    client = APIClient()
    # A crash is a cell result (500), not an exception that hides the rest of the row.
    client.raise_request_exception = False
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION="Token " + token.key)
    return client


def send(client: APIClient, method: str, endpoint: str, world: World) -> Response:
    spec = ENDPOINTS[endpoint]
    path = API + spec.path.format(a=world.a, checkin=world.checkin, activity=world.activity,
                                  link=world.link, schedule=world.schedule,
                                  nudge=world.nudge, stretch=world.stretch)  # fmt: skip
    body = (spec.bodies or {}).get(method)
    if callable(body):
        body = body(world)
    if method == "GET":
        return client.get(path)
    return getattr(client, method.lower())(path, body, format="json")


def items_of(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    if isinstance(body, dict):
        if isinstance(body.get("results"), list):
            return items_of(body["results"])
        if "id" in body:
            return [body]
    return []


def a_data_in(response: Response, endpoint: str, world: World) -> set[str]:
    """The kinds of A's private data that `response` holds."""
    text = response.content.decode(errors="replace")
    found = set()
    if A_EMAIL in text or A_NAME in text:
        found.add(IDENTITY)
    if SECRET_NOTE in text:
        found.add(NOTE)
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return found
    if endpoint == "me/export/" and isinstance(body, dict):
        sections = {CHECKINS: "checkins", ACTIVITIES: "activities", LINKS: "care_team",
                    LOG: "access_log", SCHEDULES: "schedules", NUDGES: "nudges",
                    STRETCHES: "prescribed_stretches"}  # fmt: skip
        items = {kind: items_of(body.get(key) or []) for kind, key in sections.items()}
    elif endpoint in ("progress/", "clients/{A}/progress/") and isinstance(body, dict):
        items = {}
        if ((body.get("adherence") or {}).get("overall") or {}).get("sent"):
            found.add(PROGRESS_ADHERENCE)
        if (body.get("stress") or {}).get("last_7_days") == 4.5:
            found.add(PROGRESS_CHECKINS)
    else:
        kind = ENDPOINTS[endpoint].ids
        items = {kind: items_of(body)} if kind else {}
    for kind, rows in items.items():
        if {row.get("id") for row in rows} & world.a_ids[kind]:
            found.add(kind)
    return found


def snapshot_of_a(world: World) -> dict[str, list[dict[str, Any]]]:
    """Every row of A's that a request could change (the access log is checked apart)."""
    return {
        "user": list(User.objects.filter(pk=world.a).values()),
        "profile": list(Profile.objects.filter(user_id=world.a).values()),
        "checkins": list(CheckIn.objects.filter(member_id=world.a).order_by("pk").values()),
        "activities": list(Activity.objects.filter(member_id=world.a).order_by("pk").values()),
        "links": list(CareLink.objects.filter(member_id=world.a).order_by("pk").values()),
        "schedules": list(Schedule.objects.filter(member_id=world.a).order_by("pk").values()),
        "nudges": list(Nudge.objects.filter(member_id=world.a).order_by("pk").values()),
        "stretches": list(
            PrescribedStretch.objects.filter(member_id=world.a).order_by("pk").values()
        ),
    }


def a_log_count(world: World) -> int:
    return AccessLogEntry.objects.filter(member_id=world.a).count()


# --- The matrix test -----------------------------------------------------------------------
@pytest.mark.parametrize(("method", "endpoint", "role", "expected"), CELLS)
def test_cell(method: str, endpoint: str, role: str, expected: Cell, world: World) -> None:
    client = client_as(world.users[role])
    before, log_before = snapshot_of_a(world), a_log_count(world)

    response = send(client, method, endpoint, world)

    shown = response.content[:600].decode(errors="replace")
    assert response.status_code in expected.statuses, (
        f"{method} {endpoint} as {role}: got {response.status_code}, "
        f"expected {sorted(expected.statuses)}: {shown}"
    )
    seen = a_data_in(response, endpoint, world)
    assert seen == set(expected.sees), (
        f"{method} {endpoint} as {role}: holds A's {sorted(seen)}, "
        f"expected exactly {sorted(expected.sees)}: {shown}"
    )
    if role != A:
        after = snapshot_of_a(world)
        changed = {kind for kind in before if after[kind] != before[kind]}
        permitted = {"stretches"} if (method, endpoint, role) in PERMITTED_WRITES else set()
        assert changed == permitted, f"{role} changed member A's {sorted(changed)}"
    logged = 1 if (method, endpoint, role) in LOGGED_READS else 0
    assert a_log_count(world) == log_before + logged, "A's access log does not match the read"


def test_the_matrix_covers_every_endpoint_method_and_role(world: World) -> None:
    """A new route or method under /api/v1/ fails here until the matrix has its row."""
    assert all(len(row) == len(ROLES) for row in MATRIX.values())
    assert {endpoint for _, endpoint in MATRIX} == set(ENDPOINTS)
    covered: dict[str, set[str]] = {}
    for endpoint, spec in ENDPOINTS.items():
        path = API + spec.path.format(a=world.a, checkin=world.checkin, activity=world.activity,
                                      link=world.link, schedule=world.schedule,
                                      nudge=world.nudge, stretch=world.stretch)  # fmt: skip
        match = resolve(path)
        actions = getattr(match.func, "actions", None)
        view = match.func.cls
        # (DRF adds `head` to a viewset's actions once it has served a GET: ignore it.)
        names = actions or [name for name in view.http_method_names if hasattr(view, name)]
        implemented = {name.upper() for name in names if name not in ("head", "options")}
        tested = {method for method, name in MATRIX if name == endpoint}
        assert implemented <= tested, f"{endpoint}: untested methods {implemented - tested}"
        covered[match.url_name] = tested
    routes = {pattern.name for pattern in api_urls.urlpatterns}
    assert routes == set(covered), f"routes without a row: {routes - set(covered)}"


# --- Targeted checks the matrix alone does not spell out -----------------------------------
def test_a_therapist_without_notes_sharing_gets_check_ins_but_never_the_note(
    world: World,
) -> None:
    therapist = make_therapist()
    make_link(member=User.objects.get(pk=world.a), therapist=therapist, checkins=True, notes=False)

    response = client_as(therapist).get(f"{API}clients/{world.a}/checkins/")

    assert response.status_code == 200, response.content
    rows = items_of(response.json())
    assert {row["id"] for row in rows} == world.a_ids[CHECKINS]
    assert all("note" not in row for row in rows), rows
    assert SECRET_NOTE not in response.content.decode()


def test_a_therapist_read_shows_in_the_members_access_log(world: World) -> None:
    owner = client_as(world.users[A])
    before = {entry["id"] for entry in items_of(owner.get(f"{API}care-team/access-log/").json())}

    read = client_as(world.users[T_FULL]).get(f"{API}clients/{world.a}/checkins/")

    assert read.status_code == 200
    after = items_of(owner.get(f"{API}care-team/access-log/").json())
    new = [entry for entry in after if entry["id"] not in before]
    assert len(new) == 1, after
    assert new[0]["therapist_name"] == world.users[T_FULL].email
    assert set(new[0]["categories"]) == {AccessCategory.CHECKINS, AccessCategory.NOTES}


@pytest.mark.parametrize(
    ("role", "status"),
    [(T_NO_CI, 403), (T_REV, 404), (B, 403), (ADMIN, 403), (A, 403)],
    ids=lambda value: str(value),
)
def test_a_refused_read_writes_no_access_log_entry(world: World, role: str, status: int) -> None:
    owner = client_as(world.users[A])
    before = owner.get(f"{API}care-team/access-log/").json()

    refused = client_as(world.users[role]).get(f"{API}clients/{world.a}/checkins/")

    assert refused.status_code == status
    assert owner.get(f"{API}care-team/access-log/").json() == before


def test_revoking_ends_a_therapists_access_at_once(world: World) -> None:
    therapist = client_as(world.users[T_FULL])
    assert therapist.get(f"{API}clients/{world.a}/checkins/").status_code == 200

    revoked = client_as(world.users[A]).delete(f"{API}care-team/{world.link}/")

    assert revoked.status_code == 204
    assert therapist.get(f"{API}clients/{world.a}/checkins/").status_code == 404
    clients = items_of(therapist.get(f"{API}clients/").json())
    assert world.a not in {client["id"] for client in clients}
    assert A_EMAIL not in json.dumps(clients)


# --- The member's web pages and the rest of the site (issue 8) ---------------------------
# Every URL pattern of the site is in exactly one of these groups, by its (namespace:)name;
# a new page without a group fails test_every_url_of_the_site_has_an_access_rule.
SITE_PUBLIC = {
    "healthz", "api-schema", "api-docs", "login", "logout", "password_reset",
    "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "web:landing", "web:signup", "web:service_worker",
}  # fmt: skip
# Signed links in emails: no login, the token is the credential (test_action_link_abuse.py).
SITE_EMAIL_LINKS = {"delivery:action", "delivery:unsubscribe", "delivery:weekly_unsubscribe"}
# Django's own password change pages: log-in required, each account's own password only.
SITE_OWN_ACCOUNT = {"password_change", "password_change_done"}
# The member's pages: log-in required, and only the member's own records. Those with an id
# in the path are probed with A's ids by everybody (WEB_ID_PAGES).
WEB_PAGES = {
    "web:today", "web:quick_log", "web:checkin", "web:mindfulness", "web:mindfulness_done",
    "web:heat", "web:heat_done", "web:progress", "web:progress_streaks", "web:history",
    "web:reminders", "web:reminders_add", "web:reminders_settings", "web:reminders_pause",
    "web:reminders_resume", "web:care_team", "web:notifications",
    "web:notifications_push_channel", "web:account", "web:account_name",
    "web:account_password", "web:account_export", "web:account_delete",
}  # fmt: skip
WEB_ID_PAGES = {
    "web:nudge_act": "/today/nudges/{nudge}/done/",
    "web:checkin_delete": "/history/checkins/{checkin}/delete/",
    "web:activity_delete": "/history/activities/{activity}/delete/",
    "web:reminders_edit": "/reminders/{schedule}/",
    "web:reminders_delete": "/reminders/{schedule}/delete/",
    "web:care_team_shares": "/care-team/{link}/shares/",
    "web:care_team_revoke": "/care-team/{link}/revoke/",
}


def site_url_names() -> set[str]:
    """`namespace:name` of every URL pattern outside /admin/ and /api/v1/."""
    from django.urls import URLPattern, URLResolver, get_resolver

    names: set[str] = set()

    def walk(patterns: list, prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and not route.startswith(("admin/", "api/v1/")):
                names.add(f"{namespace}:{pattern.name}" if namespace else str(pattern.name))

    walk(get_resolver().url_patterns, "", None)
    return names


def test_every_url_of_the_site_has_an_access_rule() -> None:
    groups = [SITE_PUBLIC, SITE_EMAIL_LINKS, SITE_OWN_ACCOUNT, WEB_PAGES, set(WEB_ID_PAGES)]
    classified = set().union(*groups)
    assert sum(len(group) for group in groups) == len(classified), "a name in two groups"
    assert site_url_names() == classified, (
        f"no access rule: {sorted(site_url_names() - classified)}; "
        f"gone: {sorted(classified - site_url_names())}"
    )


def web_path(name: str, world: World) -> str:
    from django.urls import reverse

    if name in WEB_ID_PAGES:
        return WEB_ID_PAGES[name].format(
            nudge=world.nudge, checkin=world.checkin, activity=world.activity,
            schedule=world.schedule, link=world.link,
        )  # fmt: skip
    return reverse(name)


@pytest.mark.parametrize("name", sorted(WEB_PAGES | set(WEB_ID_PAGES) | SITE_OWN_ACCOUNT))
def test_a_logged_out_visitor_is_sent_to_log_in_and_changes_nothing(world: World, name: str):
    from django.test import Client

    before = snapshot_of_a(world)
    path = web_path(name, world)

    for response in (Client().get(path), Client().post(path, {"confirm": "yes"})):
        assert response.status_code == 302, (path, response.status_code)
        assert response["Location"].startswith("/accounts/login/"), response["Location"]
    assert snapshot_of_a(world) == before


@pytest.mark.parametrize("role", [B, T_FULL, T_NO_CI, T_REV, ADMIN])
@pytest.mark.parametrize("name", sorted(WEB_ID_PAGES))
def test_nobody_but_the_owner_reaches_a_web_page_by_the_owners_id(
    world: World, name: str, role: str
) -> None:
    """Another member's, a therapist's or an admin's guess at A's ids: 404 and no data."""
    from django.test import Client

    client = Client()
    client.force_login(world.users[role])
    before = snapshot_of_a(world)
    path = web_path(name, world)

    for response in (client.get(path), client.post(path, {"share_notes": "", "minutes": "10"})):
        text = response.content.decode(errors="replace")
        # 405: a POST-only page refuses the GET before any lookup, so it reveals nothing.
        assert response.status_code in (404, 405), (path, role, response.status_code)
        assert A_EMAIL not in text, (path, role)
        assert SECRET_NOTE not in text, (path, role)
    assert snapshot_of_a(world) == before, f"{role} changed A's records through {path}"


@pytest.mark.parametrize("name", sorted(WEB_ID_PAGES))
def test_the_owner_reaches_each_web_page_by_their_own_id(world: World, name: str) -> None:
    """The other side of the rule above: A's own ids are found (so a 404 for all fails)."""
    from django.test import Client

    client = Client()
    client.force_login(world.users[A])
    path = web_path(name, world)

    response = client.post(path, {"confirm": "yes"})

    assert response.status_code != 404, (path, response.status_code)
    assert response.status_code < 500, (path, response.status_code)


@pytest.mark.parametrize("role", [T_FULL, T_REV])
@pytest.mark.parametrize("what", ["checkins", "progress", "stretches"])
def test_a_therapist_guessing_ids_of_non_clients_gets_404_and_no_data(
    world: World, role: str, what: str
) -> None:
    """Every account id there is, and two that do not exist: only the therapist's active
    clients answer; anyone else (therapists, the admin, revoked, unknown) is a plain 404."""
    therapist = world.users[role]
    client = client_as(therapist)
    clients = set(
        CareLink.objects.filter(therapist=therapist, revoked_at__isnull=True).values_list(
            "member_id", flat=True
        )
    )
    last = User.objects.order_by("-pk").values_list("pk", flat=True).first()
    before = snapshot_of_a(world)

    for user_id in range(1, last + 3):
        response = client.get(f"{API}clients/{user_id}/{what}/")
        if user_id in clients:
            assert response.status_code == 200, (user_id, response.content[:200])
        else:
            assert response.status_code == 404, (user_id, response.status_code)
            assert response.json() == {"detail": "Not found."}
    assert snapshot_of_a(world) == before
    assert (role == T_FULL) == bool(clients)  # T_FULL's guesses include two real clients
