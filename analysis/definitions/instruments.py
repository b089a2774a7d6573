"""The burnout and support instruments, declared as data, and the SQL that scores them.

Facts come from ``shared/reference/instruments.md``. Every rule that is the app's own
choice (not the publication's) is marked ``own_rule`` so that the methods text can say so.
Scores are computed once, at ingest, by
:func:`~analysis.definitions.scoring_sql.scale_score_sql` inside DuckDB and stored
beside the item codes, so no page recomputes them.

Scoring of one scale, for item codes :math:`c_i` (reversed items first mapped to
:math:`c_{min} + c_{max} - c_i`)::

    item score  s_i = (c_i - offset) * multiplier
    mean scale  = sum(s_i) / answered                       (if answered >= min_answered)
    sum scale   = sum(s_i) * n_items / answered             (prorated; exact when complete)

:mod:`analysis.definitions.scoring_sql` writes the rule as SQL; :func:`score_items`
states it in plain Python (the readable reference the tests hold the SQL to);
:func:`recognise` tells the upload page which scales an upload's columns will score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from analysis.definitions.contract import normalize_header

Aggregation = Literal["mean", "sum"]
Direction = Literal["high", "low"]
#: How far a cut-off can be trusted: "published" (stated with the instrument),
#: "convention" (a descriptive convention), "unconfirmed" (often cited, source not
#: confirmed), "secondary" (the publisher recommends continuous scores), "none".
CutoffStatus = Literal["published", "convention", "unconfirmed", "secondary", "none"]


@dataclass(frozen=True)
class Scale:
    """One scored scale (an outcome).

    Parameters
    ----------
    key : str
        Outcome column name, e.g. ``cbi_work``; also the contract's scored column.
    instrument : str
        Key of the instrument the scale belongs to.
    label : str
        Name shown to users, e.g. "Work-related burnout".
    items : tuple of int
        Item numbers (``<instrument>_<n>`` columns). Empty for scored-only scales (MBI).
    reversed_items : tuple of int
        Items scored in reverse.
    aggregation : {"mean", "sum"}
        How item scores form the scale (sums are prorated when items are missing).
    multiplier, offset : float
        Item score = (code - offset) * multiplier (CBI: (c - 1) * 25).
    min_answered : int
        Fewest answered items for a score; fewer gives a missing score.
    low, high : float
        Possible range of the score (uploaded scored columns are checked against it).
    cutoff : float or None
        Cut-off for the share "high" (burnout, loneliness, ...).
    cutoff_direction : {"high", "low"}
        "high": score >= cutoff is the adverse state; "low": score <= cutoff is.
    higher_is_worse : bool
        False for compassion satisfaction, personal accomplishment and resilience.
    unit : str
        Unit words for sentences ("points", "scale points").
    primary : bool
        A primary outcome of its instrument (Holm within the family; BH across the rest).
    own_rule : str
        The app's own choice where the publication is silent (empty when none).
    cutoff_note : str
        The cut-off in words, with its source.
    cutoff_status : {"published", "convention", "unconfirmed", "secondary", "none"}
        How far the cut-off can be trusted (see :data:`CutoffStatus`).
    """

    key: str
    instrument: str
    label: str
    items: tuple[int, ...]
    reversed_items: tuple[int, ...] = ()
    aggregation: Aggregation = "mean"
    multiplier: float = 1.0
    offset: float = 0.0
    min_answered: int = 1
    low: float = 0.0
    high: float = 100.0
    cutoff: float | None = None
    cutoff_direction: Direction = "high"
    higher_is_worse: bool = True
    unit: str = "points"
    primary: bool = False
    own_rule: str = ""
    cutoff_note: str = ""
    cutoff_status: CutoffStatus = "none"

    @property
    def item_columns(self) -> tuple[str, ...]:
        """Column names of the scale's items, e.g. ``("cbi_7", ..., "cbi_13")``."""
        return tuple(f"{self.instrument}_{i}" for i in self.items)

    @property
    def scored_only(self) -> bool:
        """True for scales accepted only as uploaded scores (MBI)."""
        return not self.items


