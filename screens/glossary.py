"""Glossary: the dashboards' words, what they mean, and the technical names."""

from __future__ import annotations

import streamlit as st

from analysis.views.glossary import GLOSSARY

st.title("Glossary", anchor=False)
st.caption("The words the dashboards use, in plain language, with the technical name a "
           "statistician would look for.")
for term in GLOSSARY:
    st.header(term.term, anchor=False)
    st.markdown(term.meaning)
    if term.technical:
        st.caption(f"Technical name: {term.technical}")
