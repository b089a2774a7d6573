"""A Vega-Lite chart as static SVG for the leadership report (no script, prints as vectors).

Why static SVG rather than the Vega JavaScript bundle: the report is a document that is
mailed, previewed and printed; previews (mail, document stores) block scripts, so a
scripted chart would be blank there, and an SVG drawn at build time is the same
everywhere, needs no 0.9 MB bundle and holds nothing executable. What the dashboards
show on hover is kept without script: every mark that has a tooltip carries its
tooltip's words as its accessible label and as an SVG ``<title>`` (the browser's own
hover text), so each point, box or bar still says how many people stand behind it.

Safety: Vega's SVG writer escapes every text and attribute (checked in the tests with
hostile labels); :func:`vega_lite_svg` refuses output with a script, an embedded object
or an event attribute all the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import vl_convert

from analysis.views.figure_base import VegaLite

__all__ = ["REPORT_WIDTH", "vega_lite_svg"]

#: Plot width in the report (px): the page is 960 px wide; the SVG scales down on a phone.
REPORT_WIDTH = 840

#: Vega-Lite version drawn with: the newest 5.x vl-convert carries (the specs are v5).
VEGA_LITE_VERSION = "5.21"

#: Marks drawn as one path per series (a line, an area): their label would name only
#: the first point, so they get no hover text; their points (symbols) carry it.
_SERIES_MARKS = ("line mark", "area mark", "trail mark")

_TAG = re.compile(r"<\s*([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*\"[^\"]*\")*)\s*/?>")
_CLOSING = re.compile(r"</\s*[A-Za-z][\w:.-]*\s*>")
_ATTRIBUTE = re.compile(r'([\w:.-]+)\s*=\s*"([^"]*)"')
_UNSAFE_TAGS = {"script", "foreignobject", "iframe", "object", "embed", "use", "image"}

_LABELLED = re.compile(r'<(path|rect|line|text|circle)\b([^>]*?)\saria-label="([^"]*)"([^>]*?)/>')


def vega_lite_svg(figure: VegaLite, width: int = REPORT_WIDTH) -> str:
    """``figure`` drawn as an SVG element: ``width`` px wide where the chart lets the
    page choose, tooltips as hover titles, only marks with a tooltip labelled.

    Raises
    ------
    ValueError
        If the drawing holds anything executable (never expected: a guard).
    """
    spec = _labelled(figure.to_dict())
    _size(spec, width)
    svg = vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION)
    svg = _LABELLED.sub(_with_title, svg)
    if _unsafe(svg):
        raise ValueError("the chart's SVG holds a script, an embedded object or an event handler")
    return svg


def _unsafe(svg: str) -> bool:
    """Whether any element of ``svg`` can run or fetch something: a script or embedding
    element, an event attribute, a ``javascript:`` or outside link. Text is not looked
    at: Vega writes it escaped, so a label such as ``onerror=`` stays words."""
    for tag, attributes in _TAG.findall(svg):
        if tag.lower() in _UNSAFE_TAGS:
            return True
        for name, value in _ATTRIBUTE.findall(attributes):
            if name.lower().startswith("on") or (
                    name.lower().endswith("href") and not value.startswith("#")):
                return True
    # anything left that looks like markup is a tag the patterns could not read: refused
    return "<" in _CLOSING.sub("", _TAG.sub("", svg))


def _size(spec: dict[str, Any], width: int) -> None:
    """The report's width for a single (or layered) view; for facets and concatenations
    the width of each panel that has none of its own."""
    if "width" in spec:
        return
    if "mark" in spec or "layer" in spec:
        spec["width"] = width
        return
    view = spec.setdefault("config", {}).setdefault("view", {})
    view.setdefault("continuousWidth", width)
    view.setdefault("discreteWidth", width)


def _labelled(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with each mark that has a tooltip described by its tooltip's words
    (``Title: value; ...``) and every other mark left out of the accessible labels."""
    if "mark" in spec:
        tooltip = spec.get("encoding", {}).get("tooltip")
        fields = tooltip if isinstance(tooltip, list) else [tooltip] if isinstance(tooltip, Mapping) else []
        fields = [f for f in fields if isinstance(f, Mapping) and "field" in f]
        mark = spec["mark"] if isinstance(spec["mark"], Mapping) else {"type": spec["mark"]}
        if fields:
            words = " + '; ' + ".join(
                f"{json.dumps(str(f.get('title', f['field'])) + ': ')} + "
                f"(datum[{json.dumps(f['field'])}] == null ? '' : datum[{json.dumps(f['field'])}])"
                for f in fields)
            spec["transform"] = [*spec.get("transform", []),
                                 {"calculate": words, "as": "report_tooltip"}]
            spec["encoding"]["description"] = {"field": "report_tooltip"}
        else:
            mark = {**mark, "aria": False}
        spec["mark"] = mark
    for key in ("layer", "vconcat", "hconcat", "concat"):
        if key in spec:
            spec[key] = [_labelled(part) for part in spec[key]]
    if isinstance(spec.get("spec"), Mapping):  # a facet's or repeat's inner view
        spec["spec"] = _labelled(dict(spec["spec"]))
    return spec


def _with_title(match: re.Match[str]) -> str:
    """A labelled mark element with its label as hover text (``<title>``), unless it is
    one path for a whole series."""
    tag, before, label, after = match.groups()
    if any(kind in before + after for kind in _SERIES_MARKS):
        return match.group(0)
    # the label is already escaped for an attribute, so it is safe as element text too
    return f'<{tag}{before} aria-label="{label}"{after}><title>{label}</title></{tag}>'
