"""Fuzz the upload: mutate a valid survey CSV thousands of ways and check the promise.

    python -m tooling.fuzz_ingest --cases 5000 [--seed 1] [--minutes 20]

The promise (DESIGN.md: "no upload is half-applied"): whatever bytes arrive,
:func:`analysis.intake.ingest.ingest` returns a clean ``IngestResult`` -- ``refused`` with its
problems, or ``applied`` / ``unchanged`` -- and never raises; after a refusal the database
is exactly as before (counts and a hash of every survey, attendance, upload and audit
row); after ``applied`` every row of the upload is stored. Applied uploads are undone
again so that each case starts from the same database.

``tests/intake/test_fuzz_ingest.py`` runs the same property with hypothesis on ~40 cases; this
script draws the mutations from a seeded ``random.Random`` and runs many more. It prints
one JSON line at the end: cases, outcomes, failures (with the mutations that caused them).
"""

from __future__ import annotations

import argparse
import codecs
import json
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from analysis.access.scope import LOCAL
from analysis.intake.ingest import ingest
from analysis.intake.uploads import undo
from analysis.intake.values import UploadFile
from analysis.storage.store import Store, first, single_value
from tooling.synthetic import SyntheticConfig, generate

#: A mutation is (name, parameter); the parameter picks position, character, encoding...
Mutation = tuple[str, int]
MUTATIONS = ("flip_byte", "swap_delimiter", "quote_char", "reencode", "shuffle_columns",
             "huge_field", "empty_lines", "random_unicode", "truncate", "bom", "crlf",
             "drop_header", "duplicate_header", "nul_bytes", "delete_line",
             "duplicate_line", "blank_field", "swap_fields")
_DELIMITERS = (";", "\t", "|", " ", ",,", "")
_ENCODINGS = ("utf-16", "utf-16-le", "cp1252", "mac_roman", "latin-1", "utf-32", "utf-8-sig")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE,
         codecs.BOM_UTF8 * 2)
_UNICODE = ("é", "’", "€", "\u200b", "\ufeff", "𝔘", "😀", "\u202e", "\x00", "\u00a0", "Ω",
            "\ud7ff", "ß", "\u0301", "\r", "\"", "'", "\\", "=1+1", "NULL", "NaN", "-0",
            "1e309", "99999999999999999999")


