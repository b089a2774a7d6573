"""What a person waits for, in a real browser: ``python -m tooling.browser_bench``.

For each size it generates seeded synthetic uploads (every person at every wave, spread
over ``--practices`` practices), ingests them into a fresh database, starts
``streamlit run app.py`` on a free loopback port with ``PPI_DB`` pointing at it, and
drives Chromium (``/usr/bin/chromium`` through Playwright) as the local single-user
viewer (no account exists, so the app signs the loopback viewer in).

Measures (one JSON line each; ``seconds`` is the median of ``median_of`` runs):

``<page>_cold``
    First visit after the server starts (nothing cached): navigation until the first
    chart is visible. Impact is measured after the Overview, whose report it shares
    (``st.cache_data`` across pages and sessions), so ``impact_cold`` is Impact's own
    work on top of a cached report.
``<page>_warm``
    A new browser tab (a new session) in a fresh browser profile opening the page again:
    navigation until the first chart is visible.
``<page>_warm_tab``
    The same in a browser that opened the page before (its cache holds the app's
    scripts): what a returning person waits.
``<page>_threshold`` / ``<page>_role`` / ``<page>_practice``
    On an open page, a change of the participation threshold (another offered one, then
    back; not measured when the data offers only one), of the roles (one role, then all)
    or of the practices (one practice, then all): from the change until the page has
    settled (the session's script run after the change finished, nothing stale, a chart
    visible). Each run uses a value no page used before, so it is never a cache hit.
``<page>_tab``
    On an open page with tabs (Impact), another tab opened: until the page settled with
    that tab's charts (each of the other tabs, ``--repeats`` times).
``<page>_concurrent``
    ``--viewers`` new tabs (sessions) opening the page at the same moment on a warm
    server: each tab's navigation until its first chart appeared (median, with every
    run and the slowest). One browser draws all tabs on the same cores, so this
    overstates what each of several people on their own computers waits.
``concurrent_cold``
    The same on a server just started (nothing cached) at the Overview: do the viewers
    wait for one report build, or does each build its own?
``<page>_warm_proxy`` / ``<page>_warm_tab_proxy``
    (``--proxy``) The warm visits again, through nginx as ``python -m analysis
    proxy-config`` sets it up for a team (TLS, HTTP/2, Streamlit's script files served by
    nginx), by a signed-in person (an account is added, so the local mode ends): in a
    browser whose cache is empty, and in one that opened the page before.
``concurrent_cold_people``
    (``--proxy`` with ``--viewers``) ``--viewers`` different people (leadership accounts,
    signed in before) opening the Overview at once through nginx on a server just
    started: one report build for all of them, or one each?
``first_start``
    (``--first-start``) A fresh, empty database: navigation until the Overview shows its
    first chart, the sample data loaded on the way.

Pages: Overview and Impact. The machine line gives nproc, CPU and RAM; the server and
the browser share the machine's cores, so on a busy machine the figures overstate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.views.impact import IMPACT_TABS
from tooling.app_server import running_app
from tooling.bench import json_lines
from tooling.bench import machine as bench_machine
from tooling.proxy import nginx_available, running_proxy

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
N_WAVES = 10
SEED = 20261128
SERVER_START_SECONDS = 90
TIMEOUT_MS = 600_000
#: Page titles (sidebar links) and their URL paths.
PAGES = (("overview", ""), ("impact", "impact"))
#: Each page's tabs, the one it opens on first (each drawn only when opened), by page title.
TABS = {"impact": tuple(tab.label for tab in IMPACT_TABS)}
#: Either chart library (the pages' first charts are Vega-Lite, the rest plotly).
CHART = "[data-testid='stPlotlyChart'], [data-testid='stVegaLiteChart']"
THRESHOLD_LABEL = "Participant = attended at least"
VIEWPORT = {"width": 1400, "height": 1800}
#: The account ``--proxy`` signs in with (behind a proxy there is no local mode).
BENCH_ACCOUNT = ("bench.admin", "Quiet-harbor-4471-bench")


def make_db(rows: int, practices: int, work: Path) -> tuple[Path, float]:
    """Generate ``rows`` survey rows over ``practices`` practices and ingest them.

    Returns the database path and the ingest time in seconds.
    """
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.intake.ingest import ingest  # noqa: PLC0415
    from analysis.intake.values import UploadFile  # noqa: PLC0415
    from analysis.storage.store import Store  # noqa: PLC0415
    from tooling.synthetic import generate_bench, write_csv  # noqa: PLC0415

    sites = tuple((f"Practice {i + 1:03d}", 1.0) for i in range(practices))
    data = generate_bench(rows // N_WAVES, N_WAVES, SEED, skipped_wave_rate=0.0, sites=sites,
                          fixed_site_sizes=())
    survey, attendance = write_csv(data, work / "csv")
    del data
    db = work / "bench.duckdb"
    with Store(db) as store:
        start = time.perf_counter()
        result = ingest(store, [UploadFile.from_path("survey", survey),
                                UploadFile.from_path("attendance", attendance)], LOCAL)
        seconds = time.perf_counter() - start
    if result.status != "applied":
        raise RuntimeError(f"bench upload not applied: {result.problems[:3]}")
    return db, seconds


@contextmanager
def app_server(db: Path, log: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port with ``PPI_DB=db``; its URL."""
    with running_app({"PPI_DB": str(db)}, log, SERVER_START_SECONDS) as (url, _port):
        yield url


