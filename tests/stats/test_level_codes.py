"""Level numbers of a covariate (regression.level_codes) against the text factorization they replace."""

import numpy as np
import pandas as pd
import pytest

from analysis.stats.regression import absorbed_factor, level_codes


def _reference(column: pd.Series) -> tuple[np.ndarray, int]:
    codes, levels = pd.factorize(column.astype("string").fillna("missing"), sort=True)
    return codes.astype("int64"), len(levels)


SITES = ["Practice 002", "Practice 010", "Practice 001", "Practice 002", "Practice 010", "Practice 010"]


@pytest.mark.parametrize(
    "column",
    [
        # sorted text categories with an unused one: the renumbering path
        pd.Series(pd.Categorical(SITES, categories=["Practice 001", "Practice 002", "Practice 003", "Practice 010"])),
        pd.Series(pd.Categorical(SITES)).astype(pd.CategoricalDtype(pd.Index(sorted(set(SITES)), dtype="string"))),
        # unsorted categories, a missing value, numbers as categories, plain text: through the text
        pd.Series(pd.Categorical(SITES, categories=["Practice 010", "Practice 002", "Practice 001"])),
        pd.Series(pd.Categorical([*SITES, None])),
        pd.Series(pd.Categorical([3, 1, 2, 10, 1])),
        pd.Series([*SITES, None], dtype="string"),
        pd.Series([*SITES, None], dtype=object),
        pd.Series(pd.Categorical([], categories=["a", "b"])),
    ],
)
def test_level_codes_match_the_text_factorization(column):
    codes, levels = level_codes(column)
    expected_codes, expected_levels = _reference(column)
    assert levels == expected_levels
    np.testing.assert_array_equal(codes, expected_codes)


def test_absorbed_factor_takes_the_covariate_with_most_levels():
    pairs = pd.DataFrame({"site": pd.Categorical(SITES), "role": pd.Categorical(["a", "b"] * 3), "x": range(6)})
    absorbed = absorbed_factor(pairs, ["role", "site", "x"])
    assert absorbed is not None and absorbed.name == "site" and absorbed.levels == 3
    np.testing.assert_array_equal(absorbed.codes, [1, 2, 0, 1, 2, 2])
