"""The real app in a real browser: start ``streamlit run app.py`` on a fresh database
(the app loads the sample data on first start), open the Overview, check the headline,
switch pages, upload a small file, and keep screenshots in ``artifacts/screenshots/``.

Skips when Chromium is missing, except under ``CI=true``, where a missing browser is a
failure (CI installs it).
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"
SERVER_START_TIMEOUT = 45      # seconds
PAGE_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if CHROMIUM.exists() and importlib.util.find_spec("playwright"):
        return
    reason = f"{CHROMIUM} or the playwright package is missing"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}: the real-browser test must run in CI")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"streamlit exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"streamlit did not answer within {SERVER_START_TIMEOUT}s:\n"
                         f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    if importlib.util.find_spec("analysis.intake.ingest") is None:
        pytest.skip("analysis.intake.ingest is not there yet: app.py cannot load the sample data")
    tmp = tmp_path_factory.mktemp("browser")
    port = _free_port()
    log = tmp / "streamlit.log"
    env = dict(os.environ, PPI_DB=str(tmp / "app.duckdb"), PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             timeout=PAGE_TIMEOUT_MS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 2400})
            tab.set_default_timeout(PAGE_TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


def _no_exception(tab) -> None:
    errors = tab.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


def test_overview_shows_the_headline(server, page):
    page.goto(server)
    page.get_by_text("Peer support at a glance", exact=True).wait_for()
    headline = page.locator("[data-testid='stMetric']").filter(has_text="Program effect")
    headline.wait_for()
    assert headline.is_visible()
    page.locator("[data-testid='stPlotlyChart']").first.wait_for()
    _no_exception(page)
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)


def test_switch_to_impact_and_practices(server, page):
    for title, heading in (("Impact", "Does peer support lower burnout?"),
                           ("Practices", "Practices compared")):
        page.goto(server)
        page.get_by_role("link", name=title).first.click()
        page.get_by_text(heading, exact=True).wait_for()
        page.locator("[data-testid='stPlotlyChart']").first.wait_for()
        _no_exception(page)
        page.screenshot(path=str(SHOTS / f"{title.lower()}.png"), full_page=True)


def test_upload_a_small_file(server, page, tmp_path):
    if not (ROOT / "screens" / "upload.py").exists():
        pytest.skip("screens/upload.py does not exist yet: nothing to upload through")
    lines = (ROOT / "data" / "sample" / "survey.csv").read_text().splitlines()
    small = tmp_path / "small_survey.csv"
    header, rows = lines[0], lines[1:8]
    small.write_text("\n".join([header] + [r.replace("P0", "Q0", 1) for r in rows]) + "\n")
    page.goto(server)
    page.get_by_role("link", name="Upload").first.click()
    chooser = page.locator("input[type='file']").first
    chooser.wait_for(state="attached")
    chooser.set_input_files(str(small))
    page.get_by_text("small_survey.csv").first.wait_for()
    page.locator(".st-key-validate [data-testid^='stBaseButton']").first.click()
    page.locator("[data-testid='stAlert']").filter(
        has_text=re.compile("Ready to upload|You can upload")).wait_for()
    page.locator(".st-key-upload [data-testid='stBaseButton-primary']:not([disabled])").first.click()
    page.get_by_text("Made a mistake?").wait_for()
    _no_exception(page)
    page.screenshot(path=str(SHOTS / "upload.png"), full_page=True)
    # the dashboards pick up the new data (the cache is keyed by the data version)
    page.get_by_role("link", name="Overview").first.click()
    page.locator("[data-testid='stMetric']").filter(has_text="Program effect").wait_for()
    _no_exception(page)
    page.screenshot(path=str(SHOTS / "overview_after_upload.png"), full_page=True)