def settled(tab: Any) -> None:
    """Wait until the script run is over: no running indicator, nothing stale, a chart."""
    tab.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
        " && !document.querySelector(\"[data-stale='true']\")"
        f" && document.querySelector(\"{CHART}\")", timeout=TIMEOUT_MS, polling=50)
    tab.locator(CHART).first.wait_for(state="visible", timeout=TIMEOUT_MS)


#: The times at which each tab's session finished a script run (Streamlit's
#: ``script_finished`` message on the tab's websocket), recorded from the tab's opening.
_FINISHED: weakref.WeakKeyDictionary[Any, list[float]] = weakref.WeakKeyDictionary()


def _watch_runs(tab: Any) -> None:
    """Record every script run the tab's session finishes (see :data:`_FINISHED`)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: PLC0415

    finished = _FINISHED.setdefault(tab, [])

    def frame(payload: bytes | str) -> None:
        if not isinstance(payload, bytes):
            return
        if ForwardMsg.FromString(payload).WhichOneof("type") == "script_finished":
            finished.append(time.perf_counter())

    tab.on("websocket", lambda socket: socket.on("framereceived", frame))


def _run_finished(tab: Any, before: int) -> None:
    """Wait until the tab's session has finished a script run after its ``before``-th.

    Streamlit shows its "running" widget only about half a second into a run, so a quick
    rerun may never show it: waiting for the widget would count a fixed wait instead.
    """
    finished = _FINISHED[tab]
    deadline = time.perf_counter() + TIMEOUT_MS / 1000
    while len(finished) <= before:
        if time.perf_counter() > deadline:
            raise TimeoutError("the page did not rerun after the change")
        tab.wait_for_timeout(10)  # lets Playwright deliver the websocket's frames


def open_page(browser: Any, url: str, context: Any = None) -> tuple[float, Any]:
    """A new tab (a new session) navigating to ``url``: seconds to the first chart. In its
    own fresh browser profile, or in ``context`` (a profile whose cache holds what earlier
    tabs loaded)."""
    tab = (context.new_page() if context is not None
           else browser.new_page(viewport=VIEWPORT))
    tab.set_default_timeout(TIMEOUT_MS)
    _watch_runs(tab)
    start = time.perf_counter()
    tab.goto(url)
    tab.locator(CHART).first.wait_for(state="visible")
    return time.perf_counter() - start, tab


#: Records, in each tab, when the first chart appeared (ms since that tab's navigation
#: began): tabs opened together are waited for one after another, so their own clocks
#: time them.
_CHART_CLOCK = ("new MutationObserver(() => { if (window.__ppiChart === undefined && "
                f"document.querySelector(\"{CHART}\")) window.__ppiChart = performance.now(); }})"
                ".observe(document, {subtree: true, childList: true});")


def concurrent_visits(browser: Any, url: str, viewers: int,
                      new_context: Callable[[int], Any] | None = None) -> list[float]:
    """``viewers`` tabs, each its own browser context (a new session; ``new_context(i)``
    makes the i-th), navigating to ``url`` at once; seconds until each one's first chart
    appeared."""
    contexts = [new_context(i) if new_context else browser.new_context(viewport=VIEWPORT)
                for i in range(viewers)]
    try:
        tabs = []
        for context in contexts:
            context.add_init_script(_CHART_CLOCK)
            tab = context.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            tabs.append(tab)
        for tab in tabs:
            tab.goto(url, wait_until="commit")
        seconds = []
        for tab in tabs:
            tab.wait_for_function("() => window.__ppiChart !== undefined", polling=50)
            seconds.append(tab.evaluate("window.__ppiChart") / 1000)
        return seconds
    finally:
        for context in contexts:
            context.close()


def _returning_tabs(browser: Any, url: str, repeats: int,
                    new_context: Callable[[], Any] | None = None) -> list[float]:
    """New tabs in one browser profile after a first visit (not counted): what a person who
    opened the dashboard before waits, the app's scripts already in the browser's cache."""
    context = new_context() if new_context else browser.new_context(viewport=VIEWPORT)
    try:
        open_page(browser, url, context)[1].close()
        runs = []
        for _ in range(repeats):
            seconds, tab = open_page(browser, url, context)
            runs.append(seconds)
            tab.close()
        return runs
    finally:
        context.close()


def _settle_after(tab: Any, action: Callable[[], None]) -> float:
    before = len(_FINISHED[tab])
    start = time.perf_counter()
    action()
    _run_finished(tab, before)
    settled(tab)
    return time.perf_counter() - start


def change_threshold(tab: Any, value: int) -> float:
    """Choose another offered participation threshold; seconds until the page settled."""
    box = tab.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(
        has_text=THRESHOLD_LABEL)

    def choose() -> None:
        # the box's input, not its middle: that is the label, whose click opens nothing
        box.get_by_role("combobox").click()
        tab.get_by_role("option", name=str(value), exact=True).click()

    return _settle_after(tab, choose)


def change_choice(tab: Any, label: str, value: str, remove: bool = False) -> float:
    """Choose one value of a sidebar multiselect (``label``: Practices, Roles) or remove it
    again; seconds until the page settled (0 when the guard refused the choice)."""
    select = tab.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text=label)
    if remove:
        tag = select.get_by_role("button", name=f"Remove {value}", exact=True)
        if not tag.count():
            return 0.0  # the choice was refused (too few people): nothing to remove
        return _settle_after(tab, lambda: tag.first.click())

    def choose() -> None:
        select.locator("input").first.fill(value)
        select.locator("input").first.press("Enter")
        tab.keyboard.press("Escape")

    return _settle_after(tab, choose)


def _median(runs: Sequence[float]) -> float:
    return round(statistics.median(runs), 3)


def sign_in(browser: Any, url: str, user: str = BENCH_ACCOUNT[0]) -> list[dict]:
    """Sign in as ``user`` (password: :data:`BENCH_ACCOUNT`'s) at ``url``; the browser's
    cookies afterwards (the session's), to put in fresh browser profiles."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(url)
        tab.get_by_label("Username").fill(user)
        tab.get_by_label("Password", exact=True).fill(BENCH_ACCOUNT[1])
        tab.get_by_role("button", name="Sign in").click()
        tab.locator(CHART).first.wait_for(state="visible")
        return context.cookies()
    finally:
        context.close()


def measure_behind_proxy(db: Path, work: Path, repeats: int, emit: Callable[[dict], None],
                         rows: int, viewers: int = 0) -> None:
    """Warm visits of each page through nginx, then ``viewers`` different people opening
    the Overview at once on a server just started (see the module notes: ``--proxy``)."""
    from analysis.access.accounts import create_account  # noqa: PLC0415
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.storage.store import Store  # noqa: PLC0415

    if not nginx_available():
        emit({"measure": "proxy", "rows": rows, "seconds": None, "median_of": 0,
              "note": "nginx or openssl is missing: no figures behind the proxy"})
        return
    people = [BENCH_ACCOUNT[0]] + [f"bench.leader{i}" for i in range(1, viewers)]
    with Store(db) as store:
        create_account(store, LOCAL, *BENCH_ACCOUNT, "admin")
        for user in people[1:]:
            create_account(store, LOCAL, user, BENCH_ACCOUNT[1], "leadership")
    with _proxied_browser(db, work, "proxy") as (url, browser):
        cookies = [sign_in(browser, url, user) for user in people]

        def signed_in() -> Any:
            return _with_cookies(browser, cookies[0])

        for name, path in PAGES:
            target = f"{url}/{path}"
            fresh = []
            for i in range(repeats + 1):  # the first fills the server's caches
                context = signed_in()
                seconds, _ = open_page(browser, target, context)
                context.close()
                fresh += [seconds] if i else []
            _emit_runs(emit, f"{name}_warm_proxy", rows, fresh)
            _emit_runs(emit, f"{name}_warm_tab_proxy", rows,
                       _returning_tabs(browser, target, repeats, signed_in))
    if viewers > 1:  # the sessions' cookies outlive the server: signed in, nothing cached
        with _proxied_browser(db, work, "proxy_cold") as (url, browser):
            _emit_concurrent(emit, "concurrent_cold_people", rows, concurrent_visits(
                browser, url, viewers, lambda i: _with_cookies(browser, cookies[i])))


def _with_cookies(browser: Any, cookies: list[dict]) -> Any:
    """A fresh browser profile holding ``cookies`` (a signed-in person's session)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_cookies(cookies)
    return context


@contextmanager
def _proxied_browser(db: Path, work: Path, name: str) -> Iterator[tuple[str, Any]]:
    """The app on ``db`` behind nginx, and Chromium trusting the proxy's certificate."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with running_app({"PPI_DB": str(db)}, work / f"streamlit_{name}.log",
                     SERVER_START_SECONDS) as (_, port), \
            running_proxy(port, work / name) as proxy, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS + list(proxy.chromium_args))
        try:
            yield proxy.url, browser
        finally:
            browser.close()