@dataclass(frozen=True)
class Instrument:
    """One instrument: its items, response codes and labels, scales and citation.

    Parameters
    ----------
    key : str
        Column prefix, e.g. ``cbi``.
    name : str
        Full name.
    n_items : int
        Number of items (0 for scored-only instruments).
    code_min, code_max : int
        Range of the numeric response codes.
    labels : tuple of (str, int)
        Accepted response labels (normalised: lower case, single spaces) and their codes;
        the union of ``label_sets``, accepted on every item.
    scales : tuple of Scale
    citation, licence : str
    label_sets : tuple of (str, tuple of (str, int))
        The named response-label sets, low to high, for the methods note (CBI has a
        frequency set and a degree set). Empty when codes only are accepted.
    scoring_note : str
        Instrument-wide facts for the methods note (no total score, t-scores, ...).
    """

    key: str
    name: str
    n_items: int
    code_min: int
    code_max: int
    labels: tuple[tuple[str, int], ...]
    scales: tuple[Scale, ...]
    citation: str
    licence: str
    label_sets: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()
    scoring_note: str = ""

    @property
    def item_columns(self) -> tuple[str, ...]:
        """All item column names of the instrument."""
        return tuple(f"{self.key}_{i}" for i in range(1, self.n_items + 1))

    @property
    def label_codes(self) -> dict[str, int]:
        """Response label (normalised) to code."""
        return dict(self.labels)


_CBI_FREQUENCY = (("never/almost never", 1), ("seldom", 2), ("sometimes", 3), ("often", 4),
                  ("always", 5))
_CBI_DEGREE = (("to a very low degree", 1), ("to a low degree", 2), ("somewhat", 3),
               ("to a high degree", 4), ("to a very high degree", 5))
# "Never" and "Almost never" alone are accepted as shortenings of the first frequency label.
_CBI_LABELS = _CBI_FREQUENCY + (("never", 1), ("almost never", 1)) + _CBI_DEGREE
_CBI_CITE = (
    "Kristensen TS, Borritz M, Villadsen E, Christensen KB. The Copenhagen Burnout "
    "Inventory: a new tool for the assessment of burnout. Work & Stress 2005;19(3):192-207."
)
_PROQOL_LABELS = (("never", 1), ("rarely", 2), ("sometimes", 3), ("often", 4),
                  ("very often", 5))
_PROQOL_OWN = (
    "No official missing-item rule: a score needs at least 8 of 10 items answered and "
    "is the mean of the answered items times 10 (prorated sum)."
)
_OLBI_LABELS = (("strongly agree", 1), ("agree", 2), ("disagree", 3),
                ("strongly disagree", 4))
_BRS_LABELS = (("strongly disagree", 1), ("disagree", 2), ("neutral", 3), ("agree", 4),
               ("strongly agree", 5))
_UCLA_LABELS = (("hardly ever", 1), ("some of the time", 2), ("often", 3))
_NO_LICENCE_RECORDED = (
    "No licence terms are recorded in our reference; it is used with citation of the "
    "publication. Check with the authors before any commercial use."
)

INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        key="cbi", name="Copenhagen Burnout Inventory", n_items=19, code_min=1, code_max=5,
        labels=_CBI_LABELS,
        label_sets=(("frequency", _CBI_FREQUENCY), ("degree", _CBI_DEGREE)),
        scales=(
            Scale("cbi_personal", "cbi", "Personal burnout", tuple(range(1, 7)),
                  multiplier=25, offset=1, min_answered=3, cutoff=50, primary=True,
                  cutoff_note="50 or more is high burnout (descriptive convention from "
                              "the Danish normative study)",
                  cutoff_status="convention"),
            Scale("cbi_work", "cbi", "Work-related burnout", tuple(range(7, 14)),
                  reversed_items=(13,), multiplier=25, offset=1, min_answered=4,
                  cutoff=50, primary=True,
                  cutoff_note="50 or more is high burnout (descriptive convention from "
                              "the Danish normative study)",
                  cutoff_status="convention"),
            Scale("cbi_client", "cbi", "Client-related burnout", tuple(range(14, 20)),
                  multiplier=25, offset=1, min_answered=3, cutoff=50, primary=True,
                  own_rule="Client-related burnout needs at least 3 of 6 items answered "
                           "(by analogy with personal burnout; not stated in the publication).",
                  cutoff_note="50 or more is high burnout (descriptive convention from "
                              "the Danish normative study)",
                  cutoff_status="convention"),
        ),
        citation=_CBI_CITE,
        licence="Free to use with attribution (National Research Centre for the Working "
                "Environment, Denmark).",
        scoring_note="Code c scores (c - 1) x 25 (0, 25, 50, 75, 100); each scale is the "
                     "mean of its answered items (0-100). There is no total score.",
    ),
    Instrument(
        key="proqol", name="Professional Quality of Life Scale, version 5", n_items=30,
        code_min=1, code_max=5,
        labels=_PROQOL_LABELS, label_sets=(("frequency", _PROQOL_LABELS),),
        scales=(
            Scale("proqol_cs", "proqol", "Compassion satisfaction",
                  (3, 6, 12, 16, 18, 20, 22, 24, 27, 30), aggregation="sum",
                  min_answered=8, low=10, high=50, cutoff=22, cutoff_direction="low",
                  higher_is_worse=False, own_rule=_PROQOL_OWN,
                  cutoff_note="raw-score band: 22 or less is low (23-41 moderate, "
                              "42 or more high)",
                  cutoff_status="published"),
            Scale("proqol_bo", "proqol", "Burnout (ProQOL)",
                  (1, 4, 8, 10, 15, 17, 19, 21, 26, 29), reversed_items=(1, 4, 15, 17, 29),
                  aggregation="sum", min_answered=8, low=10, high=50, cutoff=42,
                  primary=True, own_rule=_PROQOL_OWN,
                  cutoff_note="raw-score band: 42 or more is high (22 or less low, "
                              "23-41 moderate)",
                  cutoff_status="published"),
            Scale("proqol_sts", "proqol", "Secondary traumatic stress",
                  (2, 5, 7, 9, 11, 13, 14, 23, 25, 28), aggregation="sum",
                  min_answered=8, low=10, high=50, cutoff=42, own_rule=_PROQOL_OWN,
                  cutoff_note="raw-score band: 42 or more is high (22 or less low, "
                              "23-41 moderate)",
                  cutoff_status="published"),
        ),
        citation="Stamm BH. The Concise ProQOL Manual, 2nd ed. Pocatello, ID: ProQOL.org; "
                 "2010. Now published by the Center for Victims of Torture (proqol.org).",
        licence="Free to use and reformat with credit to the publisher (the Center for "
                "Victims of Torture) and a link to proqol.org; may not be sold.",
        scoring_note="Raw method: each scale is the sum of its 10 items (10-50) and the "
                     "bands are the raw-score bands. The manual's t-score method (mean 50, "
                     "SD 10) has bands of its own; the two are never mixed here.",
    ),
    Instrument(
        key="olbi", name="Oldenburg Burnout Inventory", n_items=16, code_min=1, code_max=4,
        labels=_OLBI_LABELS, label_sets=(("agreement", _OLBI_LABELS),),
        scales=(
            Scale("olbi_exhaustion", "olbi", "Exhaustion (OLBI)",
                  (2, 4, 5, 8, 10, 12, 14, 16), reversed_items=(2, 4, 8, 12),
                  min_answered=6, low=1, high=4, cutoff=2.25, primary=True, unit="scale points",
                  own_rule="A score needs at least 6 of 8 items answered (app's rule); the "
                           "cut-off 2.25 is often cited but unconfirmed.",
                  cutoff_note="2.25 or more is high exhaustion (often cited)",
                  cutoff_status="unconfirmed"),
            Scale("olbi_disengagement", "olbi", "Disengagement (OLBI)",
                  (1, 3, 6, 7, 9, 11, 13, 15), reversed_items=(3, 6, 9, 11),
                  min_answered=6, low=1, high=4, cutoff=2.10, primary=True, unit="scale points",
                  own_rule="A score needs at least 6 of 8 items answered (app's rule); the "
                           "cut-off 2.10 is often cited but unconfirmed.",
                  cutoff_note="2.10 or more is high disengagement (often cited)",
                  cutoff_status="unconfirmed"),
        ),
        citation="Demerouti E, Bakker AB, Vardakou I, Kantas A. The convergent validity of "
                 "two burnout instruments. Eur J Psychol Assess 2003;19(1):12-23.",
        licence=_NO_LICENCE_RECORDED,
        scoring_note="Codes 1 = strongly agree ... 4 = strongly disagree; items 2, 3, 4, 6, "
                     "8, 9, 11 and 12 are reversed (5 - code) so that a higher score means "
                     "more burnout. Each scale is the mean of its answered items (1-4).",
    ),
    Instrument(
        key="miniz", name="Mini-Z single-item burnout measure", n_items=1, code_min=1,
        code_max=5, labels=(),
        scales=(
            Scale("miniz_burnout", "miniz", "Burnout (Mini-Z single item)", (1,),
                  min_answered=1, low=1, high=5, cutoff=3, primary=True, unit="scale points",
                  cutoff_note="code 3 or more means burnout", cutoff_status="published"),
        ),
        citation="Rohland BM, Kruse GR, Rohrer JE. Validation of a single-item measure of "
                 "burnout against the Maslach Burnout Inventory among physicians. "
                 "Stress Health 2004;20:75-79. Linzer M et al., Mini-Z.",
        licence=_NO_LICENCE_RECORDED,
        scoring_note="One item, codes 1 (enjoys work, no symptoms) to 5 (so burned out "
                     "that help is needed); accepted as codes only. It correlates "
                     "r = 0.64 or so with MBI emotional exhaustion.",
    ),
    Instrument(
        key="brs", name="Brief Resilience Scale", n_items=6, code_min=1, code_max=5,
        labels=_BRS_LABELS, label_sets=(("agreement", _BRS_LABELS),),
        scales=(
            Scale("brs_resilience", "brs", "Resilience (BRS)", tuple(range(1, 7)),
                  reversed_items=(2, 4, 6), min_answered=4, low=1, high=5, cutoff=2.99,
                  cutoff_direction="low", higher_is_worse=False, unit="scale points",
                  own_rule="A score needs at least 4 of 6 items answered (app's rule).",
                  # Means of 4-6 integer codes never fall strictly between 2.99 and 3.00.
                  cutoff_note="below 3.00 is low resilience (bands 1.00-2.99 low, "
                              "3.00-4.30 normal, 4.31-5.00 high)",
                  cutoff_status="published"),
        ),
        citation="Smith BW, Dalen J, Wiggins K, Tooley E, Christopher P, Bernard J. The "
                 "brief resilience scale. Int J Behav Med 2008;15(3):194-200.",
        licence=_NO_LICENCE_RECORDED,
        scoring_note="Items 2, 4 and 6 are reversed (6 - code); the score is the mean of "
                     "the answered items (1-5). Higher means more resilient.",
    ),
    Instrument(
        key="ucla3", name="UCLA 3-item Loneliness Scale", n_items=3, code_min=1, code_max=3,
        labels=_UCLA_LABELS, label_sets=(("frequency", _UCLA_LABELS),),
        scales=(
            Scale("ucla3_loneliness", "ucla3", "Loneliness (UCLA-3)", (1, 2, 3),
                  aggregation="sum", min_answered=3, low=3, high=9, cutoff=6,
                  unit="scale points",
                  own_rule="All 3 items must be answered (no prorating); the publication "
                           "gives no missing-item rule.",
                  cutoff_note="6 or more means lonely", cutoff_status="published"),
        ),
        citation="Hughes ME, Waite LJ, Hawkley LC, Cacioppo JT. A short scale for measuring "
                 "loneliness in large surveys. Res Aging 2004;26(6):655-672.",
        licence=_NO_LICENCE_RECORDED,
        scoring_note="The score is the sum of the 3 items (3-9).",
    ),
    Instrument(
        key="mbi", name="Maslach Burnout Inventory (scored subscales only)", n_items=0,
        code_min=0, code_max=6, labels=(),
        scales=(
            Scale("mbi_ee", "mbi", "Emotional exhaustion (MBI)", (), aggregation="sum",
                  low=0, high=54, cutoff=27, primary=True,
                  cutoff_note="27 or more (with depersonalization 10 or more, the "
                              "common burnout flag); the 4th-edition manual dropped "
                              "cut-offs",
                  cutoff_status="secondary"),
            Scale("mbi_dp", "mbi", "Depersonalization (MBI)", (), aggregation="sum",
                  low=0, high=30, cutoff=10, primary=True,
                  cutoff_note="10 or more (with emotional exhaustion 27 or more, the "
                              "common burnout flag); the 4th-edition manual dropped "
                              "cut-offs",
                  cutoff_status="secondary"),
            Scale("mbi_pa", "mbi", "Personal accomplishment (MBI)", (), aggregation="sum",
                  low=0, high=48, higher_is_worse=False),
        ),
        citation="Maslach C, Jackson SE, Leiter MP. Maslach Burnout Inventory Manual, 4th "
                 "ed. Mind Garden; 2018.",
        licence="Proprietary (Mind Garden): only scored subscales are accepted; no item "
                "text is shipped.",
        scoring_note="Only the scored subscales are accepted (MBI-HSS or MBI-HSS (MP)): "
                     "emotional exhaustion 0-54 (9 items), depersonalization 0-30 (5 items) "
                     "and personal accomplishment 0-48 (8 items), each a sum of 0-6 codes. "
                     "Higher personal accomplishment means less burnout. The common burnout "
                     "flag is emotional exhaustion 27 or more or depersonalization 10 or "
                     "more.",
    ),
)

