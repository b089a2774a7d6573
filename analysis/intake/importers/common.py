"""Small helpers several importers share: finding columns by name or by their values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from analysis.intake.importers.model import EMAIL
from analysis.intake.importers.wording import normalize_text

#: Columns that identify a person or a place: never passed on (header words → why).
IDENTIFYING: tuple[tuple[str, str], ...] = (
    ("ip address", "IP address"), ("ipaddress", "IP address"),
    ("latitude", "location"), ("longitude", "location"), ("location", "location"),
    ("first name", "name"), ("last name", "name"), ("firstname", "name"),
    ("lastname", "name"), ("full name", "name"), ("name", "name"),
    ("phone", "telephone number"), ("signature", "signature"),
    ("email", "e-mail address"), ("e mail", "e-mail address"),
)


def index_of(headers: Sequence[str], *names: str) -> int | None:
    """Index of the first header equal to one of ``names`` (punctuation and case
    ignored), trying the names in order."""
    normalized = [normalize_text(h) for h in headers]
    for name in names:
        wanted = normalize_text(name)
        if wanted in normalized:
            return normalized.index(wanted)
    return None


def identifying(header: str) -> str | None:
    """Why a column identifies a person (its header says name, IP, location …), or None.

    Examples
    --------
    >>> identifying("IP Address"), identifying("Name (Original Name)"), identifying("Q5")
    ('IP address', 'name', None)
    """
    words = normalize_text(header)
    for key, why in IDENTIFYING:
        # One-word keys ("name") only in short headers: "the name of your practice" is not.
        short = " " in key or len(words.split()) <= 3
        if short and (f" {key} " in f" {words} " or words.replace(" ", "") == key.replace(" ", "")):
            return why
    return None


def email_share(values: Iterable[str]) -> float:
    """Share of the non-blank values that are e-mail addresses."""
    given = [v.strip() for v in values if v and v.strip()]
    return sum(bool(EMAIL.match(v)) for v in given) / len(given) if given else 0.0


def email_column(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 preferred: Sequence[str] = ()) -> int | None:
    """The column holding e-mail addresses: a preferred header with addresses in it, else
    a header saying e-mail whose values mostly are addresses, else None."""
    def values(i: int) -> list[str]:
        return [r[i] for r in rows if i < len(r)]

    for name in preferred:
        i = index_of(headers, name)
        if i is not None and email_share(values(i)) > 0:
            return i
    for i, header in enumerate(headers):
        words = normalize_text(header)
        if ("email" in words or "e mail" in words) and email_share(values(i)) >= 0.5:
            return i
    return None
