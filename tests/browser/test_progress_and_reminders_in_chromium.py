"""The Reminders and Progress pages in a real browser: a member adds, edits and pauses
reminders, sets quiet hours with the time zone the browser offers, reads their figures
and charts, and hides streaks. Accessible (axe-core), no Content-Security-Policy
violation, no sideways scroll on a phone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.reminders.models import Schedule
from tests.browser.conftest import SCREENSHOTS, accessibility_problems, screenshot
from tests.factories import DEFAULT_PASSWORD, make_activity, make_checkin, make_member, make_nudge

pytestmark = pytest.mark.django_db(transaction=True)

PHONE_WIDTH = 390
WIDER_THAN_THE_SCREEN = (
    "return [...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > arguments[0])"
    ".map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + e.getBoundingClientRect().right)"
    ".slice(0, 10)"
)


def csp_violations(browser) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def log_in(browser, live_server, email: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/accounts/login/")
    browser.find_element(By.NAME, "username").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/today/"))


def wait_for_text(browser, text: str) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # The page may still be the previous one, replaced while we read it.
    WebDriverWait(browser, 10, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda b: text in b.find_element(By.TAG_NAME, "main").text, message=text
    )


def local_text(moment, zone: str) -> str:
    """How the page writes a moment: "Tue 24 Nov, 10:30" in the member's zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %-d %b, %H:%M")


def next_weekday_firing(times: list[str], zone: str) -> datetime:
    """The first of these local times, Monday to Friday, after now, worked out here from the
    wall clock: which one depends on the time of day the test runs. (Times outside 02:00-
    03:00 exist on every day in Paris, so combining them with the zone is exact.)"""
    local_zone, now = ZoneInfo(zone), timezone.now()
    today = now.astimezone(local_zone).date()
    candidates = (
        datetime.combine(today + timedelta(days=offset), time.fromisoformat(wall), local_zone)
        for offset in range(8)
        for wall in times
    )
    return min(c for c in candidates if c > now and c.weekday() < 5)


def type_time(browser, field, wall_time: str) -> None:
    """Type a time as a person would; the field's segments follow the browser's locale
    (12-hour with AM/PM in en-US, 24-hour elsewhere)."""
    hour, minute = (int(part) for part in wall_time.split(":"))
    twelve_hour = browser.execute_script(
        "return new Intl.DateTimeFormat(navigator.language, {hour: 'numeric'})"
        ".resolvedOptions().hour12"
    )
    if twelve_hour:
        field.send_keys(f"{hour % 12 or 12:02}{minute:02}{'PM' if hour >= 12 else 'AM'}")
    else:
        field.send_keys(f"{hour:02}{minute:02}")
    assert field.get_attribute("value") == wall_time


def shown_charts(browser) -> list:
    """The charts on screen: each is drawn twice, for wide screens and for phones."""
    from selenium.webdriver.common.by import By

    return [
        chart
        for chart in browser.find_elements(By.CSS_SELECTOR, "svg.chart")
        if chart.is_displayed()
    ]


def fits_a_phone(browser) -> bool:
    browser.set_window_size(PHONE_WIDTH, 844)
    width = browser.execute_script("return document.documentElement.scrollWidth")
    if width > PHONE_WIDTH:  # name the culprits in the failure
        print(browser.execute_script(WIDER_THAN_THE_SCREEN, PHONE_WIDTH))
    return width <= PHONE_WIDTH