def base_survey_csv(n_people: int = 12, seed: int = 11) -> bytes:
    """A small valid survey upload (2 waves, CBI/Mini-Z/UCLA-3 items, some labels)."""
    data = generate(SyntheticConfig(n_people=n_people, n_waves=2, seed=seed))
    return data.survey.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def apply_mutation(data: bytes, mutation: Mutation) -> bytes:
    """One deterministic mutation of ``data`` (bytes in, bytes out)."""
    name, p = mutation
    p = abs(int(p))
    n = max(len(data), 1)
    if name == "flip_byte":
        i = p % n
        return data[:i] + bytes([(data[i:i + 1] or b"\0")[0] ^ (p % 255 + 1)]) + data[i + 1:]
    if name == "swap_delimiter":
        return data.replace(b",", _DELIMITERS[p % len(_DELIMITERS)].encode())
    if name == "quote_char":
        i = p % n
        return data[:i] + (b'"', b"'", b'""', b'"\n')[p % 4] + data[i:]
    if name == "reencode":
        return data.decode("utf-8", "replace").encode(_ENCODINGS[p % len(_ENCODINGS)], "replace")
    if name == "shuffle_columns":
        rows = [line.split(b",") for line in _lines(data)]
        width = len(rows[0])
        order = list(range(width))
        random.Random(p).shuffle(order)
        return b"\n".join(b",".join(r[i] for i in order if i < len(r)) if len(r) == width
                          else b",".join(r) for r in rows)
    if name == "huge_field":
        rows = _lines(data)
        r = 1 + p % max(len(rows) - 1, 1)
        fields = rows[r].split(b",") if r < len(rows) else [b""]
        fields[p % len(fields)] = (b"x", "é".encode(), b"1")[p % 3] * 100_000
        rows[min(r, len(rows) - 1)] = b",".join(fields)
        return b"\n".join(rows)
    if name == "empty_lines":
        rows = _lines(data)
        i = p % (len(rows) + 1)
        return b"\n".join(rows[:i] + [b""] * (1 + p % 3) + rows[i:])
    if name == "random_unicode":
        text = data.decode("utf-8", "replace")
        i = p % (len(text) + 1)
        extra = _UNICODE[p % len(_UNICODE)] if p % 3 else chr(p % 0x10FFFF or 1)
        return (text[:i] + extra + text[i:]).encode("utf-8", "surrogatepass")
    if name == "truncate":
        return data[:p % n]
    if name == "bom":
        return _BOMS[p % len(_BOMS)] + data
    if name == "crlf":
        return data.replace(b"\n", (b"\r\n", b"\r", b"\n\r")[p % 3])
    if name == "drop_header":
        return b"\n".join(_lines(data)[1:])
    if name == "duplicate_header":
        rows = _lines(data)
        return b"\n".join([rows[0]] + rows[: 1 + p % max(len(rows), 1)][:1] + rows[1:])
    if name == "nul_bytes":
        i = p % n
        return data[:i] + b"\0" * (1 + p % 4) + data[i:]
    if name == "delete_line":
        rows = _lines(data)
        del rows[p % len(rows)]
        return b"\n".join(rows)
    if name == "duplicate_line":
        rows = _lines(data)
        i = p % len(rows)
        return b"\n".join(rows[:i + 1] + [rows[i]] + rows[i + 1:])
    if name == "blank_field":
        rows = _lines(data)
        r = p % len(rows)
        fields = rows[r].split(b",")
        fields[(p // 7) % len(fields)] = b""
        rows[r] = b",".join(fields)
        return b"\n".join(rows)
    if name == "swap_fields":
        rows = _lines(data)
        r = 1 + p % max(len(rows) - 1, 1)
        if r < len(rows):
            fields = rows[r].split(b",")
            a, b = p % len(fields), (p // 11) % len(fields)
            fields[a], fields[b] = fields[b], fields[a]
            rows[r] = b",".join(fields)
        return b"\n".join(rows)
    raise ValueError(f"unknown mutation {name}")


def mutate(data: bytes, mutations: Sequence[Mutation]) -> bytes:
    for mutation in mutations:
        data = apply_mutation(data, mutation)
    return data


def checksum(store: Store) -> tuple:
    """Counts and a hash of every stored survey, attendance, upload and audit row."""
    parts = []
    with store.cursor() as cur:
        for table in ("uploads", "survey", "survey_replaced", "attendance", "audit_log",
                      "column_mappings"):
            count, digest = first(
                cur, f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), '|' "
                f"ORDER BY CAST(t AS VARCHAR)), '')) FROM {table} t")
            parts.append((table, count, digest))
    return tuple(parts)


def check_upload(store: Store, data: bytes, file_name: str = "survey.csv") -> str:
    """Ingest ``data`` as a survey file and check the promise; returns the outcome
    (``refused``, ``applied``, ``unchanged``). Raises AssertionError when it is broken;
    any other exception escaping ingest is itself the failure."""
    before = checksum(store)
    result = ingest(store, [UploadFile("survey", file_name, data)], LOCAL)
    assert result.status in ("refused", "applied", "unchanged"), result.status
    if result.status == "refused":
        errors = [p for p in result.problems if p.severity == "error"]
        assert errors, "refused without an error to show"
        for problem in errors:
            assert problem.text().strip(), "a problem without words"
        assert checksum(store) == before, "a refused upload changed the database"
        return "refused"
    if result.status == "unchanged":
        assert checksum(store) == before, "an unchanged upload changed the database"
        return "unchanged"
    assert result.upload_ids, "applied without an upload"
    with store.cursor() as cur:
        for upload_id in result.upload_ids:
            n_rows, status = first(
                cur, "SELECT n_rows, status FROM uploads WHERE upload_id = ?", [upload_id])
            stored = single_value(cur, "SELECT count(*) FROM survey WHERE upload_id = ?",
                                  [upload_id])
            assert status == "applied" and stored == n_rows > 0, (upload_id, n_rows, stored)
            assert n_rows == result.rows
    for upload_id in result.upload_ids:
        undo(store, upload_id, LOCAL)
    left = store.single_value("SELECT count(*) FROM survey WHERE upload_id IN (SELECT unnest(?))",
                              [list(result.upload_ids)])
    assert left == 0, "undo left rows behind"
    return "applied"


def draw_mutations(rng: random.Random) -> list[Mutation]:
    return [(rng.choice(MUTATIONS), rng.randrange(1 << 30)) for _ in range(rng.randint(1, 4))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after this long even if fewer cases ran")
    parser.add_argument("--db", default=None, help="database file (default: a temp file)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    base = base_survey_csv()
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    failures: list[dict] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ppi_fuzz_") as tmp, \
            Store(args.db or Path(tmp) / "fuzz.duckdb") as store:
        assert check_upload(store, base, "valid.csv") == "applied", "the base file is not valid"
        case = 0
        for case in range(1, args.cases + 1):
            mutations = draw_mutations(rng)
            data = mutate(base, mutations)
            try:
                outcomes[check_upload(store, data, f"case_{case}.csv")] += 1
            except Exception as error:  # noqa: BLE001 - every escape is a finding
                outcomes["FAILED"] += 1
                kinds[f"{type(error).__name__}: {str(error).splitlines()[0][:90]}"] += 1
                failures.append({"case": case, "mutations": mutations,
                                 "error": f"{type(error).__name__}: {error}"[:500],
                                 "where": traceback.format_exc().strip().splitlines()[-3:]})
            if case % 250 == 0:
                print(json.dumps({"progress": case, "outcomes": dict(outcomes),
                                  "seconds": round(time.monotonic() - start, 1)}),
                      file=sys.stderr, flush=True)
            if args.minutes and time.monotonic() - start > args.minutes * 60:
                break
    print(json.dumps({"cases": case, "seed": args.seed, "outcomes": dict(outcomes),
                      "failure_kinds": dict(kinds.most_common()),
                      "failures": failures[:20], "n_failures": len(failures),
                      "seconds": round(time.monotonic() - start, 1)}))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
