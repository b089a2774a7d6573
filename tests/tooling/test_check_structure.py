"""The layout keeps its house rules (issue 11): the check runs over the real tree."""

from __future__ import annotations

from pathlib import Path

from tooling.check_structure import breaches


def test_the_tree_keeps_the_house_rules():
    assert breaches() == []


def test_the_check_finds_a_long_function_and_a_private_import(tmp_path: Path):
    for folder in ("analysis", "ui", "screens", "tooling"):
        (tmp_path / folder).mkdir()
    (tmp_path / "app.py").write_text("from analysis.storage.store import _hidden\n")
    body = "\n".join(f"    x{i} = {i}" for i in range(90))
    (tmp_path / "analysis" / "long.py").write_text(f"def long():\n{body}\n")
    found = breaches(tmp_path)
    assert any("long() is 91 lines" in line for line in found)
    assert any("private analysis.storage.store._hidden" in line for line in found)
