"""Figures: suppressed rows never become traces, hover text or ticks; palette, n in
every hover label, alt text, insufficient vs no-data cells."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.views.estimate_figures import effect_size_figure, event_study_figure
from analysis.views.figure_base import COMPARISON, INSUFFICIENT_GREY, PARTICIPANTS, VegaLite
from analysis.views.help import METHOD_LABELS
from analysis.views.impact_figures import (
    dose_response_figure,
    forest_figure,
    love_figure,
    mde_figure,
)
from analysis.views.participation_figures import breakdown_figure, monthly_attendance_figure, retention_figure
from analysis.views.practices_figures import practices_heatmap
from analysis.views.quality_figures import alpha_figure, responses_figure
from analysis.views.trend_figures import change_figure, distribution_figure, trend_figure

SECRET = 987.654321       # a value only a suppressed row carries
SECRET_N = 3              # a count below the threshold


def _contains_secret(fig) -> bool:
    text = fig.to_json()
    return any(s in text for s in ("987.65", "987.6", "988", "987"))


def _hovers(fig) -> list[str]:
    """Every hover label: plotly's templates, or a Vega-Lite tooltip's lines per data row."""
    if isinstance(fig, VegaLite):
        return _tooltips(fig.to_dict())
    return [t.hovertemplate for t in fig.data if getattr(t, "hovertemplate", None)
            and t.hoverinfo != "skip"]


def _tooltips(spec: dict, values: list | None = None) -> list[str]:
    values = spec.get("data", {}).get("values", values)
    texts = []
    tooltip = spec.get("encoding", {}).get("tooltip")
    if tooltip:
        fields = tooltip if isinstance(tooltip, list) else [tooltip]
        texts += ["\n".join(f"{f.get('title', f['field'])}: {row.get(f['field'])}" for f in fields)
                  for row in values or []]
    for layer in spec.get("layer", []):
        texts += _tooltips(layer, values)
    return texts


def descriptives() -> pd.DataFrame:
    rows = []
    for i, wave in enumerate(["2025-Q1", "2025-Q2", "2025-Q3"]):
        for group, mean in (("participants", 40.0 - i), ("comparison", 45.0)):
            rows.append(dict(outcome="cbi_work", wave=wave, wave_index=i, site="all", group=group,
                             n=50 + i, mean=mean, sd=10.0, ci_low=mean - 2, ci_high=mean + 2,
                             share_high=0.3, suppressed=False, status="ok"))
    # a suppressed cell that (wrongly) still carries numbers: the figure must drop them
    rows.append(dict(outcome="cbi_work", wave="2025-Q4", wave_index=3, site="all",
                     group="participants", n=SECRET_N, mean=SECRET, sd=SECRET, ci_low=SECRET,
                     ci_high=SECRET, share_high=0.5, suppressed=True, status="insufficient"))
    return pd.DataFrame(rows)


def estimates() -> pd.DataFrame:
    rows = []
    for a in ("unadjusted", "did", "ancova", "ipw"):
        rows.append(dict(analysis=a, outcome="cbi_work", wave="2025-Q3", estimate=-3.0,
                         ci_low=-5.0, ci_high=-1.0, p_value=0.01, n_participants=40,
                         n_comparison=80, suppressed=False, status="ok"))
    rows.append(dict(analysis="did", outcome="cbi_personal", wave="2025-Q3", estimate=SECRET,
                     ci_low=SECRET, ci_high=SECRET, p_value=0.5, n_participants=SECRET_N,
                     n_comparison=80, suppressed=True, status="insufficient"))
    return pd.DataFrame(rows)


def test_trend_figure_drops_suppressed_and_shows_n():
    chart = trend_figure(descriptives(), "cbi_work", k=5)
    fig = chart.figure
    assert isinstance(fig, VegaLite), "Impact draws its charts without plotly"
    assert not _contains_secret(fig)
    hovers = _hovers(fig)
    assert len(hovers) == 6 and all("n = " in h for h in hovers), "n in every tooltip"
    spec = fig.to_dict()
    points = spec["data"]["values"]
    assert {(p["group"], p["wave"]) for p in points} == {
        (g, w) for g in ("Participants", "Comparison") for w in ("2025-Q1", "2025-Q2", "2025-Q3")}
    line = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert line["encoding"]["color"]["scale"]["range"] == [PARTICIPANTS, COMPARISON]
    assert line["encoding"]["strokeDash"]["scale"]["range"] == [[1, 0], [7, 4]]
    assert "(points)" in line["encoding"]["y"]["title"]
    bands = [layer for layer in spec["layer"] if layer["mark"]["type"] == "area"]
    assert [b["mark"]["color"] for b in bands] == [PARTICIPANTS, COMPARISON]
    first = next(p for p in points if p["group"] == "Participants" and p["wave"] == "2025-Q1")
    assert (first["low"], first["mean"], first["high"]) == (38.0, 40.0, 42.0)
    # the hidden wave keeps its place on the axis, marked insufficient, with no number
    assert line["encoding"]["x"]["scale"]["domain"][-1] == "2025-Q4"
    assert _marked_insufficient(spec) == [{"wave": "2025-Q4"}]
    assert chart.alt and "fewer than 5 people" in chart.alt
    # the download keeps the label, not the number
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden["mean"].isna().all() and hidden["n"].isna().all()


def test_trend_figure_with_nothing_to_show_says_so():
    table = descriptives().assign(status="insufficient", suppressed=True)
    fig = trend_figure(table, "cbi_work", k=5).figure
    assert not _contains_secret(fig)
    assert "Not enough people" in fig.to_json() and "layer" not in fig.to_dict()


def _panels(fig: VegaLite) -> list[dict]:
    """A Vega-Lite chart's panels: the views of a ``vconcat``, or the chart itself."""
    spec = fig.to_dict()
    return spec.get("vconcat", [spec])


