"""The burnout and support instruments, declared as data, and the SQL that scores them.

Facts come from ``shared/reference/instruments.md``. Every rule that is the app's own
choice (not the publication's) is marked ``own_rule`` so that the methods text can say so.
Scores are computed once, at ingest, by :func:`scale_score_sql` inside DuckDB and stored
beside the item codes, so no page recomputes them.

Scoring of one scale, for item codes :math:`c_i` (reversed items first mapped to
:math:`c_{min} + c_{max} - c_i`)::

    item score  s_i = (c_i - offset) * multiplier
    mean scale  = sum(s_i) / answered                       (if answered >= min_answered)
    sum scale   = sum(s_i) * n_items / answered             (prorated; exact when complete)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Aggregation = Literal["mean", "sum"]
Direction = Literal["high", "low"]


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
        Accepted response labels (normalised: lower case, single spaces) and their codes.
    scales : tuple of Scale
    citation, licence : str
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

    @property
    def item_columns(self) -> tuple[str, ...]:
        """All item column names of the instrument."""
        return tuple(f"{self.key}_{i}" for i in range(1, self.n_items + 1))

    @property
    def label_codes(self) -> dict[str, int]:
        """Response label (normalised) to code."""
        return dict(self.labels)


_CBI_LABELS = (
    ("never/almost never", 1), ("never", 1), ("almost never", 1), ("seldom", 2),
    ("sometimes", 3), ("often", 4), ("always", 5),
    ("to a very low degree", 1), ("to a low degree", 2), ("somewhat", 3),
    ("to a high degree", 4), ("to a very high degree", 5),
)
_CBI_CITE = (
    "Kristensen TS, Borritz M, Villadsen E, Christensen KB. The Copenhagen Burnout "
    "Inventory: a new tool for the assessment of burnout. Work & Stress 2005;19(3):192-207."
)
_PROQOL_OWN = (
    "No official missing-item rule: a score needs at least 8 of 10 items answered and "
    "is the mean of the answered items times 10 (prorated sum)."
)

INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        key="cbi", name="Copenhagen Burnout Inventory", n_items=19, code_min=1, code_max=5,
        labels=_CBI_LABELS,
        scales=(
            Scale("cbi_personal", "cbi", "Personal burnout", tuple(range(1, 7)),
                  multiplier=25, offset=1, min_answered=3, cutoff=50, primary=True),
            Scale("cbi_work", "cbi", "Work-related burnout", tuple(range(7, 14)),
                  reversed_items=(13,), multiplier=25, offset=1, min_answered=4,
                  cutoff=50, primary=True),
            Scale("cbi_client", "cbi", "Client-related burnout", tuple(range(14, 20)),
                  multiplier=25, offset=1, min_answered=3, cutoff=50, primary=True,
                  own_rule="Client-related burnout needs at least 3 of 6 items answered "
                           "(by analogy with personal burnout; not stated in the publication)."),
        ),
        citation=_CBI_CITE,
        licence="Free to use with attribution (National Research Centre for the Working "
                "Environment, Denmark).",
    ),
    Instrument(
        key="proqol", name="Professional Quality of Life Scale, version 5", n_items=30,
        code_min=1, code_max=5,
        labels=(("never", 1), ("rarely", 2), ("sometimes", 3), ("often", 4),
                ("very often", 5)),
        scales=(
            Scale("proqol_cs", "proqol", "Compassion satisfaction",
                  (3, 6, 12, 16, 18, 20, 22, 24, 27, 30), aggregation="sum",
                  min_answered=8, low=10, high=50, cutoff=22, cutoff_direction="low",
                  higher_is_worse=False, own_rule=_PROQOL_OWN,
                  cutoff_note="raw-score band: 22 or less is low"),
            Scale("proqol_bo", "proqol", "Burnout (ProQOL)",
                  (1, 4, 8, 10, 15, 17, 19, 21, 26, 29), reversed_items=(1, 4, 15, 17, 29),
                  aggregation="sum", min_answered=8, low=10, high=50, cutoff=42,
                  primary=True, own_rule=_PROQOL_OWN,
                  cutoff_note="raw-score band: 42 or more is high"),
            Scale("proqol_sts", "proqol", "Secondary traumatic stress",
                  (2, 5, 7, 9, 11, 13, 14, 23, 25, 28), aggregation="sum",
                  min_answered=8, low=10, high=50, cutoff=42, own_rule=_PROQOL_OWN,
                  cutoff_note="raw-score band: 42 or more is high"),
        ),
        citation="Stamm BH. The Concise ProQOL Manual, 2nd ed. Pocatello, ID: ProQOL.org; "
                 "2010. Now published by the Center for Victims of Torture (proqol.org).",
        licence="Free to use and reformat with credit to the publisher and a link to "
                "proqol.org; may not be sold.",
    ),
    Instrument(
        key="olbi", name="Oldenburg Burnout Inventory", n_items=16, code_min=1, code_max=4,
        labels=(("strongly agree", 1), ("agree", 2), ("disagree", 3),
                ("strongly disagree", 4)),
        scales=(
            Scale("olbi_exhaustion", "olbi", "Exhaustion (OLBI)",
                  (2, 4, 5, 8, 10, 12, 14, 16), reversed_items=(2, 4, 8, 12),
                  min_answered=6, low=1, high=4, cutoff=2.25, primary=True, unit="scale points",
                  own_rule="A score needs at least 6 of 8 items answered (app's rule); the "
                           "cut-off 2.25 is often cited but unconfirmed."),
            Scale("olbi_disengagement", "olbi", "Disengagement (OLBI)",
                  (1, 3, 6, 7, 9, 11, 13, 15), reversed_items=(3, 6, 9, 11),
                  min_answered=6, low=1, high=4, cutoff=2.10, primary=True, unit="scale points",
                  own_rule="A score needs at least 6 of 8 items answered (app's rule); the "
                           "cut-off 2.10 is often cited but unconfirmed."),
        ),
        citation="Demerouti E, Bakker AB, Vardakou I, Kantas A. The convergent validity of "
                 "two burnout instruments. Eur J Psychol Assess 2003;19(1):12-23.",
        licence="Free for research use with citation.",
    ),
    Instrument(
        key="miniz", name="Mini-Z single-item burnout measure", n_items=1, code_min=1,
        code_max=5, labels=(),
        scales=(
            Scale("miniz_burnout", "miniz", "Burnout (Mini-Z single item)", (1,),
                  min_answered=1, low=1, high=5, cutoff=3, primary=True, unit="scale points",
                  cutoff_note="code 3 or more means burnout"),
        ),
        citation="Rohland BM, Kruse GR, Rohrer JE. Validation of a single-item measure of "
                 "burnout against the Maslach Burnout Inventory among physicians. "
                 "Stress Health 2004;20:75-79. Linzer M et al., Mini-Z.",
        licence="Free to use with attribution.",
    ),
    Instrument(
        key="brs", name="Brief Resilience Scale", n_items=6, code_min=1, code_max=5,
        labels=(("strongly disagree", 1), ("disagree", 2), ("neutral", 3), ("agree", 4),
                ("strongly agree", 5)),
        scales=(
            Scale("brs_resilience", "brs", "Resilience (BRS)", tuple(range(1, 7)),
                  reversed_items=(2, 4, 6), min_answered=4, low=1, high=5, cutoff=2.99,
                  cutoff_direction="low", higher_is_worse=False, unit="scale points",
                  own_rule="A score needs at least 4 of 6 items answered (app's rule).",
                  cutoff_note="below 3.00 is low resilience"),
        ),
        citation="Smith BW, Dalen J, Wiggins K, Tooley E, Christopher P, Bernard J. The "
                 "brief resilience scale. Int J Behav Med 2008;15(3):194-200.",
        licence="Free to use with citation.",
    ),
    Instrument(
        key="ucla3", name="UCLA 3-item Loneliness Scale", n_items=3, code_min=1, code_max=3,
        labels=(("hardly ever", 1), ("some of the time", 2), ("often", 3)),
        scales=(
            Scale("ucla3_loneliness", "ucla3", "Loneliness (UCLA-3)", (1, 2, 3),
                  aggregation="sum", min_answered=3, low=3, high=9, cutoff=6,
                  unit="scale points", cutoff_note="6 or more means lonely"),
        ),
        citation="Hughes ME, Waite LJ, Hawkley LC, Cacioppo JT. A short scale for measuring "
                 "loneliness in large surveys. Res Aging 2004;26(6):655-672.",
        licence="Free to use with citation.",
    ),
    Instrument(
        key="mbi", name="Maslach Burnout Inventory (scored subscales only)", n_items=0,
        code_min=0, code_max=6, labels=(),
        scales=(
            Scale("mbi_ee", "mbi", "Emotional exhaustion (MBI)", (), aggregation="sum",
                  low=0, high=54, cutoff=27, primary=True,
                  cutoff_note="27 or more; the 4th-edition manual recommends continuous use"),
            Scale("mbi_dp", "mbi", "Depersonalization (MBI)", (), aggregation="sum",
                  low=0, high=30, cutoff=10, primary=True,
                  cutoff_note="10 or more; the 4th-edition manual recommends continuous use"),
            Scale("mbi_pa", "mbi", "Personal accomplishment (MBI)", (), aggregation="sum",
                  low=0, high=48, higher_is_worse=False),
        ),
        citation="Maslach C, Jackson SE, Leiter MP. Maslach Burnout Inventory Manual, 4th "
                 "ed. Mind Garden; 2018.",
        licence="Proprietary (Mind Garden): only scored subscales are accepted; no item "
                "text is shipped.",
    ),
)

INSTRUMENTS_BY_KEY: dict[str, Instrument] = {i.key: i for i in INSTRUMENTS}
SCALES: tuple[Scale, ...] = tuple(s for i in INSTRUMENTS for s in i.scales)
SCALES_BY_KEY: dict[str, Scale] = {s.key: s for s in SCALES}
ITEM_COLUMNS: tuple[str, ...] = tuple(c for i in INSTRUMENTS for c in i.item_columns)
SCORED_COLUMNS: tuple[str, ...] = tuple(s.key for s in SCALES)


def normalize_label(text: str) -> str:
    """Normalise a response label: lower case, single spaces, no spaces around ``/``."""
    collapsed = " ".join(str(text).lower().split())
    return collapsed.replace(" /", "/").replace("/ ", "/")


def instrument_of_item(column: str) -> Instrument | None:
    """Return the instrument an item column belongs to, or None."""
    prefix, _, number = column.rpartition("_")
    inst = INSTRUMENTS_BY_KEY.get(prefix)
    if inst is None or not number.isdigit() or not 1 <= int(number) <= inst.n_items:
        return None
    return inst


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_literal(text: str) -> str:
    # Only our own declared labels reach here, never user input.
    return "'" + text.replace("'", "''") + "'"


def item_code_sql(instrument: Instrument, expression: str) -> str:
    """SQL turning a text item answer into its integer code, NULL when blank or invalid.

    Accepts the numeric code (``"3"``, ``"3.0"``) or a response label, case- and
    space-insensitively.

    Parameters
    ----------
    instrument : Instrument
    expression : str
        A SQL expression of type VARCHAR (a quoted canonical column name).
    """
    norm = (
        f"replace(replace(lower(regexp_replace(trim({expression}), '\\s+', ' ', 'g')), "
        f"' /', '/'), '/ ', '/')"
    )
    number = f"TRY_CAST(trim({expression}) AS DOUBLE)"
    whens = " ".join(
        f"WHEN {_sql_literal(label)} THEN {code}" for label, code in instrument.labels
    )
    label_case = f"CASE {norm} {whens} ELSE NULL END" if whens else "NULL"
    return (
        f"CASE WHEN {number} IS NOT NULL AND {number} = round({number}) "
        f"AND {number} BETWEEN {instrument.code_min} AND {instrument.code_max} "
        f"THEN CAST({number} AS INTEGER) ELSE {label_case} END"
    )


def item_invalid_sql(instrument: Instrument, expression: str) -> str:
    """SQL that is true when an answer is given but is no code or label of the scale."""
    return (
        f"(nullif(trim({expression}), '') IS NOT NULL "
        f"AND ({item_code_sql(instrument, expression)}) IS NULL)"
    )


def scale_score_sql(scale: Scale, column_of=lambda name: _quote(name)) -> str:
    """SQL computing a scale score from stored integer item codes.

    Parameters
    ----------
    scale : Scale
        A scale with items (scored-only scales have nothing to compute).
    column_of : callable
        Maps an item column name to the SQL that reads its integer code.

    Returns
    -------
    str
        A DOUBLE expression, NULL when fewer than ``min_answered`` items are answered.
    """
    if scale.scored_only:
        raise ValueError(f"{scale.key} is accepted only as a scored column")
    inst = INSTRUMENTS_BY_KEY[scale.instrument]
    scores = []
    answered = []
    for number, column in zip(scale.items, scale.item_columns):
        code = column_of(column)
        if number in scale.reversed_items:
            code = f"({inst.code_min + inst.code_max} - {code})"
        scores.append(f"coalesce(({code} - {scale.offset!r}) * {scale.multiplier!r}, 0)")
        answered.append(f"CAST({column_of(column)} IS NOT NULL AS INTEGER)")
    total = " + ".join(scores)
    count = "(" + " + ".join(answered) + ")"
    value = f"({total}) / {count}"
    if scale.aggregation == "sum":
        value = f"{value} * {len(scale.items)}"
    return f"CASE WHEN {count} >= {scale.min_answered} THEN CAST({value} AS DOUBLE) END"


def is_high_sql(scale: Scale, expression: str) -> str:
    """SQL that is true when a score is in the adverse range of the scale's cut-off."""
    if scale.cutoff is None:
        return "NULL"
    op = ">=" if scale.cutoff_direction == "high" else "<="
    return f"({expression} {op} {scale.cutoff!r})"
