"""The synthetic sample data: load it (marked as sample), tell whether it is loaded, remove it."""

from __future__ import annotations

from pathlib import Path

from analysis.access.scope import Scope, require
from analysis.intake.ingest import ingest
from analysis.intake.uploads import undo_on
from analysis.intake.values import IngestResult, Progress, UploadFile
from analysis.storage import audit
from analysis.storage.store import Store, write_setting

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"


def has_sample(store: Store) -> bool:
    """Whether the sample data is loaded."""
    return bool(store.single_value("SELECT EXISTS (SELECT 1 FROM uploads WHERE is_sample AND "
                                   "status = 'applied')"))


def load_sample(store: Store, scope: Scope, progress: Progress | None = None) -> IngestResult:
    """Load ``data/sample/survey.csv`` and ``attendance.csv``, marked as sample data."""
    files = [UploadFile.from_path("survey", SAMPLE_DIR / "survey.csv"),
             UploadFile.from_path("attendance", SAMPLE_DIR / "attendance.csv")]
    return ingest(store, files, scope, is_sample=True, pseudonymize=False, progress=progress)


def remove_sample(store: Store, scope: Scope) -> int:
    """Take the sample data out (every sample upload undone) and keep it from coming back.

    Returns the number of uploads taken out. Raises StoreUnavailable when the database
    could not be written (nothing was changed).
    """
    require(scope, "undo")
    with store.translated_errors(), store.transaction() as cur:
        ids = [r[0] for r in cur.execute(
            "SELECT upload_id FROM uploads WHERE is_sample AND status = 'applied' "
            "ORDER BY upload_id DESC").fetchall()]
        for upload_id in ids:
            undo_on(cur, int(upload_id), scope)
        write_setting(cur, "sample_dismissed", "1")
        audit.record(cur, scope.user, "remove_sample", "ok", {"uploads": ids})
    return len(ids)
