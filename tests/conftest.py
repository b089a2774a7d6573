"""Shared fixtures: fresh stores in tmp_path, a sample-data store, CSV builders.

Databases are built here, never committed. The pseudonymization secret of every test
run lives in a temporary file (``PPI_SECRET_FILE``), never in the user's home.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from analysis.access.scope import LOCAL
from analysis.storage.store import Store


@pytest.fixture(autouse=True, scope="session")
def _secret_file(tmp_path_factory) -> Iterable[Path]:
    """A per-run pseudonymization key, outside the home folder."""
    path = tmp_path_factory.mktemp("secret") / "pseudonym.key"
    patch = pytest.MonkeyPatch()
    patch.setenv("PPI_SECRET_FILE", str(path))
    yield path
    patch.undo()


@pytest.fixture()
def store(tmp_path) -> Iterable[Store]:
    """A fresh, empty store in a temporary folder, pseudonymization switched off so that
    tests can read the IDs they wrote (tests/intake/test_pseudonymize.py checks the default)."""
    with Store(tmp_path / "test.duckdb") as s:
        s.set_setting("pseudonymize", "0")
        yield s


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, _secret_file) -> Path:
    """A database file with the sample data loaded once per run (copy it to change it)."""
    from analysis.intake.sample import load_sample  # noqa: PLC0415

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with Store(path) as s:
        result = load_sample(s, LOCAL)
        assert result.status == "applied", result.problems
    return path


@pytest.fixture()
def sample_store(sample_db, tmp_path) -> Iterable[Store]:
    """A private copy of the sample-data store (free to change)."""
    copy = tmp_path / "sample_copy.duckdb"
    shutil.copy(sample_db, copy)
    with Store(copy) as s:
        yield s


@pytest.fixture(autouse=True, scope="session")
def _close_cached_stores() -> Iterable[None]:
    """Close what the page runs left open before the interpreter shuts down.

    AppTest runs each page as ``__main__`` (its globals hold the page's Store) and keeps
    the app's Store in Streamlit's resource cache. A DuckDB object still alive at
    interpreter exit makes DuckDB's bindings print pages of "leaked instance" notices
    that bury pytest's summary, so the real ``__main__`` is put back, the caches are
    cleared, and every Store still open is closed and released.
    """
    import gc
    import sys

    main_module = sys.modules["__main__"]
    yield
    import streamlit as st

    sys.modules["__main__"] = main_module
    st.cache_resource.clear()
    st.cache_data.clear()
    gc.collect()
    for leftover in [o for o in gc.get_objects() if isinstance(o, Store)]:
        leftover.close()
        # A page module that outlived its run may still hold the Store: drop the Store's
        # own references so its DuckDB objects are freed now, not at interpreter exit.
        vars(leftover).clear()
    gc.collect()
