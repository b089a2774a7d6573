"""Check the hardening issue's "done when" for oversized inputs, at full size.

Builds four hostile files in a scratch folder — a CSV with 5 million header fields, one
with 20,000 columns, one with a 40 MB line, and an .xlsx whose sheet XML inflates past
300 MB — and feeds each to ``python -m analysis ingest`` under a 4 GiB address-space
cap, against a database holding the sample data. For each it reports the exit status
(2 expected), the wall time (under 60 s expected), the child's peak memory, whether the
database is unchanged, and whether any temporary file was left behind.

Run: ``python -m tooling.check_input_limits [--cap-gib 4] [--keep DIR]``. Exits 0 when
every file is refused as expected, 1 otherwise. Speed is measured here, never in tests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT_SECONDS = 60
_HEADER = ("respondent_id,wave,survey_date,site,role,cbi_1,cbi_2,cbi_3,cbi_4,cbi_5,cbi_6")


def _header_fields(path: Path) -> Path:
    path.write_bytes(b"f," * 5_000_000 + b"g\n" + b"1\n")
    return path


def _wide(path: Path) -> Path:
    names = ",".join(f"column_{i}" for i in range(20_000))
    values = ",".join("1" for _ in range(20_000))
    path.write_text(f"{names}\n" + f"{values}\n" * 5, encoding="utf-8")
    return path


def _long_line(path: Path) -> Path:
    row = "P0001,w1,2025-02-01,Harbor,counselor,1,2,3,4,5,"
    path.write_text(f"{_HEADER}\n{row}{'9' * (40 << 20)}\n", encoding="utf-8")
    return path


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
         'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
         '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.'
             'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
             'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name='
             '"Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://'
                  'schemas.openxmlformats.org/package/2006/relationships"><Relationship '
                  'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                  'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                  '</Relationships>')


def _inflating_workbook(path: Path, sheet_bytes: int = 320 << 20) -> Path:
    """A valid .xlsx whose first sheet's XML is ``sheet_bytes`` long (highly compressible)."""
    cells = "".join(f'<c t="inlineStr"><is><t>value {i}</t></is></c>' for i in range(11))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://'
                        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            written, number = 0, 1
            block = []
            while written < sheet_bytes:
                row = f'<row r="{number}">{cells}</row>'.encode()
                block.append(row)
                written += len(row)
                number += 1
                if len(block) >= 10_000:
                    sheet.write(b"".join(block))
                    block = []
            sheet.write(b"".join(block) + b"</sheetData></worksheet>")
    return path


def _fingerprint(db: Path) -> str:
    from analysis.storage.store import Store  # noqa: PLC0415

    with Store(db, read_only=True) as store, store.cursor() as cur:
        parts = [str(cur.execute(f"SELECT count(*), md5(string_agg(t::VARCHAR, '|' ORDER BY "
                                 f"t::VARCHAR)) FROM {table} t").fetchone())
                 for table in ("uploads", "survey", "attendance", "wave_registry")]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def _capped(cap_bytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))
    return limit


@dataclass(frozen=True)
class Outcome:
    """One refused (or not) file: exit status, wall time, peak memory, first message."""

    exit: int
    seconds: float
    peak_mib: int
    message: str
    leftovers: tuple[str, ...]


def _run(file: Path, db: Path, scratch: Path, cap_bytes: int) -> Outcome:
    env = dict(os.environ, TMPDIR=str(scratch), PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "analysis", "ingest", "--db", str(db), "--survey",
             str(file)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
            preexec_fn=_capped(cap_bytes))
        # wait4 gives this child's own peak memory (ru_maxrss, KiB on Linux).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        err.seek(0)
        message = (err.read().strip().splitlines() or [""])[0][:150]
    return Outcome(child.returncode, round(seconds, 1), round(usage.ru_maxrss / 1024), message,
                   tuple(sorted(p.name for p in scratch.iterdir())))


def main(argv: list[str] | None = None) -> int:
    """Build the files, run each, print one line per file; 0 when all are refused."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-gib", type=float, default=4.0)
    parser.add_argument("--keep", type=Path, help="build the files here and keep them")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="ppi_limits_"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "check.duckdb"
    if not db.exists():
        subprocess.run([sys.executable, "-m", "analysis", "demo", "--db", str(db)], cwd=ROOT,
                       check=True, capture_output=True)
    files = {
        "5M header fields": (_header_fields, "fields.csv"),
        "20k columns": (_wide, "wide.csv"),
        "40 MB line": (_long_line, "long_line.csv"),
        "xlsx inflating to 320 MB": (_inflating_workbook, "inflating.xlsx"),
    }
    ok = True
    for label, (build, name) in files.items():
        path = work / name
        if not path.exists():
            build(path)
        scratch = work / f"tmp_{name}"
        scratch.mkdir(exist_ok=True)
        before = _fingerprint(db)
        result = _run(path, db, scratch, int(args.cap_gib * (1 << 30)))
        unchanged = _fingerprint(db) == before
        passed = result.exit == 2 and result.seconds < TIME_LIMIT_SECONDS and \
            unchanged and not result.leftovers
        ok &= passed
        print(f"{'ok  ' if passed else 'FAIL'} {label:<26} {path.stat().st_size / 1e6:7.1f} MB "
              f"exit {result.exit}  {result.seconds:>5} s  peak {result.peak_mib} MiB  "
              f"db unchanged: {unchanged}  temp files left: {len(result.leftovers)}\n"
              f"     {result.message}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
