"""Instrument items recognised by their published wording, declared as data.

Survey tools export the question text as the header (or, for REDCap raw exports, in the
data dictionary's field label). :data:`ITEM_TEXTS` holds the published English wording of
every item of the CBI, ProQOL 5, OLBI, Mini-Z, BRS and UCLA-3 (MBI wording is proprietary
and never shipped; its scored subscales are accepted as columns instead).

Matching (:func:`match_item`) is tolerant of what the tools and survey builders do to a
question: case, punctuation, curly quotes, a matrix title before the item
("Please choose … - How often do you feel tired?"), a grid title around it
("Burnout [How often do you feel tired?]") and ProQOL's bracketed placeholders, which
programs fill with their own words ("those I [help]" → "those I support"). When several
items' wordings occur in one header, the longest wins ("I am happy that I chose to do
this work" is ProQOL item 30, not item 1 "I am happy").

:func:`answer_code` turns an answer into the instrument's code: a code as written, one of
the instrument's response labels, or a Mini-Z answer sentence (Mini-Z is accepted as
codes only by the contract).
"""

from __future__ import annotations

import re
from functools import lru_cache

from analysis.definitions.instruments import INSTRUMENTS_BY_KEY, normalize_label

#: Published item wording: (item column, text). ``[...]`` marks a placeholder that a
#: program may fill with its own words (ProQOL).
ITEM_TEXTS: tuple[tuple[str, str], ...] = (
    # Copenhagen Burnout Inventory (Kristensen et al. 2005)
    ("cbi_1", "How often do you feel tired?"),
    ("cbi_2", "How often are you physically exhausted?"),
    ("cbi_3", "How often are you emotionally exhausted?"),
    ("cbi_4", "How often do you think: \"I can't take it anymore\"?"),
    ("cbi_5", "How often do you feel worn out?"),
    ("cbi_6", "How often do you feel weak and susceptible to illness?"),
    ("cbi_7", "Is your work emotionally exhausting?"),
    ("cbi_8", "Do you feel burnt out because of your work?"),
    ("cbi_9", "Does your work frustrate you?"),
    ("cbi_10", "Do you feel worn out at the end of the working day?"),
    ("cbi_11", "Are you exhausted in the morning at the thought of another day at work?"),
    ("cbi_12", "Do you feel that every working hour is tiring for you?"),
    ("cbi_13", "Do you have enough energy for family and friends during leisure time?"),
    ("cbi_14", "Do you find it hard to work with clients?"),
    ("cbi_15", "Do you find it frustrating to work with clients?"),
    ("cbi_16", "Does it drain your energy to work with clients?"),
    ("cbi_17", "Do you feel that you give more than you get back when you work with clients?"),
    ("cbi_18", "Are you tired of working with clients?"),
    ("cbi_19", "Do you sometimes wonder how long you will be able to continue working with "
               "clients?"),
    # ProQOL 5 (Stamm 2010)
    ("proqol_1", "I am happy."),
    ("proqol_2", "I am preoccupied with more than one person I [help]."),
    ("proqol_3", "I get satisfaction from being able to [help] people."),
    ("proqol_4", "I feel connected to others."),
    ("proqol_5", "I jump or am startled by unexpected sounds."),
    ("proqol_6", "I feel invigorated after working with those I [help]."),
    ("proqol_7", "I find it difficult to separate my personal life from my life as a "
                 "[helper]."),
    ("proqol_8", "I am not as productive at work because I am losing sleep over traumatic "
                 "experiences of a person I [help]."),
    ("proqol_9", "I think that I might have been affected by the traumatic stress of those "
                 "I [help]."),
    ("proqol_10", "I feel trapped by my job as a [helper]."),
    ("proqol_11", "Because of my [helping], I have felt \"on edge\" about various things."),
    ("proqol_12", "I like my work as a [helper]."),
    ("proqol_13", "I feel depressed because of the traumatic experiences of the people I "
                  "[help]."),
    ("proqol_14", "I feel as though I am experiencing the trauma of someone I have "
                  "[helped]."),
    ("proqol_15", "I have beliefs that sustain me."),
    ("proqol_16", "I am pleased with how I am able to keep up with [helping] techniques and "
                  "protocols."),
    ("proqol_17", "I am the person I always wanted to be."),
    ("proqol_18", "My work makes me feel satisfied."),
    ("proqol_19", "I feel worn out because of my work as a [helper]."),
    ("proqol_20", "I have happy thoughts and feelings about those I [help] and how I could "
                  "help them."),
    ("proqol_21", "I feel overwhelmed because my case [work] load seems endless."),
    ("proqol_22", "I believe I can make a difference through my work."),
    ("proqol_23", "I avoid certain activities or situations because they remind me of "
                  "frightening experiences of the people I [help]."),
    ("proqol_24", "I am proud of what I can do to [help]."),
    ("proqol_25", "As a result of my [helping], I have intrusive, frightening thoughts."),
    ("proqol_26", "I feel \"bogged down\" by the system."),
    ("proqol_27", "I have thoughts that I am a \"success\" as a [helper]."),
    ("proqol_28", "I can't recall important parts of my work with trauma victims."),
    ("proqol_29", "I am a very caring person."),
    ("proqol_30", "I am happy that I chose to do this work."),
    # Oldenburg Burnout Inventory (Demerouti et al. 2003), English version
    ("olbi_1", "I always find new and interesting aspects in my work."),
    ("olbi_2", "There are days when I feel tired before I arrive at work."),
    ("olbi_3", "It happens more and more often that I talk about my work in a negative way."),
    ("olbi_4", "After work, I tend to need more time than in the past in order to relax and "
               "feel better."),
    ("olbi_5", "I can tolerate the pressure of my work very well."),
    ("olbi_6", "Lately, I tend to think less at work and do my job almost mechanically."),
    ("olbi_7", "I find my work to be a positive challenge."),
    ("olbi_8", "During my work, I often feel emotionally drained."),
    ("olbi_9", "Over time, one can become disconnected from this type of work."),
    ("olbi_10", "After working, I have enough energy for my leisure activities."),
    ("olbi_11", "Sometimes I feel sickened by my work tasks."),
    ("olbi_12", "After my work, I usually feel worn out and weary."),
    ("olbi_13", "This is the only type of work that I can imagine myself doing."),
    ("olbi_14", "Usually, I can manage the amount of my work well."),
    ("olbi_15", "I feel more and more engaged in my work."),
    ("olbi_16", "When I work, I usually feel energized."),
    # Mini-Z single burnout item (Rohland et al. 2004)
    ("miniz_1", "Using your own definition of burnout, please select one of the answers "
                "below"),
    # Brief Resilience Scale (Smith et al. 2008)
    ("brs_1", "I tend to bounce back quickly after hard times."),
    ("brs_2", "I have a hard time making it through stressful events."),
    ("brs_3", "It does not take me long to recover from a stressful event."),
    ("brs_4", "It is hard for me to snap back when something bad happens."),
    ("brs_5", "I usually come through difficult times with little trouble."),
    ("brs_6", "I tend to take a long time to get over set-backs in my life."),
    # UCLA 3-item Loneliness Scale (Hughes et al. 2004)
    ("ucla3_1", "How often do you feel that you lack companionship?"),
    ("ucla3_2", "How often do you feel left out?"),
    ("ucla3_3", "How often do you feel isolated from others?"),
)

#: Mini-Z answer sentences (their opening words suffice), in code order 1-5.
MINIZ_ANSWERS: tuple[tuple[str, int], ...] = (
    ("i enjoy my work", 1),
    ("i am under stress", 2),
    ("i am definitely burning out", 3),
    ("the symptoms of burnout that i m experiencing won t go away", 4),
    ("i feel completely burned out", 5),
)

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})
#: A placeholder may be filled by one to four words.
_FILLER = r"[a-z0-9']+(?: [a-z0-9']+){0,3}"


def normalize_text(text: str) -> str:
    """Lower case, straight quotes, punctuation as spaces, single spaces.

    Examples
    --------
    >>> normalize_text("How often do you think: “I can’t take it anymore”?")
    'how often do you think i can t take it anymore'
    """
    text = str(text or "").translate(_QUOTES).lower()
    return " ".join(re.sub(r"[^a-z0-9\[\]]+", " ", text).split())


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str], int], ...]:
    out = []
    for column, text in ITEM_TEXTS:
        words = normalize_text(text)
        parts = re.split(r"\[[^\]]*\]", words)
        body = _FILLER.join(re.escape(p.strip()).replace(r"\ ", " ") for p in parts)
        body = re.sub(r"\s*" + re.escape(_FILLER) + r"\s*", " " + _FILLER + " ", body)
        out.append((column, re.compile(r"(?:^| )" + " ".join(body.split()) + r"(?: |$)"),
                    len(words)))
    return tuple(out)


def match_item(header: str) -> str | None:
    """The item column whose published wording a header contains, or None.

    Examples
    --------
    >>> match_item("Please choose one - How often do you feel tired?")
    'cbi_1'
    >>> match_item("I feel invigorated after working with those I support.")
    'proqol_6'
    >>> match_item("Which practice do you work at?") is None
    True
    """
    text = normalize_text(header).replace("[", " ").replace("]", " ")
    text = " ".join(text.split())
    best: tuple[int, str] | None = None
    for column, pattern, length in _patterns():
        if pattern.search(text) and (best is None or length > best[0]):
            best = (length, column)
    return best[1] if best else None


def answer_code(column: str, answer: str) -> str:
    """The instrument code of an answer as text (``"3"``), or the answer unchanged.

    Accepts a code as written (``"3"``, ``"3.0"``), a response label of the instrument
    (case- and space-insensitive) or, for Mini-Z, the answer sentence. An answer that is
    none of these is returned as written so that validation names it.

    Examples
    --------
    >>> answer_code("cbi_9", "To a high degree"), answer_code("cbi_1", " 2 ")
    ('4', '2')
    """
    return _code(column.rpartition("_")[0], str(answer or "").strip())


@lru_cache(maxsize=8192)
def _code(instrument: str, text: str) -> str:
    # Cached: an export repeats a handful of answers hundreds of thousands of times.
    if not text:
        return ""
    inst = INSTRUMENTS_BY_KEY[instrument]
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and number.is_integer():
        return str(int(number))
    code = inst.label_codes.get(normalize_label(text.translate(_QUOTES)))
    if code is None and inst.key == "miniz":
        said = normalize_text(text)
        code = next((c for start, c in MINIZ_ANSWERS if said.startswith(start)), None)
    return str(code) if code is not None else text