def _layer(panel: dict, mark: str, **has) -> dict:
    """The first layer drawing ``mark`` whose mark also has the given properties."""
    return next(layer for layer in panel["layer"] if layer["mark"]["type"] == mark
                and all(layer["mark"].get(k) == v for k, v in has.items()))


def _zero_rule(panel: dict) -> dict:
    return next(layer for layer in panel["layer"] if layer["mark"]["type"] == "rule"
                and layer["encoding"].get("x", {}).get("datum") == 0)


def test_forest_figure_zero_line_and_no_hidden_estimate():
    chart = forest_figure(estimates(), ["cbi_work", "cbi_personal"], "2025-Q3", k=5)
    fig = chart.figure
    assert isinstance(fig, VegaLite)
    assert not _contains_secret(fig)
    work, personal = _panels(fig)
    for panel in (work, personal):
        assert _zero_rule(panel)["mark"]["strokeDash"], "a dotted line at zero in every panel"
    assert len(work["data"]["values"]) == 4
    assert [p["estimate"] for p in work["data"]["values"]] == [-3.0] * 4
    hovers = [h for panel in (work, personal) for h in _tooltips(panel)]
    shown = [h for h in hovers if "insufficient" not in h]
    assert len(shown) == 8, "each estimate's point and interval line say the same, with n"
    assert all("n = 40 participants, 80 comparison" in h for h in shown)
    assert [h for h in hovers if "insufficient" in h] == [
        "Personal burnout: Change compared with the comparison group\nNot shown: insufficient"]
    # the hidden outcome keeps its row, in words, with nothing to place and no number
    assert personal["data"]["values"] == []
    status = _layer(personal, "text", dx=4)["data"]["values"]
    assert status == [{"method": "Change compared with the comparison group", "status": "insufficient"}]
    names = _layer(work, "text", dy=-8)["data"]["values"]
    assert any("Change compared with the comparison group" in n["method"] for n in names)
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden["estimate"].isna().all() and hidden["n_participants"].isna().all()


def test_forest_with_nothing_to_compare_says_so():
    fig = forest_figure(estimates(), ["cbi_work"], "2099-Q1", k=5).figure
    assert "No comparisons at 2099-Q1" in fig.to_json() and "vconcat" not in fig.to_dict()


