"""The whole member journey from the issue, in a real browser and through pages alone:
sign up -> set a schedule -> log a check-in -> run the mindfulness timer with a fast clock
-> see progress change -> accept an invitation -> revoke it. Each page is checked with
axe-core and for CSP violations on the way."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.careteam.models import CareLink
from apps.careteam.services import invitation_create
from tests.browser.conftest import accessibility_problems, screenshot
from tests.factories import make_therapist

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_does_everything_from_pages_alone(live_server, browser, settings) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
    from selenium.webdriver.support.ui import WebDriverWait as Wait

    def WebDriverWait(driver, seconds):  # Selenium's own, ignoring errors of a page mid-reload
        return Wait(driver, seconds, ignored_exceptions=(WebDriverException,))

    settings.WEB_TIMER_SECONDS_PER_MINUTE = 1  # a "minute" of the timer lasts a second
    browser.set_window_size(390, 844)
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Europe/Lisbon"})
    site = live_server.url

    def wait_for(text: str) -> None:
        WebDriverWait(browser, 20).until(
            lambda b: text in b.find_element(By.TAG_NAME, "main").text, f"waiting for {text!r}"
        )

    def page_is_sound() -> None:
        assert accessibility_problems(browser) == []
        csp = [
            e["message"] for e in browser.get_log("browser") if "Content Security" in e["message"]
        ]
        assert csp == []

    # Sign up: the time zone comes from the browser.
    browser.get(f"{site}/signup/")
    browser.find_element(By.NAME, "email").send_keys("journey@example.org")
    browser.find_element(By.NAME, "password").send_keys("calm-shoulders-2026")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/today/"))
    member = User.objects.get(email="journey@example.org")
    assert member.profile.timezone == "Europe/Lisbon"
    page_is_sound()

    # Set a schedule: a warm-up at 07:15 every day.
    browser.get(f"{site}/reminders/")
    browser.find_element(By.CSS_SELECTOR, "#add-heading + details > summary").click()
    Select(browser.find_element(By.ID, "new-kind")).select_by_value("warmup")
    browser.find_element(By.ID, "new-times").send_keys("07:15")
    browser.find_element(By.CSS_SELECTOR, "form[action='/reminders/new/'] button").click()
    wait_for("Added: Warm up, at 07:15")
    assert member.schedules.filter(kind="warmup", times=["07:15"]).exists()
    page_is_sound()

    # Log a check-in: stress 6, pain 3 with the keyboard, tightness in the neck.
    browser.get(f"{site}/today/")
    browser.find_element(By.ID, "id_stress").send_keys(*[Keys.ARROW_RIGHT] * 6)
    browser.find_element(By.ID, "id_pain").send_keys(*[Keys.ARROW_RIGHT] * 3)
    browser.find_element(By.CSS_SELECTOR, "input[name=symptoms][value=tightness]").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=body_areas][value=neck]").click()
    browser.find_element(By.CSS_SELECTOR, "form.checkin-form button[type=submit]").click()
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#summary-checkins .figure").text == "1"
    )
    checkin = member.checkins.get()
    assert (checkin.stress, checkin.pain, checkin.symptoms, checkin.body_areas) == (
        6, 3, ["tightness"], ["neck"],
    )  # fmt: skip
    page_is_sound()

    # Progress before the mindfulness session.
    browser.get(f"{site}/progress/?days=7")
    assert browser.find_element(By.ID, "mindfulness-minutes").text == "0"

    # The mindfulness timer, run to its end on the fast clock.
    browser.get(f"{site}/mindfulness/")
    browser.find_element(By.CSS_SELECTOR, "#mindfulness-timer [data-timer-toggle]").click()
    WebDriverWait(browser, 30).until(
        lambda b: (
            b.find_elements(By.CSS_SELECTOR, ".messages")
            and "10 minutes of mindfulness logged"
            in b.find_element(By.CSS_SELECTOR, ".messages").text
        )
    )
    assert list(member.activities.values_list("kind", "minutes")) == [("mindfulness", 10)]
    page_is_sound()

    # Progress has changed: the session and the check-in are counted.
    browser.get(f"{site}/progress/?days=7")
    assert browser.find_element(By.ID, "mindfulness-minutes").text == "10"
    assert browser.find_element(By.ID, "stress-week").text.startswith("6.0")
    page_is_sound()
    screenshot(browser, "journey-progress")
    browser.set_window_size(390, 844)

    # Accept a therapist's invitation, sharing adherence only.
    therapist = make_therapist()
    _, code = invitation_create(therapist=therapist)
    browser.get(f"{site}/care-team/")
    browser.find_element(By.NAME, "code").send_keys(code.lower())
    share_checkins = browser.find_element(
        By.CSS_SELECTOR, "input[type=checkbox][name=share_checkins]"
    )
    if share_checkins.is_selected():
        share_checkins.click()
    browser.find_element(By.XPATH, "//button[text()='Start sharing']").click()
    wait_for("Stop sharing with")
    link = CareLink.objects.get(member=member, therapist=therapist, revoked_at__isnull=True)
    assert (link.share_adherence, link.share_checkins, link.share_notes) == (True, False, False)
    page_is_sound()

    # Revoke it: the therapist loses access at once.
    browser.find_element(By.CSS_SELECTOR, "form.revoke button").click()
    WebDriverWait(browser, 10).until(lambda b: not b.find_elements(By.CSS_SELECTOR, "form.revoke"))
    link.refresh_from_db()
    assert link.revoked_at is not None
    page_is_sound()
    screenshot(browser, "journey-care-team")