def test_a_member_adds_edits_and_pauses_reminders_and_sets_quiet_hours(
    live_server, browser
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    member = make_member(email="rosa@example.org", timezone="UTC")  # the sign-up default
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Europe/Paris"})
    log_in(browser, live_server, member.email)

    defaults = Schedule.objects.filter(member=member).count()

    # given: the page, whose time-zone field the browser has filled with its own zone
    browser.get(f"{live_server.url}/reminders/")
    zone_field = browser.find_element(By.ID, "settings-timezone")
    assert zone_field.get_attribute("value") == "Europe/Paris"

    # when: a stretch at 10:30 and 15:00 on weekdays, first with a typo
    browser.find_element(By.CSS_SELECTOR, "#add-heading + details > summary").click()
    Select(browser.find_element(By.ID, "new-kind")).select_by_value("stretch")
    browser.find_element(By.ID, "new-times").send_keys("10.30, 15:00")
    for weekend_day in ("new-weekdays_5", "new-weekdays_6"):
        browser.find_element(By.ID, weekend_day).click()
    browser.find_element(By.CSS_SELECTOR, "form[action='/reminders/new/'] button").click()

    # then: the mistake is named next to the field, and nothing was added
    wait_for_text(browser, "“10.30”: Time has wrong format")
    assert browser.find_element(By.ID, "new-times").get_attribute("aria-invalid") == "true"
    assert browser.switch_to.active_element.get_attribute("id") == "new-times"  # reminders.js
    assert accessibility_problems(browser) == []
    assert Schedule.objects.filter(member=member).count() == defaults
    times_field = browser.find_element(By.ID, "new-times")
    times_field.clear()
    times_field.send_keys("10:30, 15:00")
    browser.find_element(By.CSS_SELECTOR, "form[action='/reminders/new/'] button").click()

    # then: listed, in words, with its next firing
    wait_for_text(browser, "Added: Stretch, at 10:30 and 15:00, Monday to Friday.")
    added = Schedule.objects.filter(member=member).order_by("-id").first()
    assert (added.times, added.weekdays) == (["10:30", "15:00"], [0, 1, 2, 3, 4])
    card = browser.find_element(By.ID, f"schedule-{added.pk}")
    assert "At 10:30 and 15:00, Monday to Friday" in card.text
    assert card.find_element(By.CSS_SELECTOR, ".next time").text == local_text(
        added.next_due_at, "UTC"
    )

    # when: it is edited
    card.find_element(By.CSS_SELECTOR, "summary").click()
    card_times = card.find_element(By.ID, f"schedule-{added.pk}-times")
    card_times.clear()
    card_times.send_keys("10:30 16:00")
    card.find_element(By.CSS_SELECTOR, f"form[action='/reminders/{added.pk}/'] button").click()

    # then
    wait_for_text(browser, "Saved: Stretch, at 10:30 and 16:00, Monday to Friday.")
    added.refresh_from_db()
    assert added.times == ["10:30", "16:00"]

    # when: quiet hours from 21:00 to 07:30, saved with the zone the browser offered
    # when: the time-zone field is emptied and the settings sent
    zone_field = browser.find_element(By.ID, "settings-timezone")
    zone_field.clear()
    browser.find_element(By.CSS_SELECTOR, "form[action='/reminders/settings/'] button").click()

    # then: refused on that field, which the browser fills in again; nothing stored
    wait_for_text(browser, "This field may not be blank.")
    assert browser.find_element(By.ID, "settings-timezone").get_attribute("value") == "Europe/Paris"
    member.profile.refresh_from_db()
    assert member.profile.timezone == "UTC"

    type_time(browser, browser.find_element(By.ID, "settings-quiet_start"), "21:00")
    type_time(browser, browser.find_element(By.ID, "settings-quiet_end"), "07:30")
    assert browser.find_element(By.ID, "settings-timezone").get_attribute("value") == "Europe/Paris"
    browser.find_element(By.CSS_SELECTOR, "form[action='/reminders/settings/'] button").click()

    # then
    wait_for_text(browser, "Your settings are saved")
    profile = member.profile
    profile.refresh_from_db()
    assert profile.timezone == "Europe/Paris"
    assert (profile.quiet_start.isoformat(), profile.quiet_end.isoformat()) == (
        "21:00:00",
        "07:30:00",
    )
    assert "(Europe/Paris)" in browser.find_element(By.TAG_NAME, "main").text
    added.refresh_from_db()  # re-timed to Paris wall-clock time, and shown in Paris time
    assert added.next_due_at == next_weekday_firing(["10:30", "16:00"], "Europe/Paris")
    next_shown = browser.find_element(By.CSS_SELECTOR, f"#schedule-{added.pk} .next time").text
    assert next_shown == local_text(added.next_due_at, "Europe/Paris")
    # the zone is chosen now: the browser no longer overrides it
    assert (
        browser.find_element(By.ID, "settings-timezone").get_attribute("data-browser-timezone")
        is None
    )

    # when: a pause for an hour
    browser.find_element(By.XPATH, "//button[text()='Pause for 1 hour']").click()

    # then: the notice says until when, in the member's time; resuming ends it
    wait_for_text(browser, "All reminders are paused until")
    profile.refresh_from_db()
    paused_until = profile.paused_until.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M")
    notice = browser.find_element(By.ID, "paused-notice")
    assert paused_until in notice.text
    assert notice.get_attribute("role") == "status"
    assert accessibility_problems(browser) == []
    screenshot(browser, "reminders")
    notice.find_element(By.TAG_NAME, "button").click()
    wait_for_text(browser, "Reminders are back on.")
    assert not browser.find_elements(By.ID, "paused-notice")
    profile.refresh_from_db()
    assert profile.paused_until is None

    # and: accessible, within the policy, and no sideways scroll on a phone
    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []
    assert fits_a_phone(browser), "the Reminders page scrolls sideways on a phone"


def test_a_member_reads_their_progress_and_hides_streaks(live_server, browser) -> None:
    from selenium.webdriver.common.by import By

    member = make_member(email="ines@example.org", timezone="Europe/Paris")
    now = timezone.now()
    for days_ago in range(6):
        moment = now - timedelta(days=days_ago, minutes=5)
        make_nudge(member=member, kind="stretch", due_at=moment, status="done", acted_at=moment)
        make_nudge(member=member, kind="hydration", due_at=moment, status="sent")
        make_activity(member=member, kind="mindfulness", minutes=10, recorded_at=moment)
        make_checkin(member=member, stress=6 - days_ago % 3, pain=3, recorded_at=moment)
    log_in(browser, live_server, member.email)

    # when
    browser.get(f"{live_server.url}/progress/?days=7")

    # then: the figures, and both charts drawn at a real size
    main = browser.find_element(By.TAG_NAME, "main")
    assert browser.find_element(By.ID, "overall-adherence").text == "50 %"
    assert browser.find_element(By.ID, "mindfulness-minutes").text == "60"
    assert "Nothing here yet" not in main.text
    charts = shown_charts(browser)
    assert len(charts) == 2
    assert all(chart.size["width"] > 500 and chart.size["height"] > 150 for chart in charts)
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart polyline")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-streak]")
    assert "(best 6)" in main.text
    assert accessibility_problems(browser) == []
    screenshot(browser, "progress")

    # and on a phone: the narrow drawings, nothing wider than the screen
    assert fits_a_phone(browser), "the Progress page scrolls sideways on a phone"
    assert browser.execute_script(
        "const box = document.querySelector('.table-box');return box.scrollWidth <= box.clientWidth"
    ), "the table scrolls sideways on a phone"
    charts = shown_charts(browser)
    assert len(charts) == 2
    assert all(chart.size["width"] > 300 and chart.size["height"] > 150 for chart in charts)
    assert accessibility_problems(browser) == []
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(PHONE_WIDTH, min(int(height) + 100, 6000))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "progress-phone.png"))

    # when: streaks are hidden
    browser.find_element(By.XPATH, "//button[text()='Hide streaks']").click()

    # then: no streak anywhere on the page, the period kept, and the way back offered
    wait_for_text(browser, "Streaks are hidden")
    assert browser.current_url.endswith("/progress/?days=7")
    assert browser.find_elements(By.CSS_SELECTOR, "[data-streak]") == []
    main_text = browser.find_element(By.TAG_NAME, "main").text
    assert "(best " not in main_text
    assert "Streak" not in [cell.text for cell in browser.find_elements(By.TAG_NAME, "th")]
    assert browser.find_element(By.XPATH, "//button[text()='Show them again']")
    member.profile.refresh_from_db()
    assert member.profile.show_streaks is False
    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []
