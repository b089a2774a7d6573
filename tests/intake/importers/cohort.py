"""One synthetic cohort of 60 clinicians with known answers, and the analyst's results.

Every export fixture in this folder is written from this cohort, so that each importer
can be held to the same numbers: the CBI scale means per wave a careful analyst gets
from the answers (computed here independently of the app's scoring code) and the number
of distinct person × date sessions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

SITES = ("Harbor Family Practice", "Northside Counselling", "Riverside Psychology")
ROLES = ("psychologist", "counselor", "social worker")
WAVES = (("baseline", date(2025, 3, 10)), ("6 months", date(2025, 9, 8)))
#: Group session dates (days 1-12 so that month-first and day-first readings differ).
MEETINGS = (date(2025, 4, 2), date(2025, 5, 7), date(2025, 6, 4), date(2025, 7, 2))
FREQUENCY = ("Never/almost never", "Seldom", "Sometimes", "Often", "Always")
DEGREE = ("To a very low degree", "To a low degree", "Somewhat", "To a high degree",
          "To a very high degree")
DEGREE_ITEMS = (7, 8, 9, 14, 15, 16, 17)
UCLA = ("Hardly ever", "Some of the time", "Often")
MINIZ = ("I enjoy my work. I have no symptoms of burnout.",
         "I am under stress, and don’t always have as much energy as I once did, but I "
         "don’t feel burned out.",
         "I am definitely burning out and have one or more symptoms of burnout, such as "
         "physical and emotional exhaustion.",
         "The symptoms of burnout that I’m experiencing won’t go away. I think about "
         "frustration at work a lot.",
         "I feel completely burned out and often wonder if I can go on. I am at the point "
         "where I may need some changes or may need to seek some sort of help.")


@dataclass(frozen=True)
class Clinician:
    """One person: how the exports spell their e-mail, where they work."""

    number: int
    email: str
    site: str
    role: str

    @property
    def messy_email(self) -> str:
        """The address as a respondent might type it (case, spaces)."""
        return f"  {self.email.upper()} " if self.number % 7 == 3 else self.email


@dataclass(frozen=True)
class Response:
    """One clinician's answers at one wave (codes; None = not answered)."""

    clinician: Clinician
    wave: str
    finished: datetime
    cbi: dict[int, int | None]
    miniz: int
    ucla: tuple[int, int, int]
    comment: str

    def label(self, item: int) -> str:
        """The CBI answer as choice text (frequency or degree set), blank if unanswered."""
        code = self.cbi[item]
        if code is None:
            return ""
        return (DEGREE if item in DEGREE_ITEMS else FREQUENCY)[code - 1]

    @property
    def partial(self) -> bool:
        return any(v is None for v in self.cbi.values())


def cohort() -> list[Clinician]:
    """The 60 clinicians, 20 per practice."""
    return [Clinician(i, f"clinician{i:02d}@peer-example.org", SITES[i % 3], ROLES[i % 3])
            for i in range(60)]


def responses(seed: int = 16) -> list[Response]:
    """60 baseline responses and 56 at 6 months (4 people did not answer again).

    Three responses are partial: one stops after item 14 (so its client-related score is
    missing: 1 of 6 items), one skips items 1-4 (personal: 2 of 6, missing), one skips
    item 13 only (work still scored from 6 of 7).
    """
    rng = random.Random(seed)
    out = []
    for wave, start in WAVES:
        for person in cohort():
            if wave != "baseline" and person.number in (11, 23, 37, 52):
                continue
            level = rng.randint(1, 3) + (1 if person.number % 5 == 0 else 0)
            cbi: dict[int, int | None] = {
                i: min(5, max(1, level + rng.choice((-1, 0, 0, 1)))) for i in range(1, 20)}
            if wave == "baseline" and person.number == 5:
                cbi.update({i: None for i in range(15, 20)})
            if wave == "baseline" and person.number == 8:
                cbi.update({i: None for i in range(1, 5)})
            if wave != "baseline" and person.number == 9:
                cbi[13] = None
            when = datetime.combine(start + timedelta(days=person.number % 9),
                                    time(8 + person.number % 10, (person.number * 7) % 60, 22))
            out.append(Response(person, wave, when, cbi, rng.randint(1, 5),
                                (rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3)),
                                f"Thanks, comment number {person.number} from me today."))
    return out


def wave_responses(wave: str) -> list[Response]:
    return [r for r in responses() if r.wave == wave]


def analyst_means() -> dict[tuple[str, str], tuple[float, int]]:
    """(wave, scale) → (mean score, n scored), computed as the publication says.

    CBI: code c scores (c - 1) * 25; item 13 reversed; a scale is the mean of its
    answered items when at least 3 of 6 (personal), 4 of 7 (work), 3 of 6 (client) are
    answered.
    """
    scales = {"cbi_personal": (range(1, 7), 3), "cbi_work": (range(7, 14), 4),
              "cbi_client": (range(14, 20), 3)}
    sums: dict[tuple[str, str], list[float]] = {}
    for r in responses():
        for name, (items, need) in scales.items():
            scores = [((6 - r.cbi[i] if i == 13 else r.cbi[i]) - 1) * 25 for i in items
                      if r.cbi[i] is not None]
            if len(scores) >= need:
                sums.setdefault((r.wave, name), []).append(sum(scores) / len(scores))
    return {k: (sum(v) / len(v), len(v)) for k, v in sums.items()}


def sessions(seed: int = 16) -> list[tuple[Clinician, date]]:
    """Who attended which meeting: clinicians 0-29, clinician 0 (the host) at every one."""
    rng = random.Random(seed + 1)
    out = []
    for day in MEETINGS:
        for person in cohort()[:30]:
            if person.number == 0 or rng.random() < 0.55:
                out.append((person, day))
    return out


def expected_sessions() -> int:
    """Distinct person × date sessions in :func:`sessions`."""
    return len({(p.email, d) for p, d in sessions()})
