"""The house rules a layout change must keep: file and function size, private names.

``python -m tooling.check_structure`` prints every breach (exit 1) or ``all good``:
no Python file under ``analysis/``, ``ui/``, ``screens/`` or ``tooling/`` over
:data:`MAX_FILE_LINES` lines, no function over :data:`MAX_FUNCTION_LINES`, no import of
another module's ``_private`` name, and at most :data:`MAX_TOP_MODULES` plain modules at
the top of ``analysis/``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("analysis", "ui", "screens", "tooling")
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_TOP_MODULES = 3
OWN_PACKAGES = ("analysis", "ui", "tooling")


def breaches(root: Path = ROOT) -> list[str]:
    """Every breach of the rules under ``root``, one line each (empty when none)."""
    found: list[str] = []
    files = [root / "app.py"] + [p for f in FOLDERS for p in sorted((root / f).rglob("*.py"))]
    for path in files:
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(root)
        if source.count("\n") > MAX_FILE_LINES:
            found.append(f"{name}: {source.count(chr(10))} lines (at most {MAX_FILE_LINES})")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{name}:{node.lineno} {node.name}() is {length} lines")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(OWN_PACKAGES):
                found += [f"{name}: imports the private {node.module}.{a.name}"
                          for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    top = [p.name for p in (root / "analysis").glob("*.py")]
    if len(top) > MAX_TOP_MODULES:
        found.append(f"analysis/ has {len(top)} plain modules at its top: {sorted(top)}")
    return found


if __name__ == "__main__":
    problems = breaches()
    print("\n".join(problems) or "all good")
    sys.exit(1 if problems else 0)