INSTRUMENTS_BY_KEY: dict[str, Instrument] = {i.key: i for i in INSTRUMENTS}
SCALES: tuple[Scale, ...] = tuple(s for i in INSTRUMENTS for s in i.scales)
SCALES_BY_KEY: dict[str, Scale] = {s.key: s for s in SCALES}
ITEM_COLUMNS: tuple[str, ...] = tuple(c for i in INSTRUMENTS for c in i.item_columns)
SCORED_COLUMNS: tuple[str, ...] = tuple(s.key for s in SCALES)


def normalize_label(text: str) -> str:
    """Normalise a response label: lower case, single spaces, no spaces around ``/``.

    Examples
    --------
    >>> normalize_label("  Never /  Almost NEVER ")
    'never/almost never'
    """
    collapsed = " ".join(str(text).lower().split())
    return collapsed.replace(" /", "/").replace("/ ", "/")


def instrument_of_item(column: str) -> Instrument | None:
    """Return the instrument an item column belongs to, or None."""
    prefix, _, number = column.rpartition("_")
    inst = INSTRUMENTS_BY_KEY.get(prefix)
    if inst is None or not number.isdigit() or not 1 <= int(number) <= inst.n_items:
        return None
    return inst


Code = TypeVar("Code")


def item_score(scale: Scale, number: int, code: Code) -> Code:
    """Score of one item from its raw code (a number or a pandas Series of codes).

    Reversed items are first mapped to ``code_min + code_max - code``; the score is
    then ``(code - offset) * multiplier``. No check of the code is made here.
    """
    inst = INSTRUMENTS_BY_KEY[scale.instrument]
    if number in scale.reversed_items:
        code = inst.code_min + inst.code_max - code
    return (code - scale.offset) * scale.multiplier


