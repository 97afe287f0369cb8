"""The Today page in a real browser, on a phone-width screen: log a glass of water, check
in with the sliders moved from the keyboard, mark a nudge done; accessible (axe-core) before
and after, no Content-Security-Policy violation, no sideways scroll."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.reminders.models import Nudge
from apps.tracking.models import CheckIn
from tests.browser.conftest import SCREENSHOTS, accessibility_problems, screenshot
from tests.factories import DEFAULT_PASSWORD, make_checkin, make_member, make_nudge

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 390


def csp_violations(browser) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def sideways_scroll(browser) -> int:
    return browser.execute_script("return document.documentElement.scrollWidth")


def words(browser, element_id: str) -> str:
    """An element's text on one line (the summary's figures sit on their own line)."""
    from selenium.webdriver.common.by import By

    return " ".join(browser.find_element(By.ID, element_id).text.split())


def phone_screenshot(browser, name: str) -> Path:
    """The whole page at phone width (the shared helper widens the window to a desktop's)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(PHONE_WIDTH, max(844, min(int(height) + 100, 6000)))
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(PHONE_WIDTH, 844)
    return path


def log_in_on_a_phone(live_server, browser, email: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.set_window_size(PHONE_WIDTH, 844)
    browser.get(f"{live_server.url}/accounts/login/")
    browser.find_element(By.NAME, "username").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/today/"))


def test_a_member_logs_water_checks_in_and_marks_a_nudge_done(live_server, browser) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    # A wait may read an element of the page the click is replacing: look again.
    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    member = make_member(email="ann@example.org")
    now = timezone.now()
    nudge = make_nudge(member=member, kind="stretch", due_at=now, status="sent")
    # another one on its way, so the finished page still shows the buttons and the snooze
    # choice to axe and in the screenshots
    make_nudge(member=member, kind="hydration", due_at=now, status="pending")
    # pain on and off for two weeks: the persistent-pain notice shows
    for days_ago in (16, 10, 4, 1):
        make_checkin(member=member, pain=4, recorded_at=now - timedelta(days=days_ago))

    # given: logged in on a phone
    log_in_on_a_phone(live_server, browser, "ann@example.org")

    # then: the empty day is accessible, within the policy, and fits the screen
    assert accessibility_problems(browser) == []
    assert sideways_scroll(browser) <= PHONE_WIDTH, "the page scrolls sideways on a phone"
    assert words(browser, "summary-water") == "0 ml of water, goal 2,000 ml"
    notice = browser.find_element(By.CSS_SELECTOR, ".pain-notice").text
    assert "soft-tissue therapist" in notice
    assert "15 to 20 minutes at most" in notice

    # when: a glass of water
    browser.find_element(By.CSS_SELECTOR, "button[name=kind][value=hydration]").click()

    # then: the water line grows
    wait.until(lambda b: words(b, "summary-water") == "250 ml of water, goal 2,000 ml")
    assert "Logged a glass of water (250 ml)." in browser.find_element(By.ID, "main").text

    # when: a check-in, the sliders moved with the arrow keys and two symptoms ticked
    stress = browser.find_element(By.ID, "id_stress")
    stress.send_keys(Keys.ARROW_RIGHT * 3)
    pain = browser.find_element(By.ID, "id_pain")
    pain.send_keys(Keys.ARROW_RIGHT * 2)
    assert browser.find_element(By.ID, "stress_value").text == "3"  # today.js
    assert browser.find_element(By.ID, "pain_value").text == "2"
    for symptom in ("tightness", "knots"):
        browser.find_element(By.CSS_SELECTOR, f"input[name=symptoms][value={symptom}]").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=body_areas][value=neck]").click()
    browser.find_element(By.CSS_SELECTOR, ".checkin-form button[type=submit]").click()

    # then: saved, counted and listed
    wait.until(lambda b: b.find_elements(By.ID, "checkins-today"))
    assert words(browser, "summary-checkins") == "1 check-in"
    listed = browser.find_element(By.ID, "checkins-today").text
    assert "stress 3, pain 2; tightness, knots; neck" in listed
    saved = CheckIn.objects.filter(member=member).latest("recorded_at")
    assert (saved.stress, saved.pain, saved.symptoms) == (3, 2, ["tightness", "knots"])

    # when: Done on today's stretch nudge
    state = browser.find_element(By.ID, f"nudge-{nudge.pk}-state")
    assert state.text == "sent"
    browser.find_element(By.CSS_SELECTOR, f"form[action$='/{nudge.pk}/done/'] button").click()

    # then: it says done and offers nothing more
    wait.until(lambda b: b.find_element(By.ID, f"nudge-{nudge.pk}-state").text == "done")
    assert not browser.find_elements(By.CSS_SELECTOR, f"form[action*='/{nudge.pk}/']")
    assert Nudge.objects.get(pk=nudge.pk).status == "done"

    # and the full page still passes
    assert accessibility_problems(browser) == []
    assert sideways_scroll(browser) <= PHONE_WIDTH, "the page scrolls sideways on a phone"
    assert csp_violations(browser) == []
    phone_screenshot(browser, "today-phone")
    screenshot(browser, "today-desktop")


def test_a_refused_snooze_is_said_beside_the_nudge_and_the_page_stays_accessible(
    live_server, browser
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    member = make_member(email="ben@example.org")
    nudge = make_nudge(member=member, kind="movement", due_at=timezone.now(), status="sent")
    log_in_on_a_phone(live_server, browser, "ben@example.org")

    # when: a hand-edited form asks for a 500-minute snooze
    browser.execute_script(
        "document.querySelector('#snooze-' + arguments[0] + ' option[selected]').value = '500';",
        nudge.pk,
    )
    browser.find_element(By.CSS_SELECTOR, f"form[action$='/{nudge.pk}/snooze/'] button").click()

    # then: the reason sits beside that nudge, tied to its snooze choice; nothing changed
    error = WebDriverWait(browser, 10).until(
        lambda b: b.find_elements(By.ID, f"nudge-{nudge.pk}-error")
    )[0]
    assert "less than or equal to 120" in error.text
    choice = browser.find_element(By.ID, f"snooze-{nudge.pk}")
    assert choice.get_attribute("aria-describedby") == f"nudge-{nudge.pk}-error"
    assert Nudge.objects.get(pk=nudge.pk).status == "sent"
    assert accessibility_problems(browser) == []
    assert sideways_scroll(browser) <= PHONE_WIDTH
    assert csp_violations(browser) == []