def measure_pages(url: str, repeats: int, choices: Choices,
                  emit: Callable[[dict], None], rows: int, viewers: int = 0) -> None:
    """Cold, warm and filter-change timings of each page (see the module notes)."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for number, (name, path) in enumerate(PAGES):
                target = f"{url}/{path}"
                cold, tab = open_page(browser, target)
                tab.close()
                emit({"measure": f"{name}_cold", "rows": rows, "seconds": round(cold, 3),
                      "median_of": 1})
                warm, tabs = [], []
                for _ in range(repeats):
                    seconds, tab = open_page(browser, target)
                    warm.append(seconds)
                    tabs.append(tab)
                _emit_runs(emit, f"{name}_warm", rows, warm)
                _emit_runs(emit, f"{name}_warm_tab", rows, _returning_tabs(browser, target, repeats))
                tab = tabs[-1]
                settled(tab)
                _filter_changes(tab, name, number, repeats, choices, emit, rows)
                _tab_switches(tab, name, repeats, emit, rows)
                for t in tabs:
                    t.close()
                if viewers:
                    _emit_concurrent(emit, f"{name}_concurrent", rows,
                                     concurrent_visits(browser, target, viewers))
        finally:
            browser.close()


@dataclass(frozen=True)
class Choices:
    """What the sidebar offers on the measured data: thresholds, roles and practices."""

    thresholds: tuple[int, ...]
    roles: tuple[str, ...]
    practices: tuple[str, ...]


def _emit_runs(emit: Callable[[dict], None], measure: str, rows: int, runs: Sequence[float]) -> None:
    emit({"measure": measure, "rows": rows, "seconds": _median(runs), "median_of": len(runs),
          "runs": [round(s, 3) for s in runs]})


def _emit_concurrent(emit: Callable[[dict], None], measure: str, rows: int,
                     runs: Sequence[float]) -> None:
    emit({"measure": measure, "rows": rows, "viewers": len(runs), "seconds": _median(runs),
          "slowest": round(max(runs), 3), "median_of": len(runs),
          "runs": [round(s, 3) for s in runs]})


def concurrent_cold(url: str, viewers: int, emit: Callable[[dict], None], rows: int) -> None:
    """``viewers`` sessions opening the Overview together on a server just started."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            runs = concurrent_visits(browser, url, viewers)
        finally:
            browser.close()
    _emit_concurrent(emit, "concurrent_cold", rows, runs)


