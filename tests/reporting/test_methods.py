"""The methods note and the reliability caution, read from the declarations."""

from __future__ import annotations

import pytest

from analysis.definitions.instruments import SCALES, SCORED_COLUMNS
from analysis.reporting.methods import methods_text, scale_caution_text
from analysis.stats.reliability import Reliability, cronbach_alpha


def test_every_scale_is_described_with_citation_and_licence():
    text = methods_text(SCORED_COLUMNS)
    for scale in SCALES:
        assert f"`{scale.key}`" in text
        assert scale.label in text
    for phrase in ("Kristensen", "Stamm", "Demerouti", "Rohland", "Smith BW", "Hughes ME",
                   "Mind Garden", "proqol.org", "may not be sold"):
        assert phrase in text


def test_own_rules_and_cutoff_status_are_stated():
    text = methods_text(SCORED_COLUMNS)
    assert "The app's own choices" in text
    assert "Client-related burnout needs at least 3 of 6" in text
    assert "at least 8 of 10 items answered" in text           # ProQOL
    assert "2.25 or more" in text and "unconfirmed" in text     # OLBI
    assert "at least 4 of 6 items answered (app's rule)" in text  # BRS
    assert "t-score" in text and "never mixed" in text           # ProQOL bands
    assert "recommends analysing the scores as continuous" in text  # MBI
    assert "reversed item 13" in text
    assert "\"to a very high degree\" = 5" in text                 # CBI degree labels


def test_only_the_chosen_instruments_appear():
    text = methods_text(["cbi_work", "cbi_work"])
    assert "Copenhagen" in text and "ProQOL" not in text and "Maslach" not in text
    assert "Client-related" not in text
    assert text.count("### ") == 1


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="not_a_scale"):
        methods_text(["cbi_work", "not_a_scale"])


def test_nothing_scored():
    assert "No scale was scored" in methods_text([])


def test_caution_text():
    low = cronbach_alpha([[1, 2], [2, 1], [3, 3], [4, 2], [2, 4]])
    assert low.caution
    text = scale_caution_text(low, "Burnout (ProQOL)")
    assert "Burnout (ProQOL)" in text and "caution" in text and "95% CI" in text
    good = Reliability(0.85, 0.8, 0.9, 100, 6, False, "ok")
    assert scale_caution_text(good) == ""
    missing = cronbach_alpha([[1, 2], [2, 3]])
    assert "could not be estimated" in scale_caution_text(missing)
    assert "fewer than 3" in scale_caution_text(missing)


def test_docstring_examples():
    import doctest

    from analysis.reporting import methods

    assert doctest.testmod(methods).failed == 0