def test_distribution_uses_precomputed_quantiles_not_points():
    q = pd.DataFrame([
        dict(wave="2025-Q1", wave_index=0, group="participants", n=40, p05=10, q1=20,
             median=30, q3=40, p95=60, status="ok"),
        dict(wave="2025-Q1", wave_index=0, group="comparison", n=SECRET_N, p05=SECRET,
             q1=SECRET, median=SECRET, q3=SECRET, p95=SECRET, status="insufficient"),
        dict(wave="2025-Q2", wave_index=1, group="participants", n=12, p05=np.nan, q1=22,
             median=31, q3=41, p95=np.nan, status="ok"),
    ])
    chart = distribution_figure(q, "cbi_work", k=5)
    fig = chart.figure
    assert isinstance(fig, VegaLite), "Impact draws its charts without plotly"
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    points = spec["data"]["values"]
    # one box per shown group and wave, made of the five summaries: no individual scores
    assert [(p["group"], p["wave"]) for p in points] == [("Participants", "2025-Q1"),
                                                         ("Participants", "2025-Q2")]
    numbers = {key for p in points for key, v in p.items() if isinstance(v, float)}
    assert numbers == {"low", "q1", "median", "q3", "high"}
    assert [points[0][f] for f in ("low", "q1", "median", "q3", "high")] == [10, 20, 30, 40, 60]
    # no tails for a small group: the whiskers stop at the box and the tooltip says why
    assert (points[1]["low"], points[1]["high"]) == (22, 41)
    assert "not drawn" in points[1]["whisker_text"]
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks[:4] == ["rule", "rule", "bar", "tick"], "whiskers, box and median"
    box = spec["layer"][2]["encoding"]
    assert (box["y"]["field"], box["y2"]["field"]) == ("q1", "q3")
    assert box["xOffset"]["field"] == "group", "the groups side by side in each wave"
    assert box["color"]["scale"]["range"] == [PARTICIPANTS, COMPARISON]
    hovers = _hovers(fig)
    assert hovers and all("n = " in h for h in hovers)
    assert _marked_insufficient(spec) == [{"wave": "2025-Q1"}]
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden[["n", "p05", "q1", "median", "q3", "p95"]].isna().all().all()


def test_bar_charts_hatch_insufficient_without_numbers():
    monthly = pd.DataFrame({"month": ["2025-01", "2025-02", "2025-03"],
                            "people": pd.array([20, pd.NA, 30], dtype="Int64"),
                            "sessions": [40.0, SECRET, 55.0],
                            "suppressed": [False, True, False],
                            "status": ["ok", "insufficient", "ok"]})
    fig = monthly_attendance_figure(monthly, k=5).figure
    assert not _contains_secret(fig)
    hatched = [t for t in fig.data if t.marker.pattern.shape == "/"]
    assert hatched and list(hatched[0].x) == ["2025-02"] and hatched[0].text[0] == "insufficient"


def test_heatmap_distinguishes_insufficient_from_no_data():
    matrix = pd.DataFrame([
        dict(site="A", outcome="cbi_work", n=30, mean=40.0, org_mean=42.0, difference=-2.0,
             better=2.0, status="ok"),
        dict(site="B", outcome="cbi_work", n=SECRET_N, mean=SECRET, org_mean=42.0,
             difference=SECRET, better=SECRET, status="insufficient"),
        dict(site="C", outcome="cbi_work", n=pd.NA, mean=np.nan, org_mean=42.0,
             difference=np.nan, better=np.nan, status="no data"),
    ])
    fig = practices_heatmap(matrix, k=5).figure
    assert not _contains_secret(fig)
    names = {t.name: t for t in fig.data}
    assert "insufficient" in names and "no data" in names
    assert names["insufficient"].colorscale[0][1] == INSUFFICIENT_GREY
    assert names["no data"].colorscale[0][1] == "rgba(0,0,0,0)"
    assert "insufficient" in list(np.ravel(names["insufficient"].text))
    assert "no data" in list(np.ravel(names["no data"].text))
    assert list(fig.data[0].y) == ["A", "B", "C"]


