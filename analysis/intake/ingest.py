"""Uploads: validate and load all-or-nothing. The API the upload page and the command line share.

Every function takes the viewer's :class:`~analysis.access.scope.Scope` and checks it here.
Preparing an upload (decode, stage, map, validate, check against stored data) is
:mod:`analysis.intake.prepare`; writing it is :mod:`analysis.intake.write`; undo, history
and status are :mod:`analysis.intake.uploads`; the sample data :mod:`analysis.intake.sample`.

Decisions
---------
- Same bytes again (SHA-256 of a file whose upload is applied): that file is skipped;
  when every file is, the result is ``unchanged`` and nothing is written.
- Survey rows whose (respondent_id, wave) is already stored refuse the upload, listing
  the pairs, unless ``replace=True``: then the stored rows move to ``survey_replaced``
  (``replaced_by`` = the new upload) and come back if the new upload is undone.
- Attendance: a session already stored (same respondent_id, session_date,
  session_type) is skipped with a warning, counted per key: a file holding a session
  twice adds the second copy only if the store does not already have two. A cumulative
  attendance export can therefore be uploaded again each quarter and only new sessions
  are added. Sessions of people with no survey row are stored, with a warning.
- Pseudonymization follows the caller when it says (``pseudonymize=True/False``), else
  the installation's setting ``pseudonymize``, which is on unless an administrator
  switched it off; IDs are replaced by keyed hashes before anything is stored. When
  pseudonymized data is stored and the key file is missing, the upload is refused.
- A practice manager's upload is checked against their own practices' stored rows only
  (:mod:`analysis.intake.scoped`); a new wave is registered in a fixed order
  (:mod:`analysis.intake.waves`); labels are normalised and refused when they carry
  markup (:mod:`analysis.intake.labels`).
- A refusal because of the data writes nothing (not even to the audit log, so the
  database is exactly as before); a refusal because of the viewer's scope is audited.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.access.scope import PermissionDenied, Scope, require
from analysis.intake.prepare import Refused, check_kinds, prepare_or_refuse
from analysis.intake.problems import Problem, has_errors, sort_problems
from analysis.intake.scratch import upload_workdir
from analysis.intake.stored_checks import already_applied, unchanged_warnings
from analysis.intake.values import FileSummary, IngestResult, Progress, UploadFile, ValidationReport
from analysis.intake.write import write
from analysis.storage import audit
from analysis.storage.store import Store


def _size(files: Sequence[UploadFile]) -> int:
    return sum(len(f.data) for f in files)


def validate_upload(store: Store, files: Sequence[UploadFile], scope: Scope,
                    pseudonymize: bool | None = None, *, replace: bool = False
                    ) -> ValidationReport:
    """Check an upload against the contract and the stored data; nothing is written.

    A file whose exact bytes are already stored (an applied upload with the same SHA-256)
    is skipped, as :func:`ingest` skips it: its summary has ``unchanged=True`` and the
    upload number, and one warning says so. A file that cannot be read is a refusal
    problem, never an exception.

    Raises
    ------
    PermissionDenied
        When the scope may not upload, or the files touch sites outside it.
    StoreUnavailable
        When the database cannot be read.
    """
    require(scope, "upload")
    check_kinds(files)
    with store.translated_errors(), \
            upload_workdir(_size(files)) as workdir, \
            store.cursor() as cur:
        applied = already_applied(cur, files)
        skipped = unchanged_warnings(cur, files)
        todo = [f for f in files if f.file_name not in applied]
        summary: dict[str, FileSummary] = {}
        problems: list[Problem] = list(skipped)
        if todo:
            prepared = prepare_or_refuse(cur, todo, scope, pseudonymize, replace, workdir)
            summary.update(prepared.summary)
            problems += prepared.problems
    for f in files:
        if f.file_name in applied:
            summary[f.file_name] = FileSummary(f.file_name, f.kind, unchanged=True,
                                               upload_id=applied[f.file_name][0])
    summary = {f.file_name: summary[f.file_name] for f in files if f.file_name in summary}
    problems = sort_problems(problems)
    return ValidationReport(tuple(problems), not has_errors(problems), summary)


def already_stored(store: Store, files: Sequence[UploadFile]) -> tuple[str, ...]:
    """Names of the files whose exact bytes (SHA-256) are already stored by an applied
    upload: :func:`ingest` skips them and :func:`validate_upload` reports them unchanged."""
    with store.translated_errors(), store.cursor() as cur:
        applied = already_applied(cur, files)
    return tuple(f.file_name for f in files if f.file_name in applied)


def ingest(store: Store, files: Sequence[UploadFile], scope: Scope, *, replace: bool = False,
           pseudonymize: bool | None = None, is_sample: bool = False,
           progress: Progress | None = None) -> IngestResult:
    """Validate and store an upload, all files or nothing.

    Parameters
    ----------
    store : Store
    files : sequence of UploadFile
        One survey file, one attendance file, or both.
    scope : Scope
        Needs ``upload`` on every site the files touch.
    replace : bool
        Replace stored survey rows with the same (respondent_id, wave).
    pseudonymize : bool or None
        Hash IDs before storage; None (the default) follows the installation's setting,
        which is on unless an administrator switched it off.
    is_sample : bool
        Marks the sample data (removable with :func:`remove_sample`).
    progress : callable, optional
        Called with (fraction 0–1, what is happening).

    Returns
    -------
    IngestResult
        ``refused`` with the problems when any error was found (nothing written),
        ``unchanged`` when every file was already stored, else ``applied``.

    Raises
    ------
    PermissionDenied
        Outside the scope (audited).
    StoreUnavailable
        The database could not be written (a full disk, a lost file ...): the
        transaction was rolled back, nothing was changed, and the message says so.
    """
    report = progress or (lambda fraction, text: None)
    require(scope, "upload")
    check_kinds(files)
    try:
        with store.translated_errors(), \
                upload_workdir(_size(files)) as workdir, \
                store.transaction(large=True) as cur:
            applied = already_applied(cur, files)
            todo = [f for f in files if f.file_name not in applied]
            skipped = unchanged_warnings(cur, files)
            if not todo:
                report(1.0, "Already stored")
                summary = {f.file_name: FileSummary(f.file_name, f.kind, unchanged=True,
                                                    upload_id=applied[f.file_name][0])
                           for f in files}
                return IngestResult("unchanged", (), None, tuple(skipped), summary)
            prepared = prepare_or_refuse(cur, todo, scope, pseudonymize, replace, workdir,
                                          report)
            prepared.problems = sort_problems(prepared.problems + skipped)
            if has_errors(prepared.problems):
                raise Refused(prepared)
            result = write(cur, prepared, scope, replace, is_sample, report)
            for f in files:
                if f.file_name in applied:
                    result.summary[f.file_name] = FileSummary(
                        f.file_name, f.kind, unchanged=True, upload_id=applied[f.file_name][0])
    except Refused as refused:
        report(1.0, "Refused")
        p = refused.prepared
        return IngestResult("refused", (), None, tuple(p.problems), p.summary)
    except PermissionDenied as denied:
        with store.translated_errors(), store.transaction() as cur:
            audit.record(cur, scope.user, "upload", "refused",
                         {"files": [f.file_name for f in files], "reason": str(denied)})
        raise
    report(1.0, "Done")
    return result
