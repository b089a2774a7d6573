"""A download is audited when it happens (the export page's download callback)."""

from __future__ import annotations

from analysis.access.scope import LOCAL
from analysis.storage.audit import read_log, record_download
from analysis.storage.store import Store


def test_a_download_writes_one_event_naming_the_file(tmp_path):
    with Store(tmp_path / "a.duckdb") as store:
        record_download(store, LOCAL, "bundle.zip", {"files": ["a.csv"]})
        with store.cursor() as cur:
            log = read_log(cur, LOCAL)
    row = log.loc[log["action"] == "download"].iloc[0]
    assert row["outcome"] == "ok" and '"file": "bundle.zip"' in row["detail"]
    assert row["username"] == LOCAL.user
