"""Sign-in in a real browser (Chromium): no takeover of a fresh install, sessions that
survive a reload, a new tab and a bookmark, and a clean sign-in screen.

A fresh install holding data and no account: opened through a rebound DNS name or with a
proxy header it shows neither data nor a form; at ``http://localhost:PORT`` it gives the
local single-user session. Skips when Chromium is missing, except under ``CI=true``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import CHROMIUM, require_chromium
from tooling.app_server import running_app

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 60_000
ADMIN_PASSWORD = "Fjord-lantern-71"
REBOUND = "rebind.attacker.test"

pytestmark = pytest.mark.browser


def _cli(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True)


#: A wave label that Markdown would draw as an image: a tracking pixel aimed at leadership.
PIXEL_LABEL = "![w](http://127.0.0.1:9/px.png) 6m"


def _label_latest_wave_with_markup(db: str) -> None:
    """Stored before ingest refused markup (as an older database may hold it)."""
    import duckdb

    with duckdb.connect(db) as con:
        latest = con.execute("SELECT wave FROM wave_registry ORDER BY first_date DESC "
                             "LIMIT 1").fetchone()[0]
        con.execute("UPDATE survey SET wave = ? WHERE wave = ?", [PIXEL_LABEL, latest])
        con.execute("UPDATE wave_registry SET wave = ? WHERE wave = ?", [PIXEL_LABEL, latest])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_chromium()
    tmp = tmp_path_factory.mktemp("browser_auth")
    env = dict(os.environ, PPI_DB=str(tmp / "app.duckdb"), PYTHONUNBUFFERED="1",
               PPI_SECRET_FILE=str(tmp / "keys" / "pseudonym.key"))
    _cli("demo", "--db", env["PPI_DB"], env=env)
    _label_latest_wave_with_markup(env["PPI_DB"])
    with running_app({"PPI_DB": env["PPI_DB"], "PPI_SECRET_FILE": env["PPI_SECRET_FILE"]},
                     tmp / "streamlit.log") as (_url, port):
        yield port, env


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), timeout=TIMEOUT_MS,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  # DNS rebinding: the attacker's name resolves to this computer.
                  f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"])
        try:
            yield chromium
        finally:
            chromium.close()


def _tab(context):
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    return tab


def _stranger_sees_nothing(tab) -> None:
    tab.get_by_text("has no account yet").wait_for()
    body = tab.locator("body").inner_text()
    assert "Create administrator" not in body and "Program effect" not in body
    assert tab.locator("input").count() == 0
    assert "Local single-user mode" not in body


def _sign_in(tab, username: str, password: str) -> None:
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password", exact=True).fill(password)
    tab.get_by_role("button", name="Sign in").click()


def test_fresh_install_is_not_taken_over(server, browser):
    port, env = server
    # Through a rebound DNS name: no data, no form.
    context = browser.new_context()
    tab = _tab(context)
    tab.goto(f"http://{REBOUND}:{port}/")
    _stranger_sees_nothing(tab)
    tab.screenshot(path=str(SHOTS / "auth_rebound_name.png"), full_page=True)
    context.close()
    # Through a proxy that adds X-Forwarded-For: the same.
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    tab = _tab(context)
    tab.goto(f"http://localhost:{port}/")
    _stranger_sees_nothing(tab)
    context.close()
    # At http://localhost:PORT: the local single-user session, with the data.
    context = browser.new_context()
    tab = _tab(context)
    tab.goto(f"http://localhost:{port}/")
    pixel_requests = []
    tab.on("request", lambda request: pixel_requests.append(request.url)
           if "px.png" in request.url else None)
    tab.get_by_text("Local single-user mode").first.wait_for()
    tab.locator("[data-testid='stMetric']").filter(has_text="Program effect").wait_for()
    # A label with Markdown image syntax is shown as text, never fetched.
    tab.get_by_text(PIXEL_LABEL).first.wait_for()
    assert tab.locator("img[src*='px.png']").count() == 0 and not pixel_requests
    tab.screenshot(path=str(SHOTS / "auth_local_session_markup_label.png"), full_page=True)
    # The first administrator is made there; the sign-in screen then shows no menu.
    tab.get_by_role("link", name="Accounts").first.click()
    tab.get_by_role("button", name="Create administrator").wait_for()
    tab.get_by_label("Username").fill("first.admin")
    tab.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    tab.get_by_label("Repeat the password").fill(ADMIN_PASSWORD)
    tab.get_by_role("button", name="Create administrator").click()
    tab.get_by_role("button", name="Sign in").wait_for()
    assert tab.locator("[data-testid='stSidebarNav']").count() == 0
    assert tab.get_by_role("link", name="Accounts").count() == 0
    tab.screenshot(path=str(SHOTS / "auth_after_first_admin.png"), full_page=True)
    context.close()


def test_session_survives_reload_new_tab_and_bookmark(server, browser):
    # Uses the administrator the previous test made (the running app holds the database,
    # so the command line cannot add an account meanwhile).
    port, _ = server
    base = f"http://localhost:{port}"
    context = browser.new_context()
    tab = _tab(context)
    # A bookmarked page opened before any session: sign-in, then that page.
    tab.goto(f"{base}/impact")
    tab.get_by_role("button", name="Sign in").wait_for()
    _sign_in(tab, "first.admin", ADMIN_PASSWORD)
    tab.get_by_text("Does peer support lower burnout?", exact=True).wait_for()
    assert tab.url.rstrip("/").endswith("/impact")
    # The sidebar's script sets the cookie after the page has drawn: wait for it.
    tab.wait_for_function("() => document.cookie.includes('ppi_session=')")
    cookies = {c["name"]: c for c in context.cookies()}
    assert "ppi_session" in cookies and cookies["ppi_session"]["sameSite"] == "Strict"
    assert cookies["ppi_session"]["value"] not in tab.url
    # A reload keeps the session and the page.
    tab.reload()
    tab.get_by_text("Does peer support lower burnout?", exact=True).wait_for()
    assert tab.get_by_role("button", name="Sign in").count() == 0
    # So does a new tab.
    other = _tab(context)
    other.goto(f"{base}/")
    other.get_by_text("Peer support at a glance", exact=True).wait_for()
    assert other.get_by_text("first.admin").count() >= 1
    other.screenshot(path=str(SHOTS / "auth_new_tab.png"), full_page=True)
    # Signing out ends the session everywhere: a reload asks for sign-in again.
    other.get_by_role("button", name="Sign out").click()
    other.get_by_role("button", name="Sign in").wait_for()
    tab.reload()
    tab.get_by_role("button", name="Sign in").wait_for()
    context.close()


def test_a_forged_cookie_is_not_a_session(server, browser):
    port, _ = server
    context = browser.new_context()
    context.add_cookies([{"name": "ppi_session", "value": "forged.signature",
                          "url": f"http://localhost:{port}"}])
    tab = _tab(context)
    tab.goto(f"http://localhost:{port}/")
    tab.get_by_role("button", name="Sign in").wait_for()
    assert "Program effect" not in tab.locator("body").inner_text()
    context.close()
