"""The public pages in a real browser: readable on a phone, accessible (axe-core), no
Content-Security-Policy violation, and sign-up fills the time zone from the browser."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from tests.browser.conftest import accessibility_problems, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def csp_violations(browser) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


@pytest.mark.parametrize("path", ["/", "/signup/", "/accounts/login/", "/accounts/password_reset/"])
def test_public_pages_are_accessible_and_respect_the_policy(live_server, browser, path) -> None:
    browser.set_window_size(390, 844)  # a phone

    browser.get(f"{live_server.url}{path}")

    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    screenshot(browser, "public" + path.strip("/").replace("/", "-") or "public-landing")


def test_sign_up_in_the_browser_takes_the_browsers_time_zone(live_server, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Kathmandu"})
    browser.get(f"{live_server.url}/signup/")
    # Chromium's ICU still names it by the old spelling, which zoneinfo knows as a link.
    prefilled = browser.find_element(By.NAME, "timezone").get_attribute("value")
    assert prefilled in ("Asia/Kathmandu", "Asia/Katmandu")
    browser.find_element(By.NAME, "email").send_keys("walker@example.org")
    browser.find_element(By.NAME, "password").send_keys("calm-shoulders-2026")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()

    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/today/"))
    assert User.objects.get(email="walker@example.org").profile.timezone == prefilled