def score_items(scale: Scale, codes: Mapping[int, int | None]) -> float | None:
    """Score one response in plain Python: the readable statement of the scoring rule.

    Each answered item's raw code ``c`` is reversed when the item is reversed
    (``code_min + code_max - c``), then scored ``(c - offset) * multiplier``. With at
    least ``min_answered`` items answered the scale is the mean of the item scores
    (``aggregation="mean"``) or their prorated sum, ``sum * n_items / answered``
    (``aggregation="sum"``); with fewer it is missing (None).

    Parameters
    ----------
    scale : Scale
        A scale with items.
    codes : mapping of int to int or None
        Raw item codes by item number (the whole instrument's may be given; items not
        in the scale are ignored). Missing keys and None are unanswered items.

    Returns
    -------
    float or None

    Raises
    ------
    ValueError
        For a scored-only scale or a code outside the instrument's codes.

    Examples
    --------
    >>> score_items(SCALES_BY_KEY["cbi_work"], {7: 5, 8: 4, 9: 3, 10: 2, 13: 5})  # 250 / 5
    50.0
    """
    if scale.scored_only:
        raise ValueError(f"{scale.key} is accepted only as a scored column")
    inst = INSTRUMENTS_BY_KEY[scale.instrument]
    item_scores = []
    for number in scale.items:
        code = codes.get(number)
        if code is None:
            continue
        if code != int(code) or not inst.code_min <= code <= inst.code_max:
            raise ValueError(f"{inst.key}_{number}: {code!r} is not a code of {inst.name}")
        item_scores.append(item_score(scale, number, code))
    answered = len(item_scores)
    if answered < scale.min_answered:
        return None
    if scale.aggregation == "sum":
        return float(sum(item_scores) * len(scale.items) / answered)
    return float(sum(item_scores) / answered)


