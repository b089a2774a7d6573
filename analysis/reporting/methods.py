"""The methods note: how each instrument was scored, in words, from its declaration.

Everything here is read from :mod:`analysis.definitions.instruments`, so the note cannot drift from
the scoring. The export, the dashboards and the report reuse :func:`methods_text` and
:func:`scale_caution_text`.
"""

from __future__ import annotations

from collections.abc import Iterable

from analysis.definitions.instruments import INSTRUMENTS, SCALES_BY_KEY, Instrument, Scale
from analysis.stats.reliability import ALPHA_CAUTION, Reliability

_CUTOFF_STATUS_TEXT = {
    "published": "as published with the instrument",
    "convention": "a descriptive convention, not a clinical threshold",
    "unconfirmed": "unconfirmed; read the share above it as indicative only",
    "secondary": "a secondary flag only; the manual recommends analysing the scores as "
                 "continuous",
}


def _number_list(numbers: Iterable[int]) -> str:
    numbers = list(numbers)
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(str(n) for n in numbers)


def _format_value(value: float) -> str:
    return f"{value:g}"


def _items_sentence(scale: Scale) -> str:
    if scale.scored_only:
        return (f"**{scale.label}** (`{scale.key}`): uploaded score, "
                f"{_format_value(scale.low)}-{_format_value(scale.high)}.")
    if len(scale.items) == 1:
        return (f"**{scale.label}** (`{scale.key}`): the code of its single item, "
                f"{_format_value(scale.low)}-{_format_value(scale.high)}; missing when "
                f"unanswered.")
    reversed_part = ""
    if scale.reversed_items:
        word = "item" if len(scale.reversed_items) == 1 else "items"
        reversed_part = f"; reversed {word} {_number_list(scale.reversed_items)}"
    n = len(scale.items)
    if scale.aggregation == "sum":
        how = "sum of the items" if scale.min_answered == n else \
            f"sum of the items, prorated (sum x {n} / answered) when items are missing"
    else:
        how = "mean of the answered items"
    if scale.min_answered >= n:
        rule = f"all {n} items answered" if n > 1 else "the item answered"
    else:
        rule = f"at least {scale.min_answered} of {n} items answered"
    return (f"**{scale.label}** (`{scale.key}`): items {_number_list(scale.items)}"
            f"{reversed_part}; {how}, range {_format_value(scale.low)}-"
            f"{_format_value(scale.high)}; needs {rule}, otherwise missing.")


def _cutoff_sentence(scale: Scale) -> str:
    if scale.cutoff is None:
        return f"{scale.label}: no cut-off; analysed as a continuous score."
    side = "or more" if scale.cutoff_direction == "high" else "or less"
    what = scale.cutoff_note or f"{_format_value(scale.cutoff)} {side}"
    status = _CUTOFF_STATUS_TEXT.get(scale.cutoff_status, "")
    return f"{scale.label}: {what}." + (f" Status: {status}." if status else "")


def _responses_sentence(inst: Instrument) -> str:
    codes = f"codes {inst.code_min}-{inst.code_max}"
    if not inst.label_sets:
        return f"Responses: {codes} (numeric codes only)."
    sets = "; ".join(
        f"{name}: " + ", ".join(f"\"{label}\" = {code}" for label, code in labels)
        for name, labels in inst.label_sets
    )
    return (f"Responses: {codes} or their labels, matched case- and "
            f"space-insensitively ({sets}).")


def _instrument_section(inst: Instrument, scales: list[Scale]) -> str:
    lines = [f"### {inst.name}", ""]
    lines.append("Scored: " + " ".join(_items_sentence(s) for s in scales))
    lines.append("")
    if inst.n_items:
        lines += [_responses_sentence(inst), ""]
    if inst.scoring_note:
        lines += [f"Scoring: {inst.scoring_note}", ""]
    own_rules = list(dict.fromkeys(s.own_rule for s in scales if s.own_rule))
    if own_rules:
        lines.append("The app's own choices (the publication is silent or unconfirmed):")
        lines += [f"- {rule}" for rule in own_rules]
        lines.append("")
    lines.append("Cut-offs:")
    lines += [f"- {_cutoff_sentence(s)}" for s in scales]
    lines += ["", f"Citation: {inst.citation}", "", f"Licence: {inst.licence}", ""]
    return "\n".join(lines)


def methods_text(scale_keys: Iterable[str]) -> str:
    """The methods note, in Markdown, for the scales that were analysed.

    One section per instrument (in the order instruments are declared): which scales
    were scored and from which items, the response codes and labels accepted, the
    scoring and missing-item rules, which rules are the app's own choice, each cut-off
    and how far it can be trusted, the citation and the licence.

    Parameters
    ----------
    scale_keys : iterable of str
        Scale keys (outcome columns), e.g. ``["cbi_work", "proqol_bo"]``.

    Returns
    -------
    str
        Markdown.

    Raises
    ------
    ValueError
        For a key that is not a declared scale.

    Examples
    --------
    >>> print(methods_text(["miniz_burnout"]).splitlines()[2])
    ### Mini-Z single-item burnout measure
    """
    keys = list(dict.fromkeys(scale_keys))
    unknown = [k for k in keys if k not in SCALES_BY_KEY]
    if unknown:
        raise ValueError(f"not a declared scale: {', '.join(unknown)}")
    chosen = set(keys)
    sections = ["## How the scales were scored", ""]
    for inst in INSTRUMENTS:
        scales = [s for s in inst.scales if s.key in chosen]
        if scales:
            sections.append(_instrument_section(inst, scales))
    if not chosen:
        sections.append("No scale was scored.\n")
    return "\n".join(sections).rstrip() + "\n"


def scale_caution_text(reliability: Reliability, scale_label: str = "this scale") -> str:
    """One sentence on a scale's internal consistency when it calls for caution.

    Parameters
    ----------
    reliability : Reliability
        From :func:`analysis.stats.reliability.cronbach_alpha`.
    scale_label : str
        The scale's name for users.

    Returns
    -------
    str
        Empty when α was estimated and is at least 0.70; otherwise the caution, or why
        α could not be estimated.

    Examples
    --------
    >>> scale_caution_text(Reliability(0.59, 0.19, 0.84, 15, 10, True, "ok"), "Burnout")
    ... # doctest: +NORMALIZE_WHITESPACE
    "Cronbach's α for Burnout is 0.59 (95% CI 0.19 to 0.84; n = 15, k = 10), below 0.70: its items
    agree less than usual, so read its results with caution."
    """
    if not reliability.ok:
        return (f"Cronbach's α for {scale_label} could not be estimated "
                f"({reliability.status}).")
    if not reliability.caution:
        return ""
    return (f"Cronbach's α for {scale_label} is {reliability.alpha:.2f} ({reliability.confidence:.0%} CI "
            f"{reliability.ci_low:.2f} to {reliability.ci_high:.2f}; n = {reliability.n}, "
            f"k = {reliability.k}), below {ALPHA_CAUTION:.2f}: its items agree less than "
            f"usual, so read its results with caution.")
