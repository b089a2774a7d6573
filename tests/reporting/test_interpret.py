"""Plain-language sentences, caveats and the Lord's paradox note."""

import dataclasses

import pytest

from analysis.reporting.interpret import caveats, effect_size_word, lords_paradox_note, sentence
from analysis.stats.causal import ONE_PRE_WAVE
from analysis.stats.estimates import Estimate, not_enough


def make(analysis="did", estimate=-8.5, low=-9.6, high=-7.4, es=-0.6, kind="d_baseline_sd", n1=40, n0=60,
         **extra):
    return Estimate(analysis, "cbi_work", "2024-Q3", estimate, low, high, 0.001, n1, n0, es, kind,
                    extra=extra)


@pytest.mark.parametrize("value, word", [(0.0, "negligible"), (0.19, "negligible"), (-0.2, "small"),
                                         (0.49, "small"), (0.5, "moderate"), (-0.79, "moderate"),
                                         (0.8, "large"), (2.0, "large"), (None, None)])
def test_effect_size_words_follow_cohen(value, word):
    assert effect_size_word(value) == word


def test_did_sentence_keeps_the_tiles_sign():
    # Issue 15: the interval is signed as the estimate (participants minus comparison) is,
    # never flipped to match the words ("fell 8.5"), so page and report show one convention.
    assert sentence(make(), "work burnout", "points") == (
        "Participants' work burnout fell 8.5 points more than non-participants' (difference −8.5, "
        "95% CI −9.6 to −7.4) — a moderate effect.")


def test_sentence_when_interval_includes_zero():
    text = sentence(make(estimate=-1.2, low=-3.0, high=0.6, es=-0.1), "work burnout", "points",
                    wave_label="2024-Q3")
    assert text == ("Participants' work burnout fell 1.2 points more than non-participants' between "
                    "baseline and 2024-Q3 (difference −1.2, 95% CI −3.0 to 0.6) — the data cannot "
                    "rule out no effect.")
    # a raw comparison is a difference, never an effect; no size word when the interval spans 0
    raw = sentence(make(analysis="unadjusted", estimate=4.7, low=-1.0, high=10.4, es=0.9, kind="hedges_g"),
                   "client burnout")
    assert raw.endswith("— the data cannot rule out no difference.") and "large" not in raw


def test_unfavourable_effect_is_named():
    text = sentence(make(analysis="ancova", estimate=4.0, low=1.0, high=7.0, es=0.4, kind="d_follow_up_sd"),
                    "work burnout")
    assert text.startswith("Taking baseline scores into account, participants' work burnout was 4.0 "
                           "points higher")
    assert "unfavourable to participants" in text
    resilience = sentence(make(analysis="unadjusted", estimate=0.4, low=0.1, high=0.7, es=0.5,
                               kind="hedges_g"),
                          "resilience", "points", higher_is_worse=False)
    assert "unfavourable" not in resilience and "0.40 points higher" in resilience


def test_risk_difference_and_dose_sentences():
    rd = make(analysis="high_burnout_rd", estimate=-12.3, low=-20.1, high=-4.0, es=-0.3, kind="cohen_h",
              direction="high")
    assert sentence(rd, "work burnout", wave_label="2024-Q3") == (
        "The share of participants with high work burnout at 2024-Q3 was 12.3 percentage points lower than "
        "among non-participants (difference −12.3, 95% CI −20.1 to −4.0) — a small difference.")
    dose = make(analysis="dose_response", estimate=-0.42, low=-0.7, high=-0.1, es=None, kind=None, n0=None)
    assert sentence(dose, "work burnout") == (
        "Among participants, each extra session attended went with a fall of 0.42 points in work burnout "
        "(per session −0.42, 95% CI −0.70 to −0.10).")
    ipw = make(analysis="ipw", estimate=-3.0, low=-5.0, high=-1.0, es=-0.3, kind="d_follow_up_sd")
    assert sentence(ipw, "work burnout").startswith("Weighted for who joined, participants' work burnout fell")


