"""The app's shared resources: the one Store per server process."""

from __future__ import annotations

import streamlit as st

from analysis.storage.store import Store, StoreUnavailable, default_db_path


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path, keep_derived=True)  # one panel and one set of guard atoms per data version, shared


def get_store() -> Store:
    """The process-wide Store (one root connection; pages take cursors from it).

    Shows a clear message and stops the page when the database cannot be opened
    (for example when another program holds it).
    """
    try:
        return _open_store(str(default_db_path()))
    except StoreUnavailable as error:
        st.error(str(error), icon=":material/lock:")
        st.stop()
        raise  # unreachable: st.stop() ends the script run
