"""Headless Chromium from Debian (`apt-get install chromium chromium-driver`), driven by
Selenium. Never a browser download: the driver and the binary are given by path, and
Selenium Manager is told to stay offline. Screenshots go to var/screenshots/ (not
committed) for people to look at."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("STRESSRELIEF_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("STRESSRELIEF_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _waits_tolerate_a_page_mid_reload() -> None:
    """A condition polled while the page is being replaced can fail with a stale element
    or Chromium's "Node with given id does not belong to the document"; both only mean
    "not yet", so every WebDriverWait polls again instead of failing (a real failure still
    ends as a TimeoutException naming the wait). Seen as a 1-in-5 flake before this."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import wait

    wait.IGNORED_EXCEPTIONS = (WebDriverException,)


@pytest.fixture
def browser() -> Iterator[object]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip(
            "needs a browser: install chromium and chromium-driver "
            "(apt-get install chromium chromium-driver; .ci/run does)"
        )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser
    _waits_tolerate_a_page_mid_reload()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1440,1000", "--disable-gpu", "--lang=en-GB"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP reports land there
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: object, name: str) -> Path:
    """Save the whole page (as tall as it is) to var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1440, max(1000, min(int(height) + 100, 6000)))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def accessibility_problems(driver: object) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the current page, one line each.

    The script is injected by WebDriver, which the page's Content-Security-Policy does not
    govern; the page itself still loads nothing inline."""
    from axe_core_python import __file__ as axe_package

    script = (Path(axe_package).parent / "axe.min.js").read_text()
    driver.execute_script(script)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' (' +"
        " v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ') + ')')))"
        ".catch(e => done(['axe failed: ' + e]));",
        AXE_TAGS,
    )
    return list(result)
