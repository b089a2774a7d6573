"""Consortium: pool several organizations' researcher bundles (meta-analysis)."""

from __future__ import annotations

import streamlit as st

from analysis.access.scope import PermissionDenied
from analysis.reporting.consortium import (
    ALIGNMENTS,
    BundleRefused,
    combine_uploaded,
    combined_zip,
    public_studies,
)
from analysis.reporting.consortium_methods import heterogeneity_sentence, methods_note
from analysis.stats.meta import METHODS
from analysis.views.consortium_figures import forest_plot, funnel_plot, group_rows
from ui.auth import current_scope, show_permission_error

scope = current_scope()
st.title("Consortium meta-analysis", anchor=False)
st.caption("Pool the researcher bundles of several organizations: no row of anyone's data "
           "is pooled, only each organization's own disclosure-checked estimates.")

uploads = st.file_uploader("Researcher bundles (.zip, one per organization)", type="zip",
                           accept_multiple_files=True, key="bundles")
left, right = st.columns(2)
align = left.radio("Match waves by", ALIGNMENTS, horizontal=True,
                   format_func={"labels": "wave label", "months": "months since baseline"}.get)
method = right.selectbox("Model", METHODS, help="REML or DL: random effects with the "
                         "Hartung-Knapp-Sidik-Jonkman interval; FE: fixed effect")
if len(uploads or []) < 2:
    st.info("Upload at least two bundles made with *Researcher export*.", icon=":material/upload:")
    st.stop()

try:
    result = combine_uploaded(scope, [(f.name, f.getvalue()) for f in uploads],
                              align=align, method=method)
except PermissionDenied as error:
    show_permission_error(error)
    st.stop()
except BundleRefused as refused:
    st.error("Nothing was combined: " + " ".join(f"\n- {p}" for p in refused.problems),
             icon=":material/gpp_bad:")
    st.stop()

if result.pooled.empty:
    st.warning("No estimate is present in two or more bundles.")
    st.stop()
st.success(f"{result.n_bundles} bundles verified; {len(result.pooled)} estimates pooled.",
           icon=":material/verified:")
for note in result.notes:
    st.caption(note)

analyses = sorted(result.pooled["analysis"].unique(), key=lambda a: (a != "did", a))
analysis = st.selectbox("Analysis", analyses)
pooled = result.pooled.loc[result.pooled["analysis"] == analysis]
st.dataframe(pooled, hide_index=True, width="stretch")

pairs = list(dict.fromkeys(zip(pooled["outcome"], pooled["wave"])))
outcome, wave = st.selectbox("Outcome and wave", pairs, format_func=lambda p: f"{p[0]}, {p[1]}")
rows, row = group_rows(result.studies, result.pooled, analysis, outcome, wave)
if row is not None:
    st.markdown(heterogeneity_sentence(row))
chart = forest_plot(rows, row, outcome)
st.plotly_chart(chart.figure, width="stretch")
st.caption(chart.alt)
egger = None
if not result.egger.empty:
    hit = result.egger.loc[(result.egger["analysis"] == analysis) & (result.egger["outcome"] == outcome)
                           & (result.egger["wave"] == wave)]
    egger = hit.iloc[0] if len(hit) else None
funnel = funnel_plot(rows, row, outcome, egger)
st.plotly_chart(funnel.figure, width="stretch")
st.caption(funnel.alt)

with st.expander("Leave-one-out, meta-regression and the organizations' estimates"):
    for name, frame in (("Leave-one-out", result.leave_one_out), ("Meta-regression", result.meta_regression)):
        if not frame.empty:
            st.markdown(f"**{name}**")
            st.dataframe(frame.loc[(frame["analysis"] == analysis) & (frame["outcome"] == outcome)
                                   & (frame["wave"] == wave)], hide_index=True, width="stretch")
    st.markdown("**Organizations**")
    st.dataframe(public_studies(rows), hide_index=True, width="stretch")

with st.expander("Methods note"):
    st.markdown(methods_note(result))
st.download_button("Download pooled results and methods (.zip)", combined_zip(result),
                   file_name="consortium_meta_analysis.zip", mime="application/zip",
                   icon=":material/download:")