def test_sentence_quotes_the_adjusted_p_of_a_family():
    est = make(estimate=-3.0, low=-5.0, high=-1.0, es=-0.3)
    est = dataclasses.replace(est, p_adjusted=0.0123, adjust_method="holm")
    text = sentence(est, "work burnout")
    assert "p = 0.012 adjusted for the outcomes looked at together, Holm" in text
    assert "p = 0.012" in text and "0.001" not in text


def test_not_enough_data_sentence():
    est = not_enough("fewer than 2 people in a group", analysis="did", outcome="cbi_work", wave="2024-Q3")
    assert sentence(est, "work burnout", wave_label="2024-Q3") == (
        "There is not enough data to compare work burnout at 2024-Q3: fewer than 2 people in a group.")
    assert caveats(est) == ["Not enough data: fewer than 2 people in a group."]


def test_caveats_for_did_with_selection_small_groups_and_low_alpha():
    est = make(estimate=-1.0, low=-4.0, high=2.0, n1=12, n0=15, baseline_smd=0.6)
    notes = caveats(est, reliability=0.62, trends=ONE_PRE_WAVE)
    text = " ".join(notes)
    assert "parallel trends" in notes[0]
    assert "regression to the mean" in text
    assert "Only one pre-program wave: parallel trends cannot be tested." in notes
    assert "Small groups (12 and 15 people)" in text
    assert "α = 0.62" in text
    assert notes[-1] == "The 95% CI includes zero: we cannot rule out no effect."


def test_caveats_clean_large_result():
    notes = caveats(make(analysis="ancova", n1=200, n0=300), reliability=0.85)
    assert notes == ["Assumes that people with the same baseline score would have scored alike later, "
                     "whichever group they were in."]


def test_lords_paradox_note_when_did_and_ancova_disagree():
    did_est = make(estimate=-6.0, low=-9.0, high=-3.0, baseline_participants=62.0, baseline_comparison=48.0)
    ancova_est = make(analysis="ancova", estimate=-1.0, low=-3.5, high=1.5, kind="d_follow_up_sd")
    note = lords_paradox_note(did_est, ancova_est)
    assert note is not None
    assert "Lord's paradox" in note and "participants started higher" in note
    assert "parallel trends" in note and "regression to the mean" in note
    opposite = make(analysis="ancova", estimate=2.0, low=0.5, high=3.5)
    assert lords_paradox_note(did_est, opposite) is not None


def test_no_lords_note_when_they_agree_or_missing():
    did_est = make(estimate=-6.0, low=-9.0, high=-3.0)
    assert lords_paradox_note(did_est, make(analysis="ancova", estimate=-5.0, low=-7.0, high=-3.0)) is None
    assert lords_paradox_note(did_est, not_enough("x", analysis="ancova")) is None


def test_accepts_estimates_frame_rows():
    import math

    from analysis.stats.compare import estimates_frame

    frame = estimates_frame([make(), not_enough("no participants", analysis="did", outcome="cbi_work")])
    ok_row, bad_row = frame.to_dict("records")
    assert sentence(ok_row, "work burnout") == sentence(make(), "work burnout")
    assert sentence(ok_row).startswith("Participants' cbi_work fell 8.5 points")
    assert sentence(bad_row).startswith("There is not enough data to compare cbi_work")
    assert caveats(ok_row)[0].startswith("Assumes both groups")
    row = dict(ok_row, status="insufficient", estimate=math.nan)
    assert sentence(row).startswith("There is not enough data")
    ancova_row = dict(ok_row, analysis="ancova", estimate=-1.0, ci_low=-3.0, ci_high=1.0)
    assert lords_paradox_note(ok_row, ancova_row) is not None


def test_docstring_examples():
    import doctest

    from analysis.reporting import interpret

    assert doctest.testmod(interpret).failed == 0