def _filter_changes(tab: Any, name: str, number: int, repeats: int, choices: Choices,
                    emit: Callable[[dict], None], rows: int) -> None:
    """Each filter change on an open page; a value not used before each time (the report
    cache is shared across pages and sessions: a value seen before would be a cache hit)."""
    others = [t for t in choices.thresholds if t != choices.thresholds[0]]
    if others:
        runs = []
        for i in range(repeats):
            runs.append(change_threshold(tab, others[(number * repeats + i) % len(others)]))
            change_threshold(tab, choices.thresholds[0])
        _emit_runs(emit, f"{name}_threshold", rows, runs)
    else:
        emit({"measure": f"{name}_threshold", "rows": rows, "seconds": None, "median_of": 0,
              "note": "only one threshold is offered on this data (a dose step under k somewhere)"})
    for label, measure, values in (("Roles", "role", choices.roles),
                                   ("Practices", "practice", choices.practices)):
        picked = values[number * repeats:(number + 1) * repeats]
        if not picked:
            emit({"measure": f"{name}_{measure}", "rows": rows, "seconds": None, "median_of": 0,
                  "note": f"no {label.lower()} left to choose that no page used before"})
            continue
        runs = []
        for value in picked:
            runs.append(change_choice(tab, label, value))
            change_choice(tab, label, value, remove=True)
        _emit_runs(emit, f"{name}_{measure}", rows, runs)


