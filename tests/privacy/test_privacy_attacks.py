"""Attack the report, the export and the HTML: no hidden group may be recovered."""
from __future__ import annotations

import io
import itertools
import re
import zipfile

import pandas as pd
import pytest

from analysis.access.scope import LOCAL
from analysis.access.settings import Settings
from analysis.reporting.export import build_export
from analysis.reporting.html_report import build_html_report
from analysis.reporting.report import FilterRefused, build_report, write_report
from analysis.storage.queries import Filters, load_panel
from tests.factories import SMALL_SITE, make_store

K = 5


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("attack")
    store = make_store(out / "s.duckdb")
    tables = build_report(store, LOCAL, settings=Settings())
    write_report(tables, out / "report")
    panel = load_panel(store, LOCAL)
    yield store, tables, panel, out
    store.close()


def _secrets(panel: pd.DataFrame, outcomes) -> list[tuple[str, str, int, float]]:
    """(outcome, wave, n, mean) of the small practice: what an attacker wants."""
    rows = panel.loc[panel["site"] == SMALL_SITE]
    found = []
    for outcome in outcomes:
        for wave, group in rows.groupby("wave"):
            values = group[outcome].dropna()
            if len(values):
                found.append((outcome, str(wave), len(values), float(values.mean())))
    return found


def test_subtraction_from_total_never_isolates_a_small_practice(world):
    _, tables, panel, out = world
    d = pd.read_csv(out / "report" / "descriptives.csv", keep_default_na=False, dtype=str)
    d["n_num"] = pd.to_numeric(d["n"], errors="coerce")
    for (outcome, wave, group), line in d.groupby(["outcome", "wave", "group"]):
        total = line.loc[line["site"] == "all", "n_num"]
        members = line.loc[line["site"] != "all"]
        if total.isna().all():
            continue
        residual = float(total.iloc[0]) - members["n_num"].fillna(0).sum()
        hidden = members.loc[members["n"] == ""]
        if residual > 0:
            assert len(hidden) >= 2 and residual >= K, (outcome, wave, group, residual)
    # the same cell is hidden in every outcome's table (no cross-table differencing)
    pattern = d.groupby(["wave", "site", "group"])["suppressed"].nunique()
    assert (pattern == 1).all()


@pytest.mark.slow
def test_hidden_values_never_appear_anywhere(world):
    store, tables, panel, out = world
    outcomes = sorted(set(tables.descriptives["outcome"]))
    secrets = _secrets(panel, outcomes)
    texts = {p.name: p.read_text() for p in (out / "report").iterdir()}
    archive = zipfile.ZipFile(io.BytesIO(build_export(store, LOCAL, settings=Settings())))
    texts.update({f"zip:{n}": archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
                  if not n.endswith(".xlsx")})
    page = build_html_report(tables)
    # the whole page: every text and every figure's data (Vega-Lite drawn as SVG with its
    # labels and hover titles, or a plotly figure's JSON); only a chart library's own code
    # (plotly.js, when a plotly figure is embedded) is left out: it is no data
    assert page.count("<figure>") >= 2 and "<svg" in page
    texts["report.html"] = re.sub(r"<script>/\*\*\s*\* plotly\.js v.*?</script>", "", page,
                                  flags=re.DOTALL)
    assert len(texts["report.html"]) < 1_000_000, "a library left in the scanned text"
    visible = tables.descriptives.loc[~tables.descriptives["suppressed"]]
    coincidences = set(visible.loc[visible["n"] >= K, "mean"].astype(float))
    for outcome, wave, _n, mean in secrets:
        if round(mean, 2) == mean or mean in coincidences:
            # a round mean, or one a larger visible group shares (8/3 = 72/27 on a 1-5
            # item), is no fingerprint; the structured checks below cover those
            continue
        for name, text in texts.items():
            for shape in (repr(mean), f"{mean:.6f}", f"{mean:.4f}"):
                pattern = r"(?<![\d.])" + re.escape(shape) + r"(?!\d)"
                assert not re.search(pattern, text), (name, outcome, wave)
    for frame in (tables.descriptives, tables.participation):
        rows = frame.loc[frame["site"] == SMALL_SITE]
        assert len(rows) and rows.filter(regex=r"^(n|n_.*|mean|sd)$").isna().all().all()
    for name, text in texts.items():
        if not name.endswith(".csv") or SMALL_SITE not in text:
            continue
        frame = pd.read_csv(io.StringIO(text))
        rows = frame.loc[(frame == SMALL_SITE).any(axis=1)]
        numbers = rows.drop(columns=[c for c in ("wave_index", "suppressed", "k") if c in rows.columns])
        numbers = numbers.select_dtypes("number")
        assert numbers.isna().all().all(), (name, numbers.dropna(how="all", axis=1))


