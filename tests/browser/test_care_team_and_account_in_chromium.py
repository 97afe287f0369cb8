"""The care team and account pages in a real browser: a member enters a therapist's code,
changes what they share, reads the access log and stops sharing; downloads their data and
deletes their account. Accessible (axe-core), no Content-Security-Policy violation, no
sideways scroll on a phone."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.careteam.models import CareLink
from apps.careteam.services import access_log_record, invitation_create
from tests.browser.conftest import accessibility_problems, screenshot
from tests.factories import DEFAULT_PASSWORD, make_checkin, make_member, make_therapist

pytestmark = pytest.mark.django_db(transaction=True)


def csp_violations(browser) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def log_in(browser, live_server, *, email: str, next_path: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/accounts/login/?next={next_path}")
    browser.find_element(By.NAME, "username").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    # The log-in address ends with ?next=<path> too: compare the whole URL.
    WebDriverWait(browser, 10).until(lambda b: b.current_url == f"{live_server.url}{next_path}")


def fits_a_phone(browser) -> bool:
    browser.set_window_size(390, 844)
    width = browser.execute_script("return document.documentElement.scrollWidth")
    browser.set_window_size(1440, 1000)
    return width <= 390


def submit_and_wait(browser, button) -> None:
    """Click a form's button and wait for the next page (POST-redirect-GET)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    button.click()
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(button))
    # A click does not wait for the next page the way get() does.
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def test_a_member_shares_with_a_therapist_changes_it_reads_the_log_and_stops(
    live_server, browser
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    therapist = make_therapist()
    therapist.display_name = "Dr Ana Ruiz"
    therapist.save(update_fields=["display_name"])
    _, code = invitation_create(therapist=therapist)
    member = make_member(timezone="Europe/Lisbon")
    log_in(browser, live_server, email=member.email, next_path="/care-team/")

    # given: a mistyped code is refused on the code field, the error tied to the input
    field = browser.find_element(By.ID, "id_code")
    field.send_keys("K7QX-0000")
    submit_and_wait(browser, browser.find_element(By.XPATH, "//button[.='Start sharing']"))
    error = browser.find_element(By.ID, "id_code_error")
    assert "not valid" in error.text
    assert "id_code_error" in browser.find_element(By.ID, "id_code").get_attribute(
        "aria-describedby"
    )
    assert accessibility_problems(browser) == []

    # when: the real code, notes left unticked (the default)
    field = browser.find_element(By.ID, "id_code")
    field.clear()
    field.send_keys(code)
    assert browser.find_element(By.ID, "id_share_adherence").is_selected()
    assert browser.find_element(By.ID, "id_share_checkins").is_selected()
    assert not browser.find_element(By.ID, "id_share_notes").is_selected()
    submit_and_wait(browser, browser.find_element(By.XPATH, "//button[.='Start sharing']"))

    # then: the therapist is listed with what they see
    assert (
        "You now share with Dr Ana Ruiz" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    )
    link = CareLink.objects.get(member=member, revoked_at__isnull=True)
    assert (link.share_adherence, link.share_checkins, link.share_notes) == (True, True, False)

    # when: check-ins unticked and notes ticked in the link's own form
    browser.find_element(By.ID, f"id_link{link.pk}_share_checkins").click()
    browser.find_element(By.ID, f"id_link{link.pk}_share_notes").click()
    submit_and_wait(browser, browser.find_element(By.XPATH, "//button[.='Save what I share']"))
    link.refresh_from_db()
    assert (link.share_adherence, link.share_checkins, link.share_notes) == (True, False, True)
    assert (
        "can see your reminders and habits and check-in notes"
        in browser.find_element(By.CSS_SELECTOR, ".messages").text
    )

    # when: the therapist reads; then: the member sees it in the log
    access_log_record(link=link, categories=["adherence", "notes"], what="client page")
    browser.get(f"{live_server.url}/care-team/")
    log = browser.find_element(By.CSS_SELECTOR, ".access-log").text
    assert "Dr Ana Ruiz looked at your reminders and habits and check-in notes" in log

    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []
    assert fits_a_phone(browser), "the care team page scrolls sideways on a phone"
    screenshot(browser, "care-team")

    # when: they stop sharing
    submit_and_wait(
        browser, browser.find_element(By.XPATH, "//button[.='Stop sharing with Dr Ana Ruiz']")
    )
    WebDriverWait(browser, 10).until(
        lambda b: "You do not share with anyone" in b.find_element(By.TAG_NAME, "main").text
    )
    assert (
        "cannot see anything of yours from now on"
        in browser.find_element(By.CSS_SELECTOR, ".messages").text
    )
    link.refresh_from_db()
    assert link.revoked_at is not None


def test_a_member_downloads_their_data_and_deletes_the_account(live_server, browser) -> None:
    from selenium.webdriver.common.by import By

    member = make_member(email="lee@example.org")
    make_checkin(member=member, pain=5, note="shoulders tight")
    log_in(browser, live_server, email=member.email, next_path="/account/")

    # given: the page, on a phone too
    assert "lee@example.org" in browser.find_element(By.TAG_NAME, "main").text
    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []
    assert fits_a_phone(browser), "the account page scrolls sideways on a phone"
    screenshot(browser, "account")

    # when: the download link is fetched with this browser's session
    href = browser.find_element(By.LINK_TEXT, "Download my data").get_attribute("href")
    download = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text().then(body =>"
        " done({status: r.status, disposition: r.headers.get('Content-Disposition'),"
        " type: r.headers.get('Content-Type'), body: body})));",
        href,
    )
    assert download["status"] == 200
    assert download["type"].startswith("application/json")
    assert download["disposition"].startswith('attachment; filename="stressrelief-export-')
    assert '"shoulders tight"' in download["body"]

    # when: the wrong password first
    browser.find_element(By.ID, "id_password").send_keys("not-my-password")
    submit_and_wait(
        browser, browser.find_element(By.XPATH, "//button[.='Delete my account and all my data']")
    )
    assert browser.find_element(By.ID, "id_password_error").text == "The password is not correct."
    assert User.objects.filter(pk=member.pk).exists()
    assert accessibility_problems(browser) == []

    # then: the right one
    browser.find_element(By.ID, "id_password").send_keys(DEFAULT_PASSWORD)
    submit_and_wait(
        browser, browser.find_element(By.XPATH, "//button[.='Delete my account and all my data']")
    )
    assert browser.current_url == f"{live_server.url}/"
    assert "have been deleted" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert not User.objects.filter(pk=member.pk).exists()
    assert csp_violations(browser) == []
