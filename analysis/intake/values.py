"""The values an upload passes around: files in, previews, reports and results out.

Frozen records only (no database access); :mod:`analysis.intake.ingest`,
:mod:`analysis.intake.uploads` and the pages exchange them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis.intake.problems import Problem, has_errors, problems_frame

Kind = Literal["survey", "attendance"]
#: Called with (fraction 0-1, what is happening).
Progress = Callable[[float, str], None]
#: The file kinds an upload may hold, at most one of each.
KINDS: tuple[str, ...] = ("survey", "attendance")


def now() -> datetime:
    """The current UTC time without a time zone (as the database stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def with_changes(summary: FileSummary, **changes: object) -> FileSummary:
    """A copy of a file summary with some counts changed."""
    return dc_replace(summary, **changes)  # type: ignore[arg-type]


class UploadNotFound(LookupError):
    """No upload with that number (the message is safe to show)."""


@dataclass(frozen=True)
class UploadFile:
    """One uploaded file.

    Attributes
    ----------
    kind : {"survey", "attendance"}
    file_name : str
    data : bytes
    mapping : mapping of str to str, optional
        Source header to canonical name (a header mapped to ``""`` or None is not stored);
        None maps automatically (saved mappings, then :func:`normalize_header`).
    """

    kind: Kind
    file_name: str
    data: bytes
    mapping: Mapping[str, str | None] | None = None

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the bytes (an upload of the same bytes again changes nothing);
        computed once per file (an upload asks for it several times)."""
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def from_path(cls, kind: Kind, path: str | Path,
                  mapping: Mapping[str, str | None] | None = None) -> UploadFile:
        """Read a file from disk."""
        path = Path(path)
        return cls(kind, path.name, path.read_bytes(), mapping)


@dataclass(frozen=True)
class ScaleCoverage:
    """Whether a scale will be scored from an upload, and from what.

    ``source`` is ``items`` (computed from item answers), ``score`` (an uploaded scored
    column) or ``none``. ``missing_items`` lists the scale's item columns not in the file.
    """

    scale: str
    label: str
    instrument: str
    source: Literal["items", "score", "none"]
    missing_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    """What the upload page shows before validating: headers, mapping, first rows."""

    file_name: str
    kind: str
    headers: tuple[str, ...]
    mapping: dict[str, str | None]
    rows: pd.DataFrame
    encoding: str
    encoding_label: str
    delimiter: str
    scales: tuple[ScaleCoverage, ...]
    missing_required: tuple[str, ...]
    unmapped: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def readable(self) -> bool:
        """False when the file itself could not be read (see ``problems``)."""
        return not has_errors(self.problems)


@dataclass(frozen=True)
class FileSummary:
    """Counts for one file of an upload."""

    file_name: str
    kind: str
    rows: int = 0
    respondents: int = 0
    waves: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    replaced: int = 0
    skipped: int = 0
    unchanged: bool = False
    upload_id: int | None = None


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating an upload (nothing written).

    ``summary`` has one entry per file; a file already stored (same bytes) is not checked
    again and has ``unchanged=True`` (see :attr:`unchanged`).
    """

    problems: tuple[Problem, ...]
    ok: bool
    summary: dict[str, FileSummary]

    @property
    def unchanged(self) -> tuple[FileSummary, ...]:
        """The files already stored, which uploading again would skip."""
        return tuple(s for s in self.summary.values() if s.unchanged)

    def frame(self) -> pd.DataFrame:
        """The problems as a table (download as CSV with ``frame().to_csv(index=False)``)."""
        return problems_frame(self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")


@dataclass(frozen=True)
class IngestResult:
    """The outcome of :func:`ingest`.

    Attributes
    ----------
    status : {"applied", "refused", "unchanged"}
    upload_ids : tuple of int
        New uploads (empty unless applied).
    batch_id : int or None
    problems : tuple of Problem
        Errors (when refused) and warnings.
    summary : dict of str to FileSummary
        Per file name.
    """

    status: Literal["applied", "refused", "unchanged"]
    upload_ids: tuple[int, ...]
    batch_id: int | None
    problems: tuple[Problem, ...]
    summary: dict[str, FileSummary] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.summary.values() if s.kind == "survey")

    @property
    def replaced(self) -> int:
        return sum(s.replaced for s in self.summary.values())

    def frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    def message(self) -> str:
        """One paragraph saying what happened."""
        if self.status == "refused":
            n_err = sum(p.severity == "error" for p in self.problems)
            return (f"Nothing was stored: the upload was refused with {n_err} problem"
                    f"{'s' if n_err != 1 else ''} to fix. The database is exactly as before.")
        if self.status == "unchanged":
            return ("Nothing changed: these files were uploaded before and are already "
                    "stored.")
        parts = []
        for s in self.summary.values():
            if s.unchanged:
                parts.append(f"{s.file_name} was already stored (skipped)")
            elif s.kind == "survey":
                text = (f"{s.file_name}: {s.rows:,} survey rows from {s.respondents:,} "
                        f"respondents, {len(s.waves)} wave{'s' if len(s.waves) != 1 else ''} "
                        f"({', '.join(s.waves)}), {len(s.sites)} site"
                        f"{'s' if len(s.sites) != 1 else ''}")
                if s.replaced:
                    text += f"; {s.replaced:,} stored rows replaced"
                parts.append(text + f" (upload {s.upload_id})")
            else:
                text = f"{s.file_name}: {s.rows:,} sessions of {s.respondents:,} people"
                if s.skipped:
                    text += f"; {s.skipped:,} sessions already stored were skipped"
                parts.append(text + f" (upload {s.upload_id})")
        n_warn = sum(p.severity == "warning" for p in self.problems)
        tail = f" {n_warn} warning{'s' if n_warn != 1 else ''} to read." if n_warn else ""
        return f"Stored as batch {self.batch_id}. " + "; ".join(parts) + "." + tail


@dataclass(frozen=True)
class UndoResult:
    """What :func:`undo` took out and put back."""

    upload_id: int
    kind: str
    file_name: str
    rows_removed: int
    rows_restored: int

    def message(self) -> str:
        text = (f"Upload {self.upload_id} ({self.kind} file {self.file_name}) was taken out: "
                f"{self.rows_removed:,} rows removed")
        if self.rows_restored:
            text += f", {self.rows_restored:,} earlier rows it had replaced restored"
        return text + "."


@dataclass(frozen=True)
class StoreStatus:
    """What is stored, as the scope sees it."""

    uploads: int
    survey_rows: int
    attendance_rows: int
    respondents: int
    waves: tuple[str, ...]
    sites: tuple[str, ...]
    sample_present: bool
    last_upload_at: datetime | None

    def message(self) -> str:
        if not self.uploads:
            return "The database holds no data yet."
        sample = " The sample data is loaded." if self.sample_present else ""
        return (f"{self.uploads} upload{'s' if self.uploads != 1 else ''} applied: "
                f"{self.survey_rows:,} survey rows from {self.respondents:,} respondents, "
                f"{self.attendance_rows:,} attendance sessions; waves "
                f"{', '.join(self.waves) or '-'}; sites {', '.join(self.sites) or '-'}."
                + sample)