def test_alpha_figure_caution_line():
    rel = pd.DataFrame([dict(outcome="cbi_work", wave="2025-Q1", alpha=0.65, ci_low=0.6,
                             ci_high=0.7, n=100, status="ok"),
                        dict(outcome="cbi_personal", wave="2025-Q1", alpha=SECRET, ci_low=SECRET,
                             ci_high=SECRET, n=SECRET_N, status="insufficient")])
    fig = alpha_figure(rel).figure
    assert any(s.x0 == 0.7 for s in fig.layout.shapes)
    assert fig.data[0].marker.color[0] == COMPARISON
    assert not _contains_secret(fig)


@pytest.mark.parametrize("builder", [
    lambda: love_figure(pd.DataFrame({"covariate": ["site=A"], "smd_before": [0.3],
                                      "smd_after": [0.05]})),
    lambda: dose_response_figure(pd.DataFrame({
        "outcome": ["cbi_work"] * 2, "dose_band": ["0", "1–2"], "n": pd.array([40, pd.NA], "Int64"),
        "mean_change": [1.0, SECRET], "ci_low": [0.0, SECRET], "ci_high": [2.0, SECRET],
        "status": ["ok", "insufficient"]}), "cbi_work", k=5),
    lambda: breakdown_figure(pd.DataFrame({
        "role": ["x", "y"], "n_respondents": [40, SECRET_N], "n_participants": [10, 1],
        "participation_rate": [0.25, SECRET], "status": ["ok", "insufficient"]}), "role", "t", 5),
    lambda: retention_figure(pd.DataFrame({
        "wave": ["a", "b"], "n_respondents": [40, SECRET_N], "n_participants": [10, 1],
        "participation_rate": [0.25, SECRET], "retention": [0.5, SECRET],
        "status": ["ok", "insufficient"]})),
    lambda: mde_figure(pd.DataFrame({
        "outcome": ["cbi_work", "cbi_personal"], "n_participants": [40, SECRET_N],
        "n_comparison": [40, 50], "mde_points": [4.0, SECRET], "status": ["ok", "insufficient"]})),
    lambda: responses_figure(pd.DataFrame({
        "wave": ["a", "b"], "n_responses": [400, SECRET_N], "status": ["ok", "insufficient"]})),
])
def test_every_figure_has_alt_hover_n_and_no_hidden_value(builder):
    chart = builder()
    assert chart.alt.endswith(".") and len(chart.alt) > 30
    assert not _contains_secret(chart.figure)
    for hover in _hovers(chart.figure):
        assert "n = " in hover or "n:" in hover or "insufficient" in hover, hover


def _mark_layer(spec: dict, mark: str) -> dict:
    return next(layer for layer in spec["layer"] if layer["mark"]["type"] == mark)


def _marked_insufficient(spec: dict) -> list[dict]:
    """The rows of the layer that writes "insufficient" (StopIteration when there is none)."""
    return next(layer for layer in spec["layer"]
                if layer["mark"].get("text") == "insufficient")["data"]["values"]


def test_love_figure_orders_by_imbalance_and_hides_suppressed_covariates():
    balance = pd.DataFrame({
        "covariate": ["site=A", "baseline cbi_work", "role=nurse", "site=Tiny"],
        "smd_before": [0.3, -0.5, 0.05, SECRET], "smd_after": [0.05, -0.02, np.nan, SECRET],
        "n_participants": [40, 40, 40, SECRET_N], "n_comparison": [80, 80, 80, 80],
        "status": ["ok", "ok", "ok", "insufficient"]})
    chart = love_figure(balance)
    fig = chart.figure
    assert isinstance(fig, VegaLite) and chart.key == "balance"
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    points = _mark_layer(spec, "point")
    # largest imbalance before weighting on top, in words
    assert points["encoding"]["y"]["scale"]["domain"] == [
        "Baseline work-related burnout", "Practice: A", "Role: nurse"]
    assert points["encoding"]["stroke"]["scale"]["range"] == [COMPARISON, PARTICIPANTS]
    values = spec["data"]["values"]
    assert len(values) == 5, "a missing difference after weighting is not drawn"
    assert {(v["covariate"], v["weighting"], v["smd_text"]) for v in values} >= {
        ("Practice: A", "Before weighting", "+0.30 SD"), ("Practice: A", "After weighting", "+0.05 SD")}
    hovers = _hovers(fig)
    assert len(hovers) == 5 and all("n = 40 participants, 80 comparison" in h for h in hovers)
    # the ±0.1 guides and the zero line
    guides = [layer["data"]["values"] for layer in spec["layer"] if "data" in layer]
    assert [{"x": -0.1, "x2": 0.1}] in guides and [{"x": -0.1}, {"x": 0.1}] in guides
    assert {"datum": 0} in [layer["encoding"]["x"] for layer in spec["layer"]]
    assert all(layer["mark"].get("tooltip", "") is None for layer in spec["layer"] if layer is not points), \
        "the band and lines show no automatic tooltip of their own numbers"
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden["smd_before"].isna().all() and hidden["n_participants"].isna().all()
    empty = love_figure(balance.iloc[0:0]).figure
    assert "Balance cannot be shown" in empty.to_json()


