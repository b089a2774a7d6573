"""Peer Program Impact: the Streamlit entry point.

Signs the viewer in (or runs the local single-user session), opens the store on the
sample data when it is empty, and offers the pages the viewer's role allows. Access is
enforced again inside ``analysis/``: hiding a page here is convenience only.
"""

from __future__ import annotations

import gc
import sys

import streamlit as st

from analysis.access.scope import PermissionDenied, Scope
from analysis.intake.sample import has_sample, load_sample
from analysis.intake.uploads import has_data
from analysis.storage.store import StoreUnavailable
from ui import auth
from ui.icon import page_icon
from ui.state import get_store

st.set_page_config(
    page_title="Peer Program Impact",
    page_icon=page_icon(),  # drawn locally: a material icon here is fetched from Google
    layout="wide",
)

# The first run of a fresh server loads the statistics libraries (several seconds):
# say so, instead of a blank page.
if "analysis.reporting.report" not in sys.modules:
    starting = st.empty()
    with starting.status("Starting the app: loading the statistics libraries (first start "
                         "of the server only, a few seconds)…"):
        import analysis.reporting.report  # noqa: F401 - imported here to say so above
        import ui.charts  # noqa: F401
    starting.empty()
    # The libraries' ~200k objects live as long as the server: kept out of the garbage
    # collector's sight, Streamlit's full collection after every run takes milliseconds
    # instead of ~0.15 s during which no viewer's page is sent.
    gc.freeze()

store = get_store()
scope: Scope = auth.gate(store)

# First start on an empty database opens on the sample data, labelled as such (only
# for a viewer who may load data for every practice: the sample spans all of them).
if scope.may("upload") and scope.practices is None and \
        store.get_setting("sample_dismissed") != "1" and not has_data(store):
    # A progress line (reading, checking, storing), then the page's own "Computing the
    # results…" while the first report is built.
    loading = st.progress(0.0, text="Loading the sample data for a first look…")
    try:
        load_sample(store, scope, progress=lambda fraction, text: loading.progress(
            min(max(fraction, 0.0), 1.0), text=f"Loading the sample data: {text}"))
    except (PermissionDenied, StoreUnavailable) as error:
        st.warning(f"The sample data could not be loaded: {error}")
    loading.empty()

if has_sample(store):
    st.info(
        "You are looking at **sample data**: synthetic professionals in fictional "
        "practices, made to show what the app does."
        + (" Upload your own files on the Upload page; remove the sample data from Import "
           "history." if scope.may("undo") and scope.practices is None else ""),
        icon=":material/science:",
    )

dashboards = [
    st.Page("screens/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("screens/impact.py", title="Impact", icon=":material/insights:"),
    st.Page("screens/participation.py", title="Participation", icon=":material/groups:"),
    st.Page("screens/practices.py", title="Practices", icon=":material/grid_view:"),
    st.Page("screens/data_quality.py", title="Data quality", icon=":material/fact_check:"),
    st.Page("screens/glossary.py", title="Glossary", icon=":material/menu_book:"),
]
sections: dict[str, list] = {"Dashboards": dashboards}
if scope.may("upload"):
    sections["Data"] = [
        st.Page("screens/upload.py", title="Upload", icon=":material/upload_file:"),
        st.Page("screens/history.py", title="Import history", icon=":material/history:"),
    ]
if scope.may("export"):
    sections["Research"] = [
        st.Page("screens/export.py", title="Researcher export", icon=":material/download:"),
        st.Page("screens/consortium.py", title="Consortium", icon=":material/hub:"),
    ]
admin = []
if scope.may("accounts"):
    admin.append(st.Page("screens/admin_accounts.py", title="Accounts",
                         icon=":material/manage_accounts:"))
if scope.may("settings"):
    admin.append(st.Page("screens/admin_settings.py", title="Settings",
                         icon=":material/settings:"))
if scope.may("audit"):
    admin.append(st.Page("screens/admin_audit.py", title="Audit log",
                         icon=":material/policy:"))
if admin:
    sections["Admin"] = admin

# Every page listed: an administrator has 13, and Streamlit folds a menu of more than 12
# behind "View 3 more", which hid Accounts and Settings.
navigation = st.navigation(sections, expanded=True)
# A bookmarked page asked for before sign-in opens now, when the role has it (after
# st.navigation, which replaces the sign-in screen's pages with these).
wanted = auth.take_requested_page()
target = next((p for group in sections.values() for p in group
               if wanted and p.url_path == wanted), None)
if target is not None:
    st.switch_page(target)
navigation.run()
