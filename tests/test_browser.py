"""``mlsse serve`` in a real browser: start the server on a free local port, open its pages in headless Chromium
(Debian's chromium and chromium-driver, driven by Selenium; nothing is downloaded), submit a formula, a bad
formula and a dope scan, and check what appears. Screenshots go to ``$MLSSE_SCREENSHOT_DIR`` (default: the
test's temporary directory), to be looked at."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="no headless browser here: apt-get install chromium chromium-driver")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``mlsse serve`` on a free port of 127.0.0.1, in its own process; its base URL."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    home = tmp_path_factory.mktemp("browser_home")
    process = subprocess.Popen([sys.executable, "-m", "mlsse", "serve", "--port", str(port)],
                               env={**os.environ, "MLSSE_HOME": str(home)}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"mlsse serve stopped: {process.stdout.read()}")
                if time.monotonic() > deadline:
                    pytest.fail("mlsse serve did not answer within 180 s")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The flags a closed network needs: no background connections, no updates, no sync.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(180)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    directory = Path(os.environ.get("MLSSE_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _wait_for(browser, css: str, timeout: float = 180):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR,
                                                                                                 css)))


def test_a_chemist_predicts_two_formulas_in_the_browser(server, browser, shots):
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    box = browser.find_element(By.NAME, "formulas")
    box.send_keys("Li6PS5Cl\nLi2.3ZrCl5.85N0.15")
    browser.find_element(By.NAME, "temperature_c").send_keys("60")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait_for(browser, "article.card")
    cards = browser.find_elements(By.CSS_SELECTOR, "article.card")
    assert [card.get_attribute("data-formula") for card in cards] == ["Li6PS5Cl", "Li2.3ZrCl5.85N0.15"]
    assert "σ at 60 °C" in cards[0].text and "S/cm" in cards[0].text and "Ea" in cards[0].text
    chart = cards[0].find_element(By.CSS_SELECTOR, "img.chart")
    assert browser.execute_script("return arguments[0].naturalWidth", chart) > 100  # the SVG drew
    browser.save_screenshot(str(shots / "predict.png"))


def test_a_bad_formula_is_shown_beside_its_field(server, browser, shots):
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    browser.find_element(By.NAME, "formulas").send_keys("Li6PS5Cl\nLi3Qz2Cl6")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    error = _wait_for(browser, 'em.error[data-field="formulas"]')
    assert "Li3Qz2Cl6" in error.text and "unknown element" in error.text
    browser.save_screenshot(str(shots / "predict_error.png"))


def test_a_chemist_runs_a_dope_scan_in_the_browser(server, browser, shots):
    from selenium.webdriver.common.by import By

    browser.get(server + "/dope")
    for name, value in (("host", "Li2ZrCl6"), ("site", "Cl"), ("dopants", "N,F")):
        browser.find_element(By.NAME, name).send_keys(value)
    levels = browser.find_element(By.NAME, "levels")
    levels.clear()
    levels.send_keys("0:0.3:0.05")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    table = _wait_for(browser, "table.ranked")
    rows = table.find_elements(By.CSS_SELECTOR, "tr")[1:]
    assert len(rows) == 14  # 2 dopants × 7 levels
    assert rows[0].find_elements(By.TAG_NAME, "td")[0].text == "1"
    figure = browser.find_element(By.CSS_SELECTOR, "img.chart.wide")
    assert browser.execute_script("return arguments[0].naturalWidth", figure) > 300
    assert browser.find_element(By.LINK_TEXT, "Download CSV").get_attribute("href").startswith(
        server + "/dope.csv?host=Li2ZrCl6")
    browser.save_screenshot(str(shots / "dope.png"))