def switch_tab(tab: Any, label: str) -> float:
    """Open the page's tab ``label``; seconds until the page settled with its charts."""
    return _settle_after(tab, lambda: tab.get_by_role("tab", name=label, exact=True).click())


def _tab_switches(tab: Any, name: str, repeats: int, emit: Callable[[dict], None],
                  rows: int) -> None:
    """Each of the page's other tabs opened, then the first again, ``repeats`` times."""
    if name not in TABS:
        return
    first, *others = TABS[name]
    runs = []
    for _ in range(repeats):
        for label in others:
            runs.append(switch_tab(tab, label))
        switch_tab(tab, first)
    _emit_runs(emit, f"{name}_tab", rows, runs)


def first_start(work: Path, emit: Callable[[dict], None]) -> None:
    """A fresh database: navigation until the Overview's first chart (sample loaded)."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with app_server(work / "fresh.duckdb", work / "fresh.log") as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            seconds, _ = open_page(browser, url)
        finally:
            browser.close()
    emit({"measure": "first_start", "rows": None, "seconds": round(seconds, 3),
          "median_of": 1})


def sidebar_choices(db: Path, repeats: int) -> Choices:
    """The thresholds the sidebar offers, and roles and practices to choose (a different
    one for each run of each page)."""
    from analysis.access.scope import LOCAL  # noqa: PLC0415
    from analysis.access.settings import load_settings  # noqa: PLC0415
    from analysis.privacy.slicing import organization_atoms  # noqa: PLC0415
    from analysis.storage.queries import available  # noqa: PLC0415
    from analysis.storage.store import Store  # noqa: PLC0415

    with Store(db, read_only=True) as store:
        atoms = organization_atoms(store, load_settings(store).min_group_size)
        roles = tuple(r for r in available(store, LOCAL).roles if r in atoms.roles)
    # each run a value no page has used (there may be fewer roles than runs)
    sites = tuple(sorted(atoms.sites))
    # past the first few (the default selection's neighbours), when there are enough
    return Choices(atoms.thresholds, roles, sites[min(6, max(0, len(sites) - 2 * repeats)):][:2 * repeats])


def machine() -> dict:
    """nproc, CPU model, RAM and load (the figures depend on them)."""

    return dict(bench_machine(), load_average=os.getloadavg())


def run(sizes: Sequence[int], practices: int, repeats: int, with_first_start: bool,
        out: Path | None, viewers: int = 0, proxy: bool = False) -> None:
    """Every size; one JSON line per measure on stdout (and appended to ``out``)."""
    with json_lines(out) as emit:
        emit(machine())
        with tempfile.TemporaryDirectory(prefix="ppi_browser_bench_") as tmp:
            work = Path(tmp)
            if with_first_start:
                first_start(work, emit)
            for rows in sizes:
                sized = work / str(rows)
                sized.mkdir()
                db, ingest_seconds = make_db(rows, practices, sized)
                emit({"measure": "ingest", "rows": rows, "practices": practices,
                      "seconds": round(ingest_seconds, 3), "median_of": 1})
                with app_server(db, sized / "streamlit.log") as url:
                    measure_pages(url, repeats, sidebar_choices(db, repeats), emit, rows,
                                  viewers)
                if viewers:
                    with app_server(db, sized / "streamlit_concurrent.log") as url:
                        concurrent_cold(url, viewers, emit, rows)
                if proxy:  # last: the account it adds ends the local mode
                    measure_behind_proxy(db, sized, repeats, emit, rows, viewers)
                db.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: exit 0 done, 1 a failure (message on stderr)."""
    parser = argparse.ArgumentParser(prog="python -m tooling.browser_bench",
                                     description="Browser timings of the dashboards.")
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="survey rows per size, multiples of 10 (default 10k,100k,1M)")
    parser.add_argument("--practices", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--first-start", action="store_true",
                        help="also time a fresh database's first start (sample data)")
    parser.add_argument("--viewers", type=int, default=8,
                        help="sessions opening a page at once (0: no concurrency measures)")
    parser.add_argument("--proxy", action="store_true",
                        help="also time warm visits through nginx (TLS, HTTP/2), signed in")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing", file=sys.stderr)
        return 1
    try:
        run(sizes, args.practices, max(1, args.repeats), args.first_start, args.out,
            max(0, args.viewers), args.proxy)
    except (RuntimeError, OSError) as error:
        print(str(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
