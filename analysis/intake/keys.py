"""Respondent keys of an upload: the IDs as its files hold them, and as they are stored.

Staged files keep each respondent's ID as written, trimmed (``_key``). When the upload is
pseudonymized, :func:`map_keys` hashes each distinct ID of all its files once into the
temporary table :data:`KEY_MAP` (``raw`` → ``stored``), and the rest of the upload meets
the stored data through it:

* checks within the files (duplicates, people, attendance against the survey file)
  compare the IDs as written;
* checks against the stored data read the stored rows with the ID of this upload each
  stands for (:func:`stored_rows_sql`): a few rows per person of this upload, not a
  million;
* the write stores the pseudonym, joined in the ``INSERT`` (:func:`stored_key_sql`).

Rewriting a million staged IDs in place (an ``UPDATE``) cost as much as the checks.
It is still what happens when two IDs of the upload have the same pseudonym (they differ
only by characters Python strips and SQL's ``trim`` keeps, such as a no-break space):
comparing them as written would then split one person in two.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from analysis.intake.pseudonymize import pseudonym_sql
from analysis.storage.store import single_value

#: The temporary table mapping each ID of the upload (``raw``) to its pseudonym (``stored``).
KEY_MAP = "upload_keys"


def map_keys(cur: duckdb.DuckDBPyConnection, tables: Sequence[str], secret: bytes) -> bool:
    """Make :data:`KEY_MAP` from the ``_key`` of the staged ``tables`` (our own names).

    Returns True when the staged tables keep the IDs as written (each pseudonym stands
    for one of them), False when two IDs share a pseudonym: each ``_key`` is then
    replaced by its pseudonym, and the map is not needed.
    """
    hashed, params = pseudonym_sql("raw", secret)
    ids = " UNION ".join(f"SELECT DISTINCT _key AS raw FROM {t} WHERE _key IS NOT NULL"
                         for t in tables)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {KEY_MAP} AS SELECT raw, {hashed} AS stored "
                f"FROM ({ids})", params)
    one_to_one = single_value(
        cur, f"SELECT count(*) = count(DISTINCT stored) FROM {KEY_MAP}")
    if one_to_one:
        return True
    for table in tables:
        cur.execute(f"UPDATE {table} SET _key = m.stored FROM {KEY_MAP} m "
                    f"WHERE {table}._key = m.raw")
    return False


def stored_rows_sql(relation: str, keyed: bool) -> str:
    """The rows of a stored ``relation`` (with ``respondent_id``) and ``_key``: the
    respondent as the upload's staged files hold it.

    ``keyed`` (the files keep the IDs as written, see :func:`map_keys`): only the rows of
    people in this upload, each with the ID its pseudonym was made from. Otherwise
    ``_key`` is the stored ID itself.
    """
    if not keyed:
        return f"SELECT *, respondent_id AS _key FROM {relation}"
    return (f"SELECT t.*, m.raw AS _key FROM {relation} t "
            f"JOIN {KEY_MAP} m ON m.stored = t.respondent_id")


def stored_key_sql(key: str, keyed: bool, alias: str = "_m") -> tuple[str, str]:
    """The stored ID of a staged ``key`` expression, and the join it needs (empty when
    ``key`` is the stored ID already): for an ``INSERT`` from a staged view."""
    if not keyed:
        return key, ""
    return f"{alias}.stored", f"LEFT JOIN {KEY_MAP} {alias} ON {alias}.raw = {key}"
