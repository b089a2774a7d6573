"""Admin → Settings: anonymity thresholds, participation rule, pseudonymisation, sign-in."""

from __future__ import annotations

import streamlit as st

from analysis.access import accounts
from analysis.access.scope import PermissionDenied
from analysis.access.settings import SETTING_SPECS, load_settings, save_setting
from ui import auth
from ui.page import admin_page_start, allowed_or_stop

NOTICE = "admin_settings_notice"

scope, store = admin_page_start("Settings",
                                "Rules that apply to everyone using this installation. Each change "
                                "is written to the audit log.")
allowed_or_stop(lambda: accounts.check_allowed(store, scope, "settings"))

if NOTICE in st.session_state:
    st.success(st.session_state.pop(NOTICE), icon=":material/check_circle:")

current = load_settings(store)
with st.form("settings"):
    chosen = {}
    for spec in SETTING_SPECS:
        label = spec.key.replace("_", " ").capitalize()
        value = getattr(current, spec.key)
        if (spec.minimum, spec.maximum) == (0, 1):
            chosen[spec.key] = int(st.toggle(label, value=bool(value), help=spec.description,
                                             key=f"setting_{spec.key}"))
        else:
            chosen[spec.key] = st.number_input(
                label, min_value=spec.minimum, max_value=spec.maximum, value=value, step=1,
                help=spec.description, key=f"setting_{spec.key}")
        st.caption(f"{spec.description} Allowed: {spec.minimum}–{spec.maximum}.")
    submitted = st.form_submit_button("Save settings", type="primary")

if submitted:
    changed = {k: v for k, v in chosen.items() if v != getattr(current, k)}
    try:
        for key, value in changed.items():
            save_setting(store, scope, key, int(value))
    except PermissionDenied as error:
        auth.show_permission_error(error)
    except ValueError as error:
        st.error(str(error))
    else:
        st.session_state[NOTICE] = (
            "Saved: " + ", ".join(f"{k} = {v}" for k, v in changed.items())
            if changed else "Nothing changed.")
        st.rerun()
