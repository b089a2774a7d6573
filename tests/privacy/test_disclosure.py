"""Attacks on the disclosure rules: every test tries to recover what was hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.privacy.csv_safety import neutralize_formula, neutralize_frame
from analysis.privacy.export_checks import (
    EXPORT_MIN_CELL,
    EXPORT_ROUNDING_BASE,
    MIN_RESIDUAL_DF,
    Check,
    checks_frame,
    export_check,
    round_counts,
)
from analysis.privacy.guard import FilterDecision, check_filter
from analysis.privacy.suppression import (
    ABSOLUTE_MIN_GROUP_SIZE,
    DEFAULT_MIN_GROUP_SIZE,
    INSUFFICIENT,
    NO_DATA,
    guard_estimates,
    suppress_breakdown,
    suppress_two_way,
    validate_min_group_size,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VALUE_COLS = ["mean", "sd", "ci_low", "ci_high", "share_high"]


def test_docstring_examples() -> None:
    import doctest

    from analysis.privacy import csv_safety, export_checks, guard, suppression

    for module in (suppression, guard, export_checks, csv_safety):
        assert doctest.testmod(module).failed == 0


def test_constants() -> None:
    assert DEFAULT_MIN_GROUP_SIZE == 5
    assert ABSOLUTE_MIN_GROUP_SIZE == 3
    assert EXPORT_MIN_CELL == 10
    assert EXPORT_ROUNDING_BASE == 5
    assert MIN_RESIDUAL_DF == 10
    assert (INSUFFICIENT, NO_DATA) == ("insufficient", "no data")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _one_way(breakdowns: list[list[int]], with_total: bool) -> pd.DataFrame:
    rows = []
    for b, counts in enumerate(breakdowns):
        for s, n in enumerate(counts):
            rows.append({"outcome": "cbi_work", "wave": b, "site": f"s{s}", "n": n})
        if with_total:
            rows.append({"outcome": "cbi_work", "wave": b, "site": "all", "n": sum(counts)})
    frame = pd.DataFrame(rows)
    for col in VALUE_COLS:
        frame[col] = np.linspace(1.0, 2.0, len(frame))
    return frame


def _two_way(sites: list[tuple[int, ...]], groups: list[str]) -> pd.DataFrame:
    rows = []
    for s, cells in enumerate(sites):
        for g, n in zip(groups, cells):
            rows.append({"site": f"s{s}", "group": g, "n": n})
        rows.append({"site": f"s{s}", "group": "all", "n": sum(cells)})
    for g_index, g in enumerate(groups):
        rows.append({"site": "all", "group": g, "n": sum(c[g_index] for c in sites)})
    rows.append({"site": "all", "group": "all", "n": sum(sum(c) for c in sites)})
    frame = pd.DataFrame(rows)
    frame.insert(0, "outcome", "proqol_bo")
    frame.insert(1, "wave", "2025-Q1")
    for col in VALUE_COLS:
        frame[col] = np.linspace(10.0, 20.0, len(frame))
    return frame


def _determined_hidden_cells(out: pd.DataFrame) -> list[int]:
    """The attacker: linear algebra over every margin of a site x group table.

    Unknowns are the hidden cells; every row and column line gives one
    equation (members - total = 0) whose visible part is known. A hidden cell
    is recovered exactly iff its unit vector lies in the row space of the
    equations restricted to hidden cells.
    """
    cells = {(r.site, r.group): i for i, r in enumerate(out.itertuples())}
    lines = []
    for site in out["site"].unique():
        lines.append([(site, g) for g in out["group"].unique()])
    for group in out["group"].unique():
        lines.append([(s, group) for s in out["site"].unique()])
    matrix = np.zeros((len(lines), len(out)))
    for li, line in enumerate(lines):
        for cell in line:
            if cell in cells:
                matrix[li, cells[cell]] = 1.0
        # the total of the line gets -1: site line total is group 'all',
        # group line total is site 'all'
        site_line = len({c[0] for c in line}) == 1
        total = (line[0][0], "all") if site_line else ("all", line[0][1])
        if total in cells:
            matrix[li, cells[total]] = -1.0
    hidden = np.flatnonzero(out["suppressed"].to_numpy())
    if hidden.size == 0:
        return []
    sub = matrix[:, hidden]
    base_rank = np.linalg.matrix_rank(sub)
    determined = []
    for j in range(hidden.size):
        unit = np.zeros(hidden.size)
        unit[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([sub, unit])) == base_rank:
            determined.append(int(hidden[j]))
    return determined


def _assert_blank(out: pd.DataFrame, count_col: str = "n", value_cols=VALUE_COLS) -> None:
    hidden = out[out["suppressed"]]
    assert hidden[count_col].isna().all()
    for col in value_cols:
        assert hidden[col].isna().all(), col
    assert (hidden["status"] == INSUFFICIENT).all()


# --------------------------------------------------------------------------
# one-way breakdowns: recover a hidden site from 'all' minus visible sites
# --------------------------------------------------------------------------


@FAST
@given(
    breakdowns=st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=8), min_size=1, max_size=4),
    k=st.integers(3, 8),
    with_total=st.booleans(),
)
def test_subtraction_attack_on_one_way_breakdowns(
    breakdowns: list[list[int]], k: int, with_total: bool
) -> None:
    frame = _one_way(breakdowns, with_total)
    out = suppress_breakdown(
        frame, "n", VALUE_COLS, ["outcome", "wave"], k, category_col="site", total_value="all"
    )
    _assert_blank(out)
    original = frame["n"].to_numpy()
    for _wave, part in out.groupby("wave"):
        true = original[part.index]
        members = (part["site"] != "all").to_numpy()
        hidden = part["suppressed"].to_numpy()
        # primary: every small cell hidden; visible cells are >= k or 0
        assert hidden[(true > 0) & (true < k)].all()
        assert ((true[~hidden] == 0) | (true[~hidden] >= k)).all()
        # zero cells are 'no data', never counted as hidden
        assert not hidden[true == 0].any()
        assert (part["status"].to_numpy()[true == 0] == NO_DATA).all()
        hidden_members = hidden & members
        total_hidden = bool((hidden & ~members).any())
        positive_members = members & (true > 0)
        if hidden_members.any() and not (hidden_members == positive_members).all():
            # there were cells left to hide: Glint's rule must hold
            assert hidden_members.sum() >= 2
            assert true[hidden_members].sum() >= k
        if with_total and not total_hidden:
            # the attack: total minus visible members gives the hidden SUM only
            derived = true[~members].sum() - true[members & ~hidden].sum()
            assert derived == true[hidden_members].sum()
            assert hidden_members.sum() != 1, "a single hidden site is recoverable"
            if hidden_members.any():
                assert derived >= k, "the hidden sites together form a small group"


def test_single_small_site_forces_next_smallest() -> None:
    frame = pd.DataFrame({
        "site": ["a", "b", "c", "d", "all"], "n": [2, 40, 7, 12, 61], "mean": [1.0, 2, 3, 4, 3.1]
    })
    out = suppress_breakdown(frame, "n", ["mean"], [], 5, category_col="site", total_value="all")
    assert out["suppressed"].tolist() == [True, False, True, False, False]
    assert out.loc[4, "n"] == 61  # the total is kept: it is >= k and hides 9 = 2 + 7


def test_hidden_sum_below_k_hides_more() -> None:
    frame = pd.DataFrame({"site": ["a", "b", "c", "all"], "n": [1, 1, 30, 32], "mean": [1.0, 2, 3, 3]})
    out = suppress_breakdown(frame, "n", ["mean"], [], 5, category_col="site", total_value="all")
    # a + b = 2 < 5: the sum would expose a group of two, so c goes too
    assert out["suppressed"].tolist() == [True, True, True, False]


def test_lone_small_cell_with_nothing_to_pair_hides_total() -> None:
    # only one site has people; a total >= k that includes unassigned people
    frame = pd.DataFrame({"site": ["a", "b", "all"], "n": [3, 0, 9], "mean": [1.0, None, 2.0]})
    out = suppress_breakdown(frame, "n", ["mean"], [], 5, category_col="site", total_value="all")
    assert out["suppressed"].tolist() == [True, False, True]
    assert out["status"].tolist() == [INSUFFICIENT, NO_DATA, INSUFFICIENT]


def test_total_mask_equivalent_to_total_value() -> None:
    frame = _one_way([[3, 9, 14, 0]], with_total=True)
    a = suppress_breakdown(frame, "n", VALUE_COLS, ["wave"], 5, category_col="site", total_value="all")
    b = suppress_breakdown(frame, "n", VALUE_COLS, ["wave"], 5, total_mask=frame["site"] == "all")
    pd.testing.assert_frame_equal(a, b)


def test_input_not_modified_and_absent_counts_are_no_data() -> None:
    frame = pd.DataFrame({"site": ["a", "b", "c"], "n": [None, 20, 30], "mean": [5.0, 2, 3]})
    before = frame.copy()
    out = suppress_breakdown(frame, "n", ["mean"], [], 5)
    pd.testing.assert_frame_equal(frame, before)
    assert out["status"].tolist() == [NO_DATA, "ok", "ok"]
    assert pd.isna(out.loc[0, "mean"])
    assert not out["suppressed"].any()


# --------------------------------------------------------------------------
# two-way tables: participants at a site from either margin
# --------------------------------------------------------------------------


@FAST
@given(
    sites=st.lists(st.tuples(st.integers(0, 25), st.integers(0, 25)), min_size=1, max_size=6),
    k=st.integers(3, 7),
)
@pytest.mark.slow
def test_two_way_no_hidden_cell_is_derivable_from_any_margin(
    sites: list[tuple[int, int]], k: int
) -> None:
    frame = _two_way(sites, ["participants", "comparison"])
    out = suppress_two_way(frame, "n", VALUE_COLS, "site", "group", k, "all", "all", ["outcome", "wave"])
    _assert_blank(out)
    true = frame["n"].to_numpy()
    hidden = out["suppressed"].to_numpy()
    assert hidden[(true > 0) & (true < k)].all()
    assert not hidden[true == 0].any()
    assert _determined_hidden_cells(out) == []
    # and along each line with a visible total, the hidden members sum to >= k
    for dim, other in (("site", "group"), ("group", "site")):
        for _, line in out.groupby(dim):
            is_total = (line[other] == "all").to_numpy()
            h = line["suppressed"].to_numpy()
            if not (h & is_total).any() and (h & ~is_total).any():
                assert (h & ~is_total).sum() >= 2
                assert true[line.index][h & ~is_total].sum() >= k


@FAST
@given(
    sites=st.lists(st.tuples(*[st.integers(0, 12)] * 4), min_size=2, max_size=5),
    k=st.integers(3, 5),
)
def test_two_way_linear_attack_with_many_categories(sites: list[tuple[int, ...]], k: int) -> None:
    frame = _two_way(sites, ["g1", "g2", "g3", "g4"])
    out = suppress_two_way(frame, "n", VALUE_COLS, "site", "group", k, "all", "all", ["outcome", "wave"])
    _assert_blank(out)
    assert _determined_hidden_cells(out) == []


def test_two_way_bridge_between_two_cycles_is_closed() -> None:
    # Every line already has >= 2 hidden cells summing to >= 3, yet the cell
    # (s0, g3) joins two cycles and is determined exactly by the margins.
    big = 50
    sites = [
        (1, 1, 1, big),
        (2, 2, big, big),
        (big, big, 1, 2),
        (big, big, 1, 2),
    ]
    frame = _two_way(sites, ["g1", "g2", "g3", "g4"])
    out = suppress_two_way(frame, "n", VALUE_COLS, "site", "group", 3, "all", "all", ["outcome", "wave"])
    assert _determined_hidden_cells(out) == []
    primary_only = frame.assign(suppressed=(frame["n"] > 0) & (frame["n"] < 3))
    bridge = frame.index[(frame["site"] == "s0") & (frame["group"] == "g3")][0]
    assert _determined_hidden_cells(primary_only) == [bridge]  # the attack works on the naive pattern
    assert out["suppressed"].sum() > primary_only["suppressed"].sum()


def test_attacker_recovers_cells_under_primary_suppression_only() -> None:
    # guard against a toothless attacker: primary suppression alone must leak
    frame = _two_way([(3, 10), (20, 30)], ["participants", "comparison"])
    naive = frame.assign(suppressed=(frame["n"] > 0) & (frame["n"] < 5))
    assert _determined_hidden_cells(naive) == [0]


def test_two_way_participants_at_site_not_recoverable_worked_example() -> None:
    frame = _two_way([(3, 10), (8, 9), (20, 30)], ["participants", "comparison"])
    out = suppress_two_way(frame, "n", VALUE_COLS, "site", "group", 5, "all", "all", ["outcome", "wave"])
    hidden = set(zip(out.loc[out["suppressed"], "site"], out.loc[out["suppressed"], "group"]))
    assert ("s0", "participants") in hidden
    # site total minus comparison: comparison must be hidden too
    assert ("s0", "comparison") in hidden
    # organisation-wide participants minus other sites: another site goes
    assert ("s1", "participants") in hidden
    assert _determined_hidden_cells(out) == []


def test_two_way_separate_tables_per_key() -> None:
    a = _two_way([(3, 10), (20, 30)], ["participants", "comparison"])
    b = _two_way([(30, 10), (20, 30)], ["participants", "comparison"]).assign(wave="2025-Q2")
    out = suppress_two_way(
        pd.concat([a, b], ignore_index=True), "n", VALUE_COLS, "site", "group", 5, "all", "all",
        ["outcome", "wave"],
    )
    assert not out.loc[out["wave"] == "2025-Q2", "suppressed"].any()
    assert out.loc[out["wave"] == "2025-Q1", "suppressed"].any()


# --------------------------------------------------------------------------
# minimum group size
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 1, 0, -5, 2.5, "5", True])
def test_min_group_below_three_refused(k: object) -> None:
    with pytest.raises(ValueError):
        validate_min_group_size(k)


def test_every_entry_point_refuses_k_below_three() -> None:
    frame = _one_way([[3, 4]], with_total=True)
    with pytest.raises(ValueError):
        suppress_breakdown(frame, "n", VALUE_COLS, ["wave"], 2)
    with pytest.raises(ValueError):
        suppress_two_way(_two_way([(3, 4)], ["participants", "comparison"]), "n", VALUE_COLS,
                         "site", "group", 2, "all", "all", ["outcome"])
    with pytest.raises(ValueError):
        check_filter(10, 20, 2)
    with pytest.raises(ValueError):
        guard_estimates(pd.DataFrame({"n_participants": [1], "n_comparison": [1]}), 2)
    with pytest.raises(ValueError):
        export_check("t", frame, "frequency", ["n"], k_export=2)
    assert validate_min_group_size(3) == 3


# --------------------------------------------------------------------------
# filters: selection and remainder
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selected", "total", "allowed"),
    [(3, 40, False), (4, 40, False), (5, 40, True), (36, 40, False), (35, 40, True),
     (40, 40, True), (39, 40, False), (0, 40, False), (5, 5, True), (5, 6, False)],
)
def test_check_filter(selected: int, total: int, allowed: bool) -> None:
    decision = check_filter(selected, total, 5)
    assert isinstance(decision, FilterDecision)
    assert decision.allowed is allowed
    assert decision.reason


def test_check_filter_reasons_are_plain_english() -> None:
    assert check_filter(3, 40, 5).reason == (
        "This selection covers 3 people; at least 5 are needed so that no one can be identified."
    )
    reason = check_filter(38, 40, 5).reason
    assert "left out would number 2, which could identify them by subtraction" in reason


@FAST
@given(total=st.integers(0, 60), k=st.integers(3, 10), data=st.data())
def test_check_filter_never_exposes_small_group(total: int, k: int, data: st.DataObject) -> None:
    selected = data.draw(st.integers(0, total))
    decision = check_filter(selected, total, k)
    if decision.allowed:
        assert selected >= k
        assert total - selected == 0 or total - selected >= k


def test_filter_decision_is_frozen() -> None:
    with pytest.raises(AttributeError):
        check_filter(10, 20, 5).allowed = False  # type: ignore[misc]


# --------------------------------------------------------------------------
# estimates: suppressed rows carry no numbers of any kind
# --------------------------------------------------------------------------


def _estimates() -> pd.DataFrame:
    return pd.DataFrame({
        "analysis": ["unadjusted", "did", "ancova", "ipw"],
        "outcome": ["cbi_work"] * 4,
        "wave": [2, 2, 2, 2],
        "estimate": [-3.1, -2.0, -1.5, 0.4],
        "ci_low": [-5.0, -4.0, -3.0, -1.0],
        "ci_high": [-1.0, 0.0, 0.1, 2.0],
        "p_value": [0.01, 0.05, 0.07, 0.6],
        "n_participants": [25, 4, 30, 12],
        "n_comparison": [30, 40, 0, 2],
        "effect_size": [-0.4, -0.3, -0.2, 0.05],
        "effect_size_kind": ["hedges_g"] * 4,
        "residual_df": [50, 40, 25, 10],
    })


def test_guard_estimates_blanks_every_number() -> None:
    out = guard_estimates(_estimates(), 5)
    assert out["suppressed"].tolist() == [False, True, False, True]
    assert out["status"].tolist() == ["ok", INSUFFICIENT, NO_DATA, INSUFFICIENT]
    numbers = ["estimate", "ci_low", "ci_high", "p_value", "n_participants", "n_comparison",
               "effect_size", "residual_df"]
    blanked = out.loc[out["status"] != "ok", numbers]
    assert blanked.isna().all().all()
    # labels remain so the reader sees which row was suppressed
    assert out.loc[1, "analysis"] == "did" and out.loc[1, "wave"] == 2
    assert out.loc[0, "estimate"] == -3.1 and out.loc[0, "n_participants"] == 25


def test_guard_estimates_keeps_upstream_suppression() -> None:
    frame = _estimates().assign(suppressed=[True, False, False, False])
    out = guard_estimates(frame, 5)
    assert out.loc[0, "suppressed"] and pd.isna(out.loc[0, "estimate"])


# --------------------------------------------------------------------------
# export: rounding, minimum cell, dominance, residual df
# --------------------------------------------------------------------------


def test_round_counts() -> None:
    frame = pd.DataFrame({"n": [0, 1, 2, 3, 7, 8, 10, 12, 13, 102, None], "mean": [1.23] * 11})
    out = round_counts(frame, ["n"])
    assert out["n"].tolist()[:-1] == [0, 5, 5, 5, 5, 10, 10, 10, 15, 100]
    assert pd.isna(out["n"].iloc[-1])
    assert out["mean"].tolist() == [1.23] * 11
    assert round_counts(pd.DataFrame({"n": [14]}), ["n"], base=10)["n"].tolist() == [10]


@settings(deadline=None)  # no timing in tests: a loaded machine must not fail a property
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=30))
def test_round_counts_properties(values: list[int]) -> None:
    out = round_counts(pd.DataFrame({"n": values}), ["n"])["n"].to_numpy(dtype=int)
    original = np.array(values)
    assert (out % 5 == 0).all()
    assert (np.abs(out - original) <= 4).all()  # 1..2 -> 5 is the widest move
    assert ((out == 0) == (original == 0)).all()  # 0 means truly nobody


def test_export_min_cell_blanks_failing_rows() -> None:
    frame = pd.DataFrame({"site": ["a", "b"], "group": ["all", "all"], "n": [9, 10], "mean": [3.0, 4.0]})
    out, checks = export_check("descriptives.csv", frame, "frequency", ["n"])
    assert out["suppressed"].tolist() == [True, False]
    assert pd.isna(out.loc[0, "n"]) and pd.isna(out.loc[0, "mean"])
    assert out.loc[0, "site"] == "a"
    outcomes = {(c.row_key, c.rule): c.outcome for c in checks}
    assert outcomes[("site=a|group=all", "min_cell")] == "fail"
    assert outcomes[("site=b|group=all", "min_cell")] == "pass"


def test_export_dominance_nk_rule() -> None:
    frame = pd.DataFrame({"site": ["a", "b", "c"], "n": [12, 12, 12], "total": [100.0, 100.0, 100.0]})
    contributions = pd.DataFrame({"largest": [30.0, 20.0, np.nan], "second_largest": [25.0, 20.0, np.nan]})
    out, checks = export_check("sums.csv", frame, "magnitude", ["n"], dominance_value_col="total",
                               contributions=contributions)
    dominance = [c for c in checks if c.rule == "dominance"]
    assert [c.outcome for c in dominance] == ["fail", "pass", "review"]
    assert out["suppressed"].tolist() == [True, False, False]
    assert pd.isna(out.loc[0, "total"])


def test_export_dominance_without_contributions_needs_review() -> None:
    frame = pd.DataFrame({"site": ["a"], "n": [50], "total": [10.0]})
    out, checks = export_check("sums.csv", frame, "magnitude", ["n"], dominance_value_col="total")
    assert [c.outcome for c in checks if c.rule == "dominance"] == ["review"]
    assert not out["suppressed"].any()  # review ships, listed for a person to sign off


def test_export_residual_df() -> None:
    frame = _estimates().assign(n_participants=[25, 40, 30, 12], n_comparison=[30, 40, 20, 12])
    frame["residual_df"] = [50, 9, None, 10]
    out, checks = export_check("estimates.csv", frame, "regression",
                               ["n_participants", "n_comparison"], residual_df_col="residual_df")
    rdf = [c.outcome for c in checks if c.rule == "residual_df"]
    assert rdf == ["pass", "fail", "review", "pass"]
    assert out["suppressed"].tolist() == [False, True, False, False]
    assert out.loc[1, ["estimate", "ci_low", "ci_high", "p_value", "effect_size"]].isna().all()
    assert out.loc[1, "analysis"] == "did"
    _, no_col = export_check("estimates.csv", frame, "regression", ["n_participants"])
    assert {c.outcome for c in no_col if c.rule == "residual_df"} == {"review"}


def test_checks_frame() -> None:
    checks = [Check("t.csv", "site=a", "min_cell", "pass", "ok"),
              Check("t.csv", "site=b", "min_cell", "fail", "n=3 below 10")]
    frame = checks_frame(checks)
    assert list(frame.columns) == ["table", "row_key", "rule", "outcome", "reason"]
    assert frame["outcome"].tolist() == ["pass", "fail"]
    assert list(checks_frame([]).columns) == ["table", "row_key", "rule", "outcome", "reason"]


def test_export_pipeline_nothing_under_ten_ships() -> None:
    frame = _two_way([(12, 9), (30, 40), (11, 15)], ["participants", "comparison"])
    suppressed = suppress_two_way(frame, "n", VALUE_COLS, "site", "group", EXPORT_MIN_CELL,
                                  "all", "all", ["outcome", "wave"])
    checked, checks = export_check("descriptives.csv", suppressed, "frequency", ["n"])
    shipped = round_counts(checked, ["n"])
    assert (shipped["n"].dropna() >= 10).all()
    assert all(c.outcome == "pass" for c in checks)
    assert _determined_hidden_cells(suppressed) == []


# --------------------------------------------------------------------------
# CSV injection
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+SUM(A1)", "'+SUM(A1)"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"),
     ("\tx", "'\tx"), ("\rx", "'\rx"), ("-3.2", "'-3.2"), ("site A", "site A"), ("", ""),
     (-3.2, -3.2), (5, 5), (None, None)],
)
def test_neutralize_formula(value: object, expected: object) -> None:
    assert neutralize_formula(value) == expected


def test_neutralize_frame_touches_text_only() -> None:
    frame = pd.DataFrame({
        "site": ["=HYPERLINK(\"http://x\")", "North", None],
        "estimate": [-3.2, 1.0, np.nan],
        "band": pd.Categorical(["@a", "b", "b"]),
        "=evil": [1, 2, 3],
    })
    out = neutralize_frame(frame)
    assert out["site"].tolist()[:2] == ["'=HYPERLINK(\"http://x\")", "North"]
    assert pd.isna(out["site"].iloc[2])
    assert out["estimate"].tolist()[:2] == [-3.2, 1.0]
    assert pd.api.types.is_float_dtype(out["estimate"])
    assert out["band"].tolist() == ["'@a", "b", "b"]
    assert "'=evil" in out.columns
    assert frame["site"].iloc[0].startswith("=")  # input untouched
