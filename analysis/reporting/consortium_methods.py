"""The methods note of a consortium meta-analysis (``methods.md`` of ``combine``).

What was pooled, the model, the interval, heterogeneity in words, and the disclosure
rules the output follows. Plain functions: a :class:`CombineResult` in, Markdown out.
"""

from __future__ import annotations

import pandas as pd

from analysis.reporting import consortium
from analysis.reporting.consortium import CombineResult

__all__ = ["heterogeneity_sentence", "methods_note"]

_MODEL = {
    "REML": ("Random effects: each organization's true effect may differ; the pooled estimate is "
             "their average. The between-organization variance tau² is estimated by restricted "
             "maximum likelihood (Fisher scoring, as R's metafor `rma(method = \"REML\")`)."),
    "DL": ("Random effects: each organization's true effect may differ; the pooled estimate is "
           "their average. tau² by the DerSimonian-Laird moment estimator."),
    "FE": ("Fixed effect: all organizations are assumed to share one true effect (tau² = 0); the "
           "pooled estimate is the inverse-variance weighted mean. Use it only when the "
           "organizations and their programs are alike; heterogeneity is still reported."),
}
_INTERVAL = {
    "knha": ("The 95% confidence interval uses the Hartung-Knapp-Sidik-Jonkman (HKSJ) adjustment: "
             "the variance of the pooled estimate is scaled by the weighted residual variance and "
             "the interval uses t with k - 1 degrees of freedom (metafor `test = \"knha\"`). It keeps "
             "close to its nominal coverage with few organizations, where the classical z interval "
             "is too narrow; with k = 2 it is very wide, as it should be. The 95% prediction "
             "interval, pooled estimate ± t(k - 1) · sqrt(SE² + tau²) (metafor `predict()`), is "
             "where the effect in a new organization like these would be expected to lie."),
    "z": ("The 95% confidence interval is the Wald interval, estimate ± 1.96 · SE. No prediction "
          "interval is given: the fixed-effect model assumes there is no between-organization "
          "variation to predict."),
}


def heterogeneity_sentence(row: pd.Series) -> str:
    """Heterogeneity of one pooled row in words (I², tau², Q and the prediction interval)."""
    i2 = float(row["i2"])
    size = ("little" if i2 < 25 else "moderate" if i2 < 50 else "substantial" if i2 < 75
            else "considerable")
    stats = (f"tau² = {float(row['tau2']):.3g}; Q = {float(row['q']):.2f} on {int(row['k']) - 1} df, "
             f"p = {float(row['q_p_value']):.3g}")
    if i2 < 0.5:
        text = (f"I² = 0%: the organizations' estimates differ no more than chance alone would "
                f"make them differ ({stats}).")
    else:
        text = (f"I² = {i2:.0f}%: {size} heterogeneity; about {i2:.0f}% of the spread of the "
                f"organizations' estimates reflects real differences between them rather than "
                f"chance ({stats}).")
    if pd.notna(row.get("pi_low")):
        text += (f" A new organization's effect would be expected between "
                 f"{float(row['pi_low']):.2f} and {float(row['pi_high']):.2f}.")
    if int(row["k"]) < 5:
        text += " With fewer than 5 organizations, tau² and I² are very imprecise."
    return text


def methods_note(result: CombineResult) -> str:
    """``methods.md`` for a combine run."""
    pooled = result.pooled
    lines = ["# Consortium meta-analysis: methods", "",
             "## What was pooled", "",
             f"{result.n_bundles} researcher bundles, each verified against its manifest (SHA-256 of "
             "every file and of the manifest itself) before anything was read. Every bundle holds "
             "one organization's disclosure-checked estimates; no row-level data was pooled.", "",
             f"For each analysis, outcome (and scale version: outcomes scored by different rules are "
             f"never pooled together) and wave, the estimates of every organization that had one "
             f"were pooled. Waves were aligned by {_align_text(result.align)}. Suppressed estimates "
             "and risk differences (no standard error: their Newcombe interval is not symmetric) "
             "were left out. "
             + (f"{result.not_pooled} estimate(s) were present in only one bundle and were not pooled."
                if result.not_pooled else ""), ""]
    if not pooled.empty:
        lines += [f"Pooled: {len(pooled)} estimates from k = {int(pooled['k'].min())} to "
                  f"{int(pooled['k'].max())} organizations.", ""]
    test = "z" if result.method == "FE" else "knha"
    lines += ["## Model", "", _MODEL[result.method], "", _INTERVAL[test], "",
              "Heterogeneity: Cochran's Q (chi-square on k - 1 df), I² = 100 · tau² / (tau² + typical "
              "within-organization variance), in percent as metafor reports it. Leave-one-out "
              f"(`leave_one_out.csv`, 3 <= k <= {consortium.MAX_K_LEAVE_ONE_OUT}) shows how much the "
              "result rests on any one organization. "
              f"Egger's regression test and the funnel plot are given when k >= {consortium.MIN_K_EGGER}; "
              "with fewer organizations the test has too little power. Meta-regression on program "
              "type and size band (`meta_regression.csv`, mixed-effects model with the same tau² "
              f"estimator and interval) is run when there are at least {consortium.MIN_K_PER_DESCRIPTOR} "
              f"organizations per descriptor and at least {consortium.MIN_PER_LEVEL} organizations in "
              "each of a descriptor's levels. Differences between organizations are observational: "
              "a descriptor that explains heterogeneity is a lead, not proof.", "",
              "The numbers agree with R's metafor 3.8 (`rma(yi, sei = sei, method = \"REML\", test = "
              "\"knha\")`, `predict()`, `leave1out()`, `regtest()`, `rma(mods = ...)`) to 1e-6 "
              "(relative), checked in the test suite.", ""]
    lines += _headline_lines(pooled)
    lines += ["## Disclosure", "",
              "- Only what the bundles already carried was used: every estimate passed its "
              "organization's own output checks (minimum cell, residual df, rounding) before export.",
              "- Organizations are named only when they chose a label at export. The others are "
              "\"Organization A\", \"B\", ... lettered in the order of their manifests' SHA-256, "
              "which says nothing about who they are or in which order the files were given.",
              "- An anonymous organization's program type or size band is shown only when at least "
              f"{consortium.MIN_PER_LEVEL} organizations share it; meta-regression needs the same.",
              "- Participant counts in `pooled.csv` are sums of counts each bundle had already rounded "
              "to a multiple of 5.",
              "- Exact degrees of freedom never leave an organization: bundles carry a band "
              "(`df_class`) of each estimate's own inference df (Satterthwaite df for the CR2 standard "
              "error of `did`); `under 10` means few clusters, so that study's standard error is "
              "itself uncertain.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _align_text(align: str) -> str:
    return ("their labels (the same wave label in every bundle)" if align == "labels" else
            "months since baseline (each wave's survey window compared with the baseline's, "
            "in whole months); a wave is named `month N`")


def _headline_lines(pooled: pd.DataFrame) -> list[str]:
    did = pooled.loc[pooled["analysis"] == "did"] if not pooled.empty else pooled
    if did.empty:
        return []
    lines = ["## Heterogeneity of the difference-in-differences estimates", ""]
    for _, row in did.iterrows():
        lines.append(f"- **{row['outcome']}, {row['wave']}** (k = {int(row['k'])}): pooled "
                     f"{float(row['estimate']):.2f} (95% CI {float(row['ci_low']):.2f} to "
                     f"{float(row['ci_high']):.2f}). " + heterogeneity_sentence(row))
    return [*lines, ""]