@dataclass(frozen=True)
class Recognition:
    """What an upload's columns give for one scale.

    Parameters
    ----------
    scale : str
        Scale key, e.g. ``cbi_work``.
    label : str
        The scale's name for users.
    will_score : bool
        True when the upload yields a score for this scale.
    present_items, missing_items : tuple of str
        The scale's item columns found in, and absent from, the upload.
    from_scored_column : bool
        True when the score is taken from the uploaded scored column rather than
        computed from items.
    note : str
        One sentence for the upload page.
    """

    scale: str
    label: str
    will_score: bool
    present_items: tuple[str, ...]
    missing_items: tuple[str, ...]
    from_scored_column: bool
    note: str


def recognise(columns: Iterable[str]) -> tuple[Recognition, ...]:
    """Say which scales an upload's columns will score, and which items are missing.

    A scale scores when at least ``min_answered`` of its item columns are present (it
    is then computed from the items, so that every upload follows the same rule, and an
    uploaded scored column for it is not used), or else when its scored column is
    present. Only scales with at least one item or scored column in the upload are
    listed, in declaration order; an empty result means no outcome was recognised.

    Parameters
    ----------
    columns : iterable of str
        Canonical column names (matched case- and space-insensitively).

    Returns
    -------
    tuple of Recognition

    Examples
    --------
    >>> [r.scale for r in recognise(["wave", "mbi_ee"])]
    ['mbi_ee']
    """
    given = {normalize_header(c) for c in columns}
    found = []
    for scale in SCALES:
        present = tuple(c for c in scale.item_columns if c in given)
        missing = tuple(c for c in scale.item_columns if c not in given)
        has_score = scale.key in given
        if not present and not has_score:
            continue
        enough = bool(scale.items) and len(present) >= scale.min_answered
        n_items = len(scale.items)
        if enough and has_score:
            note = (f"Scored from its items; the uploaded column {scale.key} is not used.")
        elif enough:
            note = f"Scored from {len(present)} of {n_items} items."
        elif has_score:
            note = f"Taken from the uploaded scored column {scale.key}."
            if present:
                note += (f" Only {len(present)} of {n_items} items are present, fewer "
                         f"than the {scale.min_answered} needed to score from items.")
        else:
            note = (f"Not scored: only {len(present)} of {n_items} items are present; "
                    f"at least {scale.min_answered} are needed.")
        if missing and (enough or present):
            note += " Missing items: " + ", ".join(missing) + "."
        found.append(Recognition(
            scale=scale.key, label=scale.label, will_score=enough or has_score,
            present_items=present, missing_items=missing,
            from_scored_column=has_score and not enough, note=note,
        ))
    return tuple(found)
