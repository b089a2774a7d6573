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
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.factories import CHROMIUM, require_chromium
from tooling.app_server import running_app
from tooling.browser_bench import CHART

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
SERVER_START_TIMEOUT = 45      # seconds
PAGE_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("browser")
    with running_app({"PPI_DB": str(tmp / "app.duckdb")}, tmp / "streamlit.log",
                     SERVER_START_TIMEOUT) as (url, _port):
        yield url


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                              timeout=PAGE_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def page(browser):
    tab = browser.new_page(viewport={"width": 1400, "height": 2400})
    tab.set_default_timeout(PAGE_TIMEOUT_MS)
    return tab


def _new_tab(browser, width: int, height: int, requests: list[str] | None = None):
    """A tab in a fresh context of the given size; every request to another host is
    appended to ``requests`` (the app must work offline)."""
    tab = browser.new_context(viewport={"width": width, "height": height}).new_page()
    tab.set_default_timeout(PAGE_TIMEOUT_MS)
    if requests is not None:
        def outside(request) -> None:
            url = urlparse(request.url)
            if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in ("127.0.0.1",
                                                                                   "localhost"):
                requests.append(request.url)
        tab.on("request", outside)
    return tab


def _settled(tab) -> None:
    """Wait until the first chart is drawn and Streamlit has finished running the page."""
    tab.locator(CHART).first.wait_for()
    tab.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')")


def _axe_source() -> str:
    """axe-core's script, as bundled by the pinned axe-playwright-python test dependency."""
    spec = importlib.util.find_spec("axe_playwright_python")
    if spec is None or spec.origin is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but axe-playwright-python (axe-core) is not installed")
        pytest.skip("axe-playwright-python (axe-core) is not installed")
    return (Path(spec.origin).parent / "axe.min.js").read_text(encoding="utf-8")


def _no_exception(tab) -> None:
    errors = tab.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


def test_overview_shows_the_headline(server, page):
    page.goto(server)
    page.get_by_text("Peer support at a glance", exact=True).wait_for()
    headline = page.locator("[data-testid='stMetric']").filter(has_text="Program effect")
    headline.wait_for()
    assert headline.is_visible()
    page.locator(CHART).first.wait_for()
    _no_exception(page)
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)


def test_switch_to_impact_and_practices(server, page):
    for title, heading in (("Impact", "Does peer support lower burnout?"),
                           ("Practices", "Practices compared")):
        page.goto(server)
        page.get_by_role("link", name=title).first.click()
        page.get_by_text(heading, exact=True).wait_for()
        page.locator(CHART).first.wait_for()
        _no_exception(page)
        page.screenshot(path=str(SHOTS / f"{title.lower()}.png"), full_page=True)


def test_impact_tabs_and_a_charts_csv_download(server, browser, tmp_path):
    tab = browser.new_context(viewport={"width": 1400, "height": 2400},
                              accept_downloads=True).new_page()
    tab.set_default_timeout(PAGE_TIMEOUT_MS)
    tab.goto(f"{server}/impact")
    _settled(tab)
    tab.get_by_role("tab", name="Checks").click()
    tab.get_by_text("Were the groups alike at the start?").first.wait_for()
    assert "impact_view=Checks" in tab.url  # a reload or a shared link opens this tab
    tab.reload()
    _settled(tab)
    assert tab.get_by_role("tab", name="Checks").get_attribute("aria-selected") == "true"
    # the CSV is written when clicked, from the table behind the chart
    with tab.expect_download() as download:
        tab.locator(".st-key-download_chart_balance").get_by_role(
            "button", name="Download the numbers (CSV)").click()
    saved = tmp_path / "balance.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "balance.csv"
    header = saved.read_text(encoding="utf-8").splitlines()[0]
    assert "covariate" in header.lower() or "characteristic" in header.lower(), header
    _no_exception(tab)
    tab.context.close()


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


def test_phone_overview_leads_with_the_verdict(server, browser):
    requests: list[str] = []
    tab = _new_tab(browser, 390, 844, requests)
    tab.goto(server)
    tab.get_by_text("Peer support at a glance", exact=True).wait_for()
    _settled(tab)
    _no_exception(tab)
    main = tab.locator("[data-testid='stMain']")
    verdict = main.locator("h2").first
    title_y = main.locator("h1").first.bounding_box()["y"]
    verdict_y = verdict.bounding_box()["y"]
    first_chart_y = tab.locator(CHART).first.bounding_box()["y"]
    first_tile_y = tab.locator("[data-testid='stMetric']").first.bounding_box()["y"]
    assert title_y < verdict_y < min(first_chart_y, first_tile_y), "the verdict comes first"
    assert verdict_y - title_y < 300, "only the one-line purpose between title and verdict"
    widths = tab.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
        return [document.documentElement.scrollWidth, m.scrollWidth, m.clientWidth]; }""")
    assert widths[0] <= 390 and widths[1] <= widths[2], f"sideways overflow: {widths}"
    assert not requests, f"requests to other hosts: {requests}"
    tab.screenshot(path=str(SHOTS / "overview_390.png"))


@pytest.mark.parametrize(("path", "heading"), [("", "Peer support at a glance"),
                                               ("impact", "Does peer support lower burnout?")])
def test_axe_finds_no_contrast_or_heading_problem(server, browser, path, heading):
    source = _axe_source()
    tab = _new_tab(browser, 1440, 900)
    tab.goto(f"{server}/{path}")
    tab.get_by_text(heading, exact=True).wait_for()
    _settled(tab)
    tab.evaluate(source)
    result = tab.evaluate("""async () => await axe.run(document, {runOnly: {type: 'rule',
        values: ['color-contrast', 'heading-order', 'image-alt', 'target-size']}})""")
    found = [(v["id"], len(v["nodes"]), v["nodes"][0]["failureSummary"][:200])
             for v in result["violations"]]
    assert not found, found