def test_love_figure_of_200_practices_draws_the_least_balanced_and_says_so():
    from analysis.views.impact_figures import LOVE_ROWS
    practices = [f"site=P{i:03d}" for i in range(200)]
    before = [0.01 * (i % 30) for i in range(200)]
    after = [0.2 if i == 7 else 0.01 for i in range(200)]   # P007: unbalanced after weighting
    balance = pd.DataFrame({
        "covariate": ["baseline cbi_work", "role=nurse", *practices],
        "smd_before": [0.5, 0.05, *before], "smd_after": [0.02, 0.01, *after],
        "n_participants": 40, "n_comparison": 80, "status": "ok"})
    spec = love_figure(balance).figure.to_dict()
    drawn = _mark_layer(spec, "point")["encoding"]["y"]["scale"]["domain"]
    assert len(drawn) == LOVE_ROWS
    assert {"Baseline work-related burnout", "Role: nurse", "Practice: P007"} <= set(drawn), \
        "every characteristic that is not a practice, and the worst after weighting, are drawn"
    shown = {float(v) for i, v in enumerate(before) if f"Practice: P{i:03d}" in drawn and i != 7}
    assert min(shown) >= max(v for i, v in enumerate(before)
                             if f"Practice: P{i:03d}" not in drawn and i != 7)
    subtitle = " ".join(spec["title"]["subtitle"])
    assert f"2 characteristics and the {LOVE_ROWS - 2} least balanced practices" in subtitle
    assert "other 190 practices differ by at most 0.01 SD after weighting" in subtitle
    assert "All 202 are in the table" in subtitle
    balance.loc[balance["covariate"].str.startswith("site=") & (balance["covariate"] != "site=P007"),
                "smd_after"] = 0.001
    exact = " ".join(love_figure(balance).figure.to_dict()["title"]["subtitle"])
    assert "differ by less than 0.01 SD" in exact, "never 'at most 0.00 SD'"
    assert all(len(line) <= 44 for line in spec["title"]["subtitle"])
    small = love_figure(balance.iloc[:5]).figure.to_dict()
    assert isinstance(small["title"], str), "nothing left out, nothing to say"


