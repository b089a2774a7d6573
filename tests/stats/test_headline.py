"""Which estimate leads, the DiD-ANCOVA bracket and the sensitivity numbers."""

from dataclasses import replace

from analysis.panel.index import PanelIndex
from analysis.stats.causal import ancova
from analysis.stats.dr_did import weighted_did
from analysis.stats.group_time import did_at_wave, event_study
from analysis.stats.headline import headline
from tooling.simulate_programs import SITUATIONS, simulate


def _estimates(situation, seed=1):
    data = simulate(replace(SITUATIONS[situation], n_people=600), seed)
    index = PanelIndex(data.panel)
    estimates = {
        "did": did_at_wave(data.panel, "cbi_work", "W3", index=index),
        "ancova": ancova(data.panel, "cbi_work", "W3", index=index),
        "dr_did": weighted_did(data.panel, "cbi_work", "W3", method="dr", index=index),
    }
    return estimates, event_study(data.panel, "cbi_work", index=index)


def test_credible_doubly_robust_estimate_leads_and_bracket_holds_both_ends():
    estimates, study = _estimates("staggered")
    result = headline(estimates, study)
    assert result.lead is estimates["dr_did"] and "doubly robust" in result.lead_reason
    low, high = result.bracket
    assert {low, high} == {estimates["did"].estimate, estimates["ancova"].estimate}
    assert result.e_value is not None and result.e_value.point > 1
    assert result.trends is not None and result.trends.largest_placebo is not None
    assert result.left_out == 0


def test_did_leads_when_the_weighting_is_not_credible():
    estimates, study = _estimates("early_20")
    dr = estimates["dr_did"]
    estimates["dr_did"] = replace(dr, status="not credible: balance after weighting is poor")
    result = headline(estimates, study)
    assert result.lead is estimates["did"] and "not credible" in result.lead_reason
    assert result.left_out > 0


def test_no_placebos_without_two_pre_program_waves():
    estimates, _ = _estimates("early_20")
    result = headline(estimates, None)
    assert result.trends.breakdown is None and "not possible" in result.trends.sentence
