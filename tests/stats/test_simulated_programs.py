"""The headline estimators on simulated programs with a known effect (tooling.simulate_programs).

A handful of seeds only (the full run with its table is benchmarks/causal_simulation.py):
the bounds are wide enough to hold for any seed and narrow enough to catch the old
failures (early joiners biased the pooled DiD by +2 and more; ANCOVA by +2.6).
"""

from dataclasses import replace

import numpy as np
import pytest

from analysis.panel.index import PanelIndex
from analysis.stats.causal import ancova
from analysis.stats.dr_did import weighted_did
from analysis.stats.group_time import did_at_wave
from tooling.simulate_programs import SITUATIONS, simulate


def _errors(situation, estimator, seeds, n_people=500):
    errors, covered = [], []
    for seed in seeds:
        data = simulate(replace(SITUATIONS[situation], n_people=n_people), seed)
        index = PanelIndex(data.panel)
        for wave, truth in data.truth.items():
            est = estimator(data.panel, wave, index)
            errors.append(est.estimate - truth)
            covered.append(est.ci_low <= truth <= est.ci_high)
    return np.array(errors), np.array(covered)


def _did(panel, wave, index):
    return did_at_wave(panel, "cbi_work", wave, index=index)


def _ipw(panel, wave, index):
    return weighted_did(panel, "cbi_work", wave, method="ipw", index=index)


@pytest.mark.parametrize("situation", ["early_70", "site_rollout"])
def test_did_row_is_unbiased_and_covers(situation):
    errors, covered = _errors(situation, _did, range(4))
    assert abs(errors.mean()) < 1.0
    assert covered.mean() >= 0.75


@pytest.mark.slow
@pytest.mark.parametrize("situation", ["early_20", "everything"])
def test_did_and_ipw_in_harder_situations(situation):
    for estimator in (_did, _ipw):
        errors, covered = _errors(situation, estimator, range(6))
        assert abs(errors.mean()) < 1.0
        assert covered.mean() >= 0.75


def test_ancova_is_right_when_people_join_on_their_baseline_score_and_did_is_not():
    def _ancova(panel, wave, index):
        return ancova(panel, "cbi_work", wave, index=index)

    ancova_errors, _ = _errors("selection_baseline", _ancova, range(3))
    did_errors, _ = _errors("selection_baseline", _did, range(3))
    assert abs(ancova_errors.mean()) < 0.8
    assert did_errors.mean() < -1.0  # regression to the mean: the bracketing's other end


def test_simulator_answer_key():
    data = simulate(SITUATIONS["early_20"], 0)
    panel = data.panel
    assert set(data.truth) == {"W1", "W2", "W3"}
    assert all(-5.0 <= v <= -3.0 for v in data.truth.values())
    assert (panel.groupby("person")["sessions"].diff().dropna() >= 0).all()
    started = panel.loc[(panel["wave_index"] == 0), "sessions"].gt(0).mean()
    assert 0.03 < started < 0.15  # 20% of the ~40% who join
