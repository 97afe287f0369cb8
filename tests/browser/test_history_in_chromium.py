"""History in a real browser: accessible, within the policy, a deletion from the page."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from apps.tracking.models import CheckIn
from tests.browser.conftest import accessibility_problems, screenshot
from tests.factories import make_activity, make_checkin, make_member

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_deletes_a_check_in_from_history(live_server, browser, client) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    member = make_member()
    make_checkin(member=member, stress=7, pain=2)
    make_activity(member=member, kind="mindfulness", minutes=10)
    client.force_login(member)
    browser.set_window_size(390, 844)
    browser.get(f"{live_server.url}/accounts/login/")
    browser.add_cookie(
        {"name": django_settings.SESSION_COOKIE_NAME, "value": client.cookies["sessionid"].value}
    )

    browser.get(f"{live_server.url}/history/")
    assert "stress 7, pain 2" in browser.find_element(By.TAG_NAME, "main").text
    assert accessibility_problems(browser) == []
    screenshot(browser, "history")
    browser.set_window_size(390, 844)
    browser.find_element(By.CSS_SELECTOR, "form[action*='/checkins/'] button").click()

    WebDriverWait(browser, 10).until(lambda b: not CheckIn.objects.exists())
    WebDriverWait(browser, 10).until(lambda b: "The check-in is deleted." in b.page_source)
    assert accessibility_problems(browser) == []
    csp = [e["message"] for e in browser.get_log("browser") if "Content Security" in e["message"]]
    assert csp == []
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