def test_dose_response_keeps_hidden_bands_in_place_without_numbers():
    dose = pd.DataFrame({
        "outcome": ["cbi_work"] * 5, "dose_band": ["0", "1–2", "3–5", "6+", "all"],
        "n": pd.array([40, SECRET_N, 30, 25, 100], "Int64"),
        "mean_change": [1.0, SECRET, -2.0, -4.0, -1.0], "ci_low": [0.0, SECRET, -3.5, -6.0, -2.0],
        "ci_high": [2.0, SECRET, -0.5, -2.0, 0.0],
        "status": ["ok", "insufficient", "ok", "ok", "ok"]})
    chart = dose_response_figure(dose, "cbi_work", k=5)
    fig = chart.figure
    assert isinstance(fig, VegaLite) and chart.key == "dose_response"
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    bars = _mark_layer(spec, "bar")
    assert bars["encoding"]["x"]["scale"]["domain"] == ["0", "1–2", "3–5", "6+"], \
        "the hidden band keeps its place; the 'all' row is not a band"
    assert bars["mark"]["color"] == PARTICIPANTS and "(points)" in bars["encoding"]["y"]["title"]
    assert [(v["band"], v["change"], v["low"], v["high"]) for v in spec["data"]["values"]] == [
        ("0", 1.0, 0.0, 2.0), ("3–5", -2.0, -3.5, -0.5), ("6+", -4.0, -6.0, -2.0)]
    assert _mark_layer(spec, "errorbar")["encoding"]["y2"] == {"field": "high"}
    assert {"datum": 0} in [layer["encoding"].get("y") for layer in spec["layer"]]
    assert [v["band"] for v in _marked_insufficient(spec)] == ["1–2"]
    hovers = _hovers(fig)
    assert sum("n = " in h for h in hovers) == 6, "bars and their intervals"
    assert [h for h in hovers if "n = " not in h] == [
        "Sessions attended: 1–2\nChange: insufficient — fewer than 5 people; not shown"]
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden["mean_change"].isna().all() and hidden["n"].isna().all()
    nothing = dose_response_figure(dose.iloc[0:0], "cbi_work", k=5).figure
    assert "Not enough participants" in nothing.to_json()


def test_mde_figure_standardizes_and_marks_hidden_outcomes():
    mde = pd.DataFrame({
        "outcome": ["cbi_work", "miniz_burnout", "cbi_personal"],
        "n_participants": pd.array([40, 40, SECRET_N], "Int64"), "n_comparison": [80, 80, 80],
        "mde_d": [0.5, 0.5, SECRET], "baseline_sd": [20.0, 0.8, SECRET],
        "mde_points": [10.0, 0.4, SECRET], "observed": [-4.0, 0.2, SECRET],
        "status": ["ok", "ok", "insufficient"]})
    chart = mde_figure(mde)
    fig = chart.figure
    assert isinstance(fig, VegaLite) and chart.key == "mde"
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    # in baseline SDs, so both scales share the axis; the observed difference as its size
    assert [(v["mde"], v["observed"]) for v in spec["data"]["values"]] == [(0.5, 0.2), (0.5, 0.25)]
    assert spec["data"]["values"][0]["mde_text"] == "0.50 SD (10.00 points)"
    bar, point = _mark_layer(spec, "bar"), _mark_layer(spec, "point")
    assert bar["encoding"]["color"]["scale"]["range"] == ["#009E73", PARTICIPANTS]  # Okabe-Ito green
    assert point["mark"]["shape"] == "diamond"
    assert "baseline score" in " ".join(bar["encoding"]["x"]["title"])
    assert bar["encoding"]["y"]["scale"]["domain"][-1] == "Personal burnout"
    assert [v["outcome"] for v in _marked_insufficient(spec)] == ["Personal burnout"]
    hovers = _hovers(fig)
    assert sum("n = 40 participants, 80 comparison" in h for h in hovers) == 4, "bars and diamonds"
    assert [h for h in hovers if "n = " not in h] == [
        "Outcome: Personal burnout\nDifference: insufficient — too few people; not shown"]
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden["mde_d"].isna().all() and hidden["n_participants"].isna().all()
    nothing = mde_figure(mde.assign(status="insufficient")).figure
    assert "Not enough people" in nothing.to_json() and not _contains_secret(nothing)


def change_table() -> pd.DataFrame:
    rows = []
    for i, wave in enumerate(["2025-Q2", "2025-Q3"], start=1):
        for group, mean in (("participants", -2.0 * i), ("comparison", 1.0 * i)):
            rows.append(dict(outcome="cbi_work", wave=wave, wave_index=i, baseline_wave="2025-Q1",
                             group=group, n=40 + i, mean_change=mean, sd_change=10.0,
                             ci_low=mean - 2, ci_high=mean + 2, suppressed=False, status="ok"))
    for group in ("participants", "comparison"):   # a hidden wave that (wrongly) kept numbers
        rows.append(dict(outcome="cbi_work", wave="2025-Q4", wave_index=3, baseline_wave="2025-Q1",
                         group=group, n=SECRET_N, mean_change=SECRET, sd_change=SECRET,
                         ci_low=SECRET, ci_high=SECRET, suppressed=True, status="insufficient"))
    return pd.DataFrame(rows)


