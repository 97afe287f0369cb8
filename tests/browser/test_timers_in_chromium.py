"""The mindfulness and heat timers in a real browser, on a phone-width screen, on a fast
clock (WEB_TIMER_SECONDS_PER_MINUTE = 1: a timer minute lasts one second): a full session
with a pause logs 10 minutes and settles today's nudge; ending early logs nothing; the heat
timer warns at 15 and stops by itself at 20. Accessible (axe-core) while running, no
Content-Security-Policy violation, no sideways scroll."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from apps.reminders.models import Nudge
from apps.tracking.models import Activity
from tests.browser.conftest import accessibility_problems, screenshot
from tests.factories import make_member, make_nudge

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 390


@pytest.fixture
def fast_clock(settings) -> None:
    # The live server runs in this process, so the page reads the overridden setting.
    settings.WEB_TIMER_SECONDS_PER_MINUTE = 1


def log_in(browser, live_server, member) -> None:
    """A real session, made by Django's test client and handed to the browser as its cookie."""
    client = Client()
    client.force_login(member)
    browser.get(f"{live_server.url}/accounts/login/")
    browser.add_cookie(
        {
            "name": django_settings.SESSION_COOKIE_NAME,
            "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
            "path": "/",
        }
    )


def problems_in_the_log(browser) -> list[str]:
    """CSP violations and script errors from timer.js, since the last look at the log."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
        or ("timer.js" in entry["message"] and entry["level"] == "SEVERE")
    ]


def page_width(browser) -> int:
    return browser.execute_script("return document.documentElement.scrollWidth")


def clock_seconds(browser) -> int:
    from selenium.webdriver.common.by import By

    minutes, seconds = browser.find_element(By.CSS_SELECTOR, "[data-timer-clock]").text.split(":")
    return int(minutes) * 60 + int(seconds)


def let_browser_time_pass(browser, milliseconds: int) -> None:
    """Wait until the browser's own clock has moved on (the paused timer must not)."""
    from selenium.webdriver.support.ui import WebDriverWait

    mark = browser.execute_script("return performance.now()")
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda b: b.execute_script("return performance.now()") >= mark + milliseconds
    )


def test_a_full_session_with_a_pause_logs_ten_minutes_and_settles_todays_nudge(
    live_server, browser, fast_clock
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    member = make_member()
    nudge = make_nudge(
        member=member, kind="mindfulness", due_at=timezone.now() - timedelta(minutes=2)
    )
    log_in(browser, live_server, member)
    browser.set_window_size(PHONE_WIDTH, 844)
    browser.get(f"{live_server.url}/mindfulness/")
    timer = browser.find_element(By.ID, "mindfulness-timer")
    toggle = timer.find_element(By.CSS_SELECTOR, "[data-timer-toggle]")
    status = timer.find_element(By.CSS_SELECTOR, "[role=status]")

    # given: the enhanced page, the timer shown above the plain form
    assert timer.is_displayed()
    assert clock_seconds(browser) == 600
    assert accessibility_problems(browser) == []

    # when: Start
    toggle.click()

    # then: it counts down, guides the breath, and is still accessible and phone-sized
    WebDriverWait(browser, 5).until(lambda b: clock_seconds(b) < 600)
    assert toggle.text == "Pause"
    assert "started" in status.text
    prompt = timer.find_element(By.CSS_SELECTOR, "[data-timer-prompt]").text
    assert prompt in ("Breathe in…", "Breathe out…")
    assert accessibility_problems(browser) == []
    assert page_width(browser) <= PHONE_WIDTH, "the running timer scrolls sideways"
    screenshot(browser, "mindfulness-running")
    browser.set_window_size(PHONE_WIDTH, 844)

    # when: Pause; then the countdown stands still while time passes
    toggle.click()
    assert timer.get_attribute("data-state") == "paused"
    assert toggle.text == "Resume"
    assert "Paused" in status.text
    paused_at = clock_seconds(browser)
    let_browser_time_pass(browser, 1500)  # a minute and a half on this clock
    assert clock_seconds(browser) == paused_at
    assert not Activity.objects.exists()

    # when: Resume from the keyboard, and the session runs to its end
    toggle.send_keys(Keys.SPACE)
    WebDriverWait(browser, 5).until(lambda b: clock_seconds(b) < paused_at)
    WebDriverWait(browser, 20).until(
        lambda b: "Session complete" in b.find_element(By.CSS_SELECTOR, "main").text
    )
    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".messages"))

    # then: ten minutes logged once, today's nudge done, and the member is told
    assert (
        "10 minutes of mindfulness logged"
        in browser.find_element(By.CSS_SELECTOR, ".messages").text
    )
    assert list(Activity.objects.filter(member=member).values_list("kind", "minutes")) == [
        ("mindfulness", 10)
    ]
    nudge.refresh_from_db()
    assert nudge.status == "done"
    assert accessibility_problems(browser) == []
    assert problems_in_the_log(browser) == []