def test_filter_to_small_or_complementary_practice_is_refused(world):
    store, tables, panel, _ = world
    hidden_sites = set(tables.participation.loc[(tables.participation["breakdown"] == "site")
                                                & tables.participation["suppressed"], "site"])
    assert SMALL_SITE in hidden_sites and len(hidden_sites) >= 2
    for site in hidden_sites:
        with pytest.raises(FilterRefused):
            build_report(store, LOCAL, settings=Settings(), filters=Filters(sites=(site,)))
    big = "Harbor Family Therapy"
    with pytest.raises(FilterRefused):
        build_report(store, LOCAL, settings=Settings(), filters=Filters(sites=(big, SMALL_SITE)))
    everyone_but_small = tuple(s for s in panel["site"].unique() if s != SMALL_SITE)
    with pytest.raises(FilterRefused):
        build_report(store, LOCAL, settings=Settings(), filters=Filters(sites=everyone_but_small))


def _selection_n(tables) -> pd.Series:
    d = tables.descriptives
    rows = d.loc[d["site"] == "selection"]
    return rows.set_index(["outcome", "wave", "group"])["n"]


@pytest.mark.slow
def test_overlapping_filters_never_difference_to_a_small_group(world):
    store, tables, panel, _ = world
    sites = ["Harbor Family Therapy", "Riverside Counseling Collective", "Northgate Psychology Group"]
    roles = sorted(panel["role"].unique())
    candidates = [Filters(sites=(s,)) for s in sites] + [Filters(sites=tuple(sites[:2]))]
    candidates += [Filters(roles=(r,)) for r in roles]
    candidates += [Filters(sites=(sites[0],), roles=(r,)) for r in roles]
    candidates += [Filters(sites=tuple(sites[:2]), roles=(roles[0],))]
    shown = {}
    for f in candidates:
        try:
            shown[f] = _selection_n(build_report(store, LOCAL, settings=Settings(), filters=f))
        except FilterRefused:
            continue
    assert shown, "every filter refused: the guard is too strict to be useful"
    unfiltered = tables.descriptives.loc[tables.descriptives["site"] == "all"].set_index(
        ["outcome", "wave", "group"])["n"]
    views = {Filters(): unfiltered, **shown}
    all_sites, all_roles = set(panel["site"]), set(panel["role"])

    def inside(a: Filters, b: Filters) -> bool:
        return (set(a.sites or all_sites) <= set(b.sites or all_sites)
                and set(a.roles or all_roles) <= set(b.roles or all_roles))

    for (fa, a), (fb, b) in itertools.permutations(views.items(), 2):
        if fa == fb or not inside(fa, fb):
            continue  # only a nested pair differences to a real group of people
        both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
        gap = (both["b"].astype(float) - both["a"].astype(float)).abs()
        assert ((gap == 0) | (gap >= K)).all(), (fa, fb, gap[(gap > 0) & (gap < K)])


def test_estimates_guarded_for_tiny_selection(world):
    store, *_ = world
    with pytest.raises(FilterRefused):
        build_report(store, LOCAL, settings=Settings(), filters=Filters(sites=(SMALL_SITE,)))