def test_change_figure_starts_at_zero_and_drops_hidden_waves():
    chart = change_figure(change_table(), "cbi_work", k=5)
    fig = chart.figure
    assert isinstance(fig, VegaLite), "the first chart of two pages is drawn without plotly"
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    points = spec["data"]["values"]
    line_layer = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    colour = line_layer["encoding"]["color"]["scale"]
    assert colour["range"] == [PARTICIPANTS, COMPARISON]
    for group in ("Participants", "Comparison"):
        line = [p for p in points if p["group"] == group]
        assert line[0]["wave"] == "2025-Q1" and line[0]["change"] == 0.0, \
            "both groups start at 0 at baseline"
        assert "2025-Q4" not in {p["wave"] for p in line}
        assert all(p["n_text"].startswith("n = ") for p in line[1:]), "n in every tooltip"
    # the hidden wave stays on the axis, marked insufficient, with no number
    assert line_layer["encoding"]["x"]["scale"]["domain"][-1] == "2025-Q4"
    assert _marked_insufficient(spec) == [{"wave": "2025-Q4"}]
    # the gap drawn at the last shown wave is participants minus comparison (the DiD)
    assert "gap -6.0" in fig.to_json()
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden["mean_change"].isna().all() and hidden["n"].isna().all()


def test_change_figure_with_nothing_to_show_says_so():
    table = change_table()
    table["status"] = "insufficient"
    fig = change_figure(table, "cbi_work", k=5).figure
    assert not _contains_secret(fig)
    assert "Not enough people" in fig.to_json() and "gap" not in fig.to_json()


def test_forest_gives_each_outcome_its_own_axis():
    est = estimates()
    small = est.loc[est["outcome"] == "cbi_work"].assign(outcome="miniz_burnout", estimate=-0.3,
                                                         ci_low=-0.5, ci_high=-0.1)
    chart = forest_figure(pd.concat([est, small]), ["cbi_work", "miniz_burnout",
                                                    "cbi_personal"], "2025-Q3", k=5)
    fig = chart.figure
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    assert spec["resolve"]["scale"]["x"] == "independent", \
        "a 1–5 scale never shares the 0–100 scale's axis"
    panels = _panels(fig)
    assert len(panels) == 3
    titles = [" ".join(_zero_rule(p)["encoding"]["x"]["axis"]["title"]) for p in panels]
    assert "Work-related burnout (points)" in titles[0]
    assert "scale points" in titles[1] and "scale points" not in titles[0]
    assert {v["estimate"] for v in panels[1]["data"]["values"]} == {-0.3}
    single = _panels(forest_figure(est, ["cbi_work"], "2025-Q3", k=5).figure)
    assert len(single) == 1
    point = _layer(single[0], "point")
    assert point["encoding"]["y"]["scale"]["domain"] == list(METHOD_LABELS.values())


def test_effect_size_figure_standardizes_and_hides_suppressed():
    est = estimates().assign(effect_size=-0.3, effect_size_kind="d_baseline_sd")
    est.loc[est["suppressed"], "effect_size"] = SECRET
    chart = effect_size_figure(est, ["cbi_work", "cbi_personal"], "2025-Q3")
    fig = chart.figure
    assert isinstance(fig, VegaLite)
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    (point,) = spec["data"]["values"]
    assert point["effect"] == -0.3
    # interval scaled by the same SD as the estimate: -5..-1 points at -3 points = -0.5..-0.1 SD
    assert point["low"] == pytest.approx(-0.5) and point["high"] == pytest.approx(-0.1)
    interval = _layer(spec, "rule", strokeWidth=2)["encoding"]
    assert (interval["x"]["field"], interval["x2"]["field"]) == ("low", "high")
    hovers = _hovers(fig)
    assert len(hovers) == 3 and all("n = 40 participants" in h for h in hovers[:2])
    assert hovers[2] == "Outcome: Personal burnout\nNot shown: insufficient"
    dots = _layer(spec, "point")["encoding"]
    assert "baseline score" in " ".join(dots["x"]["title"])
    # the suppressed outcome keeps its row, marked insufficient, without a number
    assert dots["y"]["scale"]["domain"] == ["Work-related burnout", "Personal burnout"]
    assert _layer(spec, "text", dx=4)["data"]["values"] == [
        {"outcome": "Personal burnout", "status": "insufficient"}]
    # Cohen's marks as faint lines at ±0.2 and ±0.5, the small/moderate words once each
    marks = _layer(spec, "rule", color="#CCCCCC")["data"]["values"]
    assert sorted(m["at"] for m in marks) == [-0.5, -0.2, 0.2, 0.5]
    assert _zero_rule(spec)["mark"]["strokeDash"]
    hidden = chart.table.loc[chart.table["status"] == "insufficient"]
    assert hidden["effect_size"].isna().all() and hidden["estimate"].isna().all()


