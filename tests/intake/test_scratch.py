"""The upload's working folder: memory-backed when there is room, else the default."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from analysis.intake import scratch
from analysis.intake.scratch import remove_stale, scratch_root, upload_workdir


def test_a_writable_folder_with_room_is_used(tmp_path: Path) -> None:
    assert scratch_root(1000, candidates=(tmp_path,)) == str(tmp_path)
    with upload_workdir(1000, candidates=(tmp_path,)) as workdir:
        assert Path(workdir).parent == tmp_path
        assert Path(workdir).name.startswith("ppi_upload_")
    assert not Path(workdir).exists()


def test_the_first_usable_candidate_wins(tmp_path: Path) -> None:
    missing, a_file, usable = tmp_path / "missing", tmp_path / "file", tmp_path / "ok"
    a_file.write_text("x")
    usable.mkdir()
    assert scratch_root(10, candidates=(missing, a_file, usable)) == str(usable)


def test_no_usable_candidate_falls_back_to_the_system_folder(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert scratch_root(10, candidates=(missing,)) is None
    with upload_workdir(10, candidates=(missing,)) as workdir:
        assert Path(workdir).parent == Path(tempfile.gettempdir())


def test_too_little_room_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    free = 10 * scratch.ROOM_MARGIN
    monkeypatch.setattr(scratch.shutil, "disk_usage",
                        lambda path: _Usage(free))
    fits = (free - scratch.ROOM_MARGIN) // scratch.ROOM_FACTOR
    assert scratch_root(fits, candidates=(tmp_path,)) == str(tmp_path)
    assert scratch_root(fits + 1, candidates=(tmp_path,)) is None


def test_a_folder_that_cannot_be_written_is_skipped(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Root may write anywhere, so the permission is what the check is told, not a chmod.
    monkeypatch.setattr(scratch.os, "access", lambda path, mode: False)
    assert scratch_root(10, candidates=(tmp_path,)) is None


def test_folders_left_by_a_killed_upload_are_removed_by_the_next(tmp_path: Path) -> None:
    old = time.time() - scratch.STALE_AFTER_SECONDS - 60
    stale = tmp_path / "ppi_upload_killed"
    stale.mkdir()
    (stale / "0_survey.csv").write_text("respondent_id\nP0001\n")
    os.utime(stale, (old, old))
    recent = tmp_path / "ppi_preview_running"
    recent.mkdir()
    other = tmp_path / "someone_elses"
    other.mkdir()
    os.utime(other, (old, old))
    with upload_workdir(10, candidates=(tmp_path,)) as workdir:
        assert Path(workdir).exists()
        assert not stale.exists()
        assert recent.exists() and other.exists()
    assert remove_stale(tmp_path) == 0
    assert remove_stale(tmp_path / "missing") == 0


class _Usage:
    def __init__(self, free: int) -> None:
        self.total, self.used, self.free = free, 0, free
