"""The mindfulness and heat pages without JavaScript: plain forms that log a session, refuse
what the API refuses with the field named, and never answer a 500 to odd input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.reminders.models import Nudge
from apps.tracking.models import Activity
from tests.factories import make_member, make_nudge

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    member = make_member()
    client.force_login(member)
    return member


def followed_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/mindfulness/"),
        ("get", "/heat/"),
        ("post", "/mindfulness/done/"),
        ("post", "/heat/done/"),
    ],
)
def test_the_timer_pages_need_a_log_in(client, method, path) -> None:
    response = getattr(client, method)(path, {"minutes": "10"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Activity.objects.exists()


def test_the_mindfulness_page_offers_the_timer_and_a_plain_form(client, member) -> None:
    response = client.get("/mindfulness/")

    text = response.content.decode()
    assert response.status_code == 200
    assert 'data-seconds-per-minute="60"' in text  # a real minute unless told otherwise
    assert 'action="/mindfulness/done/"' in text
    assert response.context["form"]["minutes"].value() == 10
    assert "web/timer.js" in text
    assert "web/timers.css" in text
    assert "<style" not in text
    assert "<script>" not in text
    assert "style=" not in text


def test_the_timer_scale_comes_from_the_setting(client, member, settings) -> None:
    settings.WEB_TIMER_SECONDS_PER_MINUTE = 1

    assert 'data-seconds-per-minute="1"' in client.get("/mindfulness/").content.decode()
    assert 'data-seconds-per-minute="1"' in client.get("/heat/").content.decode()


def test_i_did_ten_minutes_logs_them_and_marks_todays_nudge_done(client, member) -> None:
    nudge = make_nudge(
        member=member, kind="mindfulness", due_at=timezone.now() - timedelta(minutes=5)
    )

    response = client.post("/mindfulness/done/", {"minutes": "10"}, follow=True)

    assert response.redirect_chain == [("/mindfulness/", 302)]
    assert "10 minutes of mindfulness logged" in followed_messages(response)[0]
    logged = Activity.objects.get(member=member)
    assert (logged.kind, logged.minutes) == ("mindfulness", 10)
    nudge.refresh_from_db()
    assert nudge.status == "done"


def test_ending_after_five_minutes_logs_five(client, member) -> None:
    client.post("/mindfulness/done/", {"minutes": "5"})

    assert Activity.objects.get(member=member).minutes == 5


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        ("4", "5 minutes or more"),
        ("0", "5 minutes or more"),
        ("-3", "5 minutes or more"),
        ("11", "at most 10"),
        ("99999999999999999999999", "at most 10"),
        ("7.5", "whole number"),
        ("ten", "whole number"),
        ("", "How many minutes"),
        ("1" * 5000, "whole number"),
    ],
)
def test_a_mindfulness_session_out_of_range_is_refused_on_minutes(
    client, member, minutes, words
) -> None:
    nudge = make_nudge(member=member, kind="mindfulness", due_at=timezone.now())

    response = client.post("/mindfulness/done/", {"minutes": minutes})

    assert response.status_code == 400
    assert words in " ".join(response.context["form"].errors["minutes"])
    assert 'id="id_minutes_error"' in response.content.decode()
    assert not Activity.objects.exists()
    assert Nudge.objects.get(pk=nudge.pk).status == "sent"


def test_a_post_without_minutes_names_the_field(client, member) -> None:
    response = client.post("/mindfulness/done/", {"something": "else"})

    assert response.status_code == 400
    assert "minutes" in response.context["form"].errors
    assert not Activity.objects.exists()


def test_the_log_pages_accept_only_posts(client, member) -> None:
    assert client.get("/mindfulness/done/").status_code == 405
    assert client.get("/heat/done/").status_code == 405
    assert client.post("/mindfulness/", {"minutes": "10"}).status_code == 405
    assert not Activity.objects.exists()


def test_the_heat_page_says_how_to_use_heat_safely_and_never_suggests_ice(client, member) -> None:
    response = client.get("/heat/")

    text = response.content.decode()
    assert response.status_code == 200
    assert "towel between your skin and the heat pack" in text
    assert "15 to 20 minutes at a time" in text
    assert 'data-warning-minutes="15"' in text
    assert 'data-minutes="20"' in text
    assert 'action="/heat/done/"' in text
    assert "ice pack" not in text.lower()
    assert "apply ice" not in text.lower()


@pytest.mark.parametrize("minutes", ["1", "15", "20"])
def test_heat_from_one_to_twenty_minutes_is_logged(client, member, minutes) -> None:
    response = client.post("/heat/done/", {"minutes": minutes}, follow=True)

    assert response.redirect_chain == [("/heat/", 302)]
    assert f"{minutes} minutes of heat logged" in followed_messages(response)[0]
    logged = Activity.objects.get(member=member)
    assert (logged.kind, logged.minutes) == ("heat", int(minutes))


def test_heat_over_twenty_minutes_is_refused_with_the_apis_words(client, member) -> None:
    from apps.tracking.serializers import HEAT_REFUSAL  # importing DRF at collection is too early

    response = client.post("/heat/done/", {"minutes": "21"})

    assert response.status_code == 400
    assert response.context["form"].errors["minutes"] == [HEAT_REFUSAL]
    assert "superficial burns" in response.content.decode()
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        ("0", "at least 1 minute"),
        ("-1", "at least 1 minute"),
        ("99999999999999999999999", "20 minutes at a time"),
        ("2.5", "whole number"),
        ("", "How many minutes"),
        ("\x00", "whole number"),
    ],
)
def test_odd_heat_minutes_are_refused_on_minutes(client, member, minutes, words) -> None:
    response = client.post("/heat/done/", {"minutes": minutes})

    assert response.status_code == 400
    assert words in " ".join(response.context["form"].errors["minutes"])
    assert not Activity.objects.exists()


def test_logging_heat_does_not_touch_the_mindfulness_nudge(client, member) -> None:
    nudge = make_nudge(member=member, kind="mindfulness", due_at=timezone.now())

    client.post("/heat/done/", {"minutes": "20"})

    assert Nudge.objects.get(pk=nudge.pk).status == "sent"