def event_table() -> pd.DataFrame:
    return pd.DataFrame({
        "outcome": "cbi_work", "event_time": [-2, -1, 0, 1, 2], "period": ["pre", "pre", "post", "post", "post"],
        "estimate": [0.5, -0.2, -2.0, -3.0, SECRET], "ci_low": [-1.0, -1.5, -3.5, -4.8, SECRET],
        "ci_high": [2.0, 1.1, -0.5, -1.2, SECRET], "n_participants": [30, 40, 60, 50, SECRET_N],
        "n_comparison": [200] * 5, "suppressed": [False] * 4 + [True]})


def test_event_study_figure_marks_joining_and_hides_suppressed():
    chart = event_study_figure(event_table(), "cbi_work")
    fig = chart.figure
    assert isinstance(fig, VegaLite)
    assert not _contains_secret(fig)
    spec = fig.to_dict()
    points = spec["data"]["values"]
    assert [p["event_time"] for p in points] == [-2, -1, 0, 1]
    assert [p["estimate"] for p in points] == [0.5, -0.2, -2.0, -3.0]
    assert points[2]["low"] == -3.5 and points[2]["high"] == -0.5
    hovers = _hovers(fig)
    assert len(hovers) == 9 and all("n = " in h for h in hovers[:8])
    assert "insufficient" in hovers[8] and "n = " not in hovers[8]
    colour = _layer(spec, "point")["encoding"]["color"]["scale"]
    assert colour["range"] == [COMPARISON, PARTICIPANTS]
    assert {p["period"] for p in points[:2]} == {colour["domain"][0]}, "before joining: the placebo colour"
    # reference lines: no difference (y = 0) and joining, between the last wave before and 0
    assert any(layer["encoding"].get("y", {}).get("datum") == 0 for layer in spec["layer"])
    joining = _layer(spec, "rule", strokeDash=[5, 4])["data"]["values"]
    assert joining[0]["at"] == -0.5
    marked = _layer(spec, "text", text="insufficient")["data"]["values"]
    assert [m["event_time"] for m in marked] == [2]
    assert "Waves since the first session" in _layer(spec, "point")["encoding"]["x"]["title"]
    empty = event_study_figure(event_table().assign(suppressed=True), "cbi_work").figure
    assert "cannot be shown" in empty.to_json() and not _contains_secret(empty)


def test_chart_pickles_as_the_same_figure():
    import pickle
    chart = change_figure(change_table(), "cbi_work", k=5, takeaway="t", how_to_read="h")
    back = pickle.loads(pickle.dumps(chart))
    assert json.loads(back.figure.to_json()) == json.loads(chart.figure.to_json())
    assert (back.key, back.alt, back.takeaway, back.how_to_read) == \
        (chart.key, chart.alt, chart.takeaway, chart.how_to_read)
    pd.testing.assert_frame_equal(back.table, chart.table)


def test_an_empty_chart_says_why_in_lines_that_fit_a_phone():
    from analysis.views.figure_base import vega_empty
    message = ("Not enough people seen at baseline and later to show change for this "
               "selection of practices and roles.")
    spec = vega_empty("Change since baseline", message)
    lines = spec["data"]["values"][0]["message"]
    assert len(lines) > 1 and all(len(line) <= 36 for line in lines)
    assert " ".join(lines) == message