def test_ending_before_five_minutes_logs_nothing_and_says_so_kindly(
    live_server, browser, fast_clock
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    member = make_member()
    nudge = make_nudge(member=member, kind="mindfulness", due_at=timezone.now())
    log_in(browser, live_server, member)
    browser.set_window_size(PHONE_WIDTH, 844)
    browser.get(f"{live_server.url}/mindfulness/")
    toggle = browser.find_element(By.CSS_SELECTOR, "[data-timer-toggle]")
    end = browser.find_element(By.CSS_SELECTOR, "[data-timer-end]")
    assert not end.is_displayed()  # nothing to end before a start

    # when: Start, and End after about three minutes
    toggle.click()
    WebDriverWait(browser, 10).until(lambda b: clock_seconds(b) <= 7 * 60)
    end.click()

    # then: nothing logged, a kind word, and the timer is ready to start again
    status = browser.find_element(By.CSS_SELECTOR, "#mindfulness-timer [role=status]").text
    assert "nothing was saved" in status
    assert "Every calm breath still helps" in status
    assert toggle.text == "Start"
    assert browser.switch_to.active_element == toggle  # focus did not fall off the page
    assert clock_seconds(browser) == 600
    assert browser.current_url == f"{live_server.url}/mindfulness/"
    assert not Activity.objects.exists()
    assert Nudge.objects.get(pk=nudge.pk).status == "sent"
    assert problems_in_the_log(browser) == []


def test_with_reduced_motion_the_circle_stays_away_and_the_words_guide(
    live_server, browser, fast_clock
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
    )
    log_in(browser, live_server, make_member())
    browser.get(f"{live_server.url}/mindfulness/")

    browser.find_element(By.CSS_SELECTOR, "[data-timer-toggle]").click()
    WebDriverWait(browser, 5).until(lambda b: clock_seconds(b) < 600)

    assert not browser.find_element(By.CSS_SELECTOR, ".breathing").is_displayed()
    animation = browser.execute_script(
        "return getComputedStyle(document.querySelector('.breathing-circle')).animationName"
    )
    assert animation == "none"
    prompt = browser.find_element(By.CSS_SELECTOR, "[data-timer-prompt]").text
    assert prompt in ("Breathe in…", "Breathe out…")


def test_the_heat_timer_warns_at_fifteen_and_stops_and_logs_at_twenty(
    live_server, browser, fast_clock
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    member = make_member()
    log_in(browser, live_server, member)
    browser.set_window_size(PHONE_WIDTH, 844)
    browser.get(f"{live_server.url}/heat/")
    timer = browser.find_element(By.ID, "heat-timer")
    warning = timer.find_element(By.CSS_SELECTOR, "[data-timer-warning]")
    assert "towel" in browser.find_element(By.CSS_SELECTOR, "main").text
    assert accessibility_problems(browser) == []
    assert page_width(browser) <= PHONE_WIDTH

    # when: Start
    timer.find_element(By.CSS_SELECTOR, "[data-timer-toggle]").click()
    WebDriverWait(browser, 5).until(lambda b: clock_seconds(b) > 0)
    assert not warning.is_displayed()
    assert accessibility_problems(browser) == []

    # then: at 15 minutes a warning, shown and announced (an alert filled in)
    WebDriverWait(browser, 20).until(lambda b: warning.is_displayed())
    assert 15 * 60 <= clock_seconds(browser) < 20 * 60
    assert warning.get_attribute("role") == "alert"
    assert warning.text == (
        "15 minutes: time to stop soon; heat for longer than 20 minutes risks burns."
    )
    assert not Activity.objects.exists()
    assert accessibility_problems(browser) == []
    assert page_width(browser) <= PHONE_WIDTH
    screenshot(browser, "heat-warning")

    # then: at 20 it stops by itself and logs 20 minutes, never more
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".messages"))
    assert "20 minutes of heat logged" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert list(Activity.objects.filter(member=member).values_list("kind", "minutes")) == [
        ("heat", 20)
    ]
    assert problems_in_the_log(browser) == []


def test_stopping_the_heat_early_logs_the_whole_minutes_used(
    live_server, browser, fast_clock
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    member = make_member()
    log_in(browser, live_server, member)
    browser.get(f"{live_server.url}/heat/")
    toggle = browser.find_element(By.CSS_SELECTOR, "[data-timer-toggle]")

    toggle.click()
    stop = browser.find_element(By.CSS_SELECTOR, "[data-timer-end]")
    assert not toggle.is_displayed()  # heat has no pause: the time runs from the start
    assert browser.switch_to.active_element == stop
    WebDriverWait(browser, 10).until(lambda b: clock_seconds(b) >= 3 * 60)
    stop.click()

    WebDriverWait(browser, 10).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".messages"))
    logged = Activity.objects.get(member=member)
    assert logged.kind == "heat"
    assert logged.minutes in (3, 4)  # whole minutes: three, or four if the click was slow
    assert problems_in_the_log(browser) == []
