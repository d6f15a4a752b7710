"""Decay, validity and confidence scales, as MISP, OpenCTI and STIX 2.1 define them."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

OPENCTI_DECAY_FACTOR = 3.0


def decay(base: float, elapsed_days: float, lifetime_days: float, speed: float) -> float:
    """MISP's polynomial: base * (1 - (t/tau)^(1/delta)); base for t <= 0, 0 from tau on."""
    if elapsed_days <= 0:
        return base
    if elapsed_days >= lifetime_days:
        return 0.0
    return max(0.0, base * (1.0 - math.pow(elapsed_days / lifetime_days, 1.0 / speed)))


def days_until(base: float, target: float, lifetime_days: float, speed: float) -> float | None:
    """Days until the score falls to target: tau * (1 - target/base)^delta."""
    if base == 0:
        return 0.0
    if target > base:
        return None
    return lifetime_days * math.pow(1.0 - target / base, speed)


def interval_days(months: int, days: int, seconds: float) -> float:
    """An interval in days as PostgreSQL's extract(epoch ...) counts it."""
    years = int(months / 12)  # truncated toward zero, as C divides
    rest = months - 12 * years
    return years * 365.25 + rest * 30 + days + seconds / 86400.0


def valid_until(
    base: float, last_seen: datetime, lifetime_days: float, speed: float, target: float
) -> datetime | None:
    days = days_until(base, target, lifetime_days, speed)
    if days is None:
        return None
    return last_seen + timedelta(microseconds=round(days * 86_400_000_000))


# STIX 2.1, appendix A: (lowest STIX value, highest, value it converts to, label).
SCALES: dict[str, list[tuple[int, int, int, str]]] = {
    "none-low-med-high": [
        (0, 0, 0, "None"),
        (1, 29, 15, "Low"),
        (30, 69, 50, "Med"),
        (70, 100, 85, "High"),
    ],
    "0-10": [(0, 4, 0, "0")]
    + [(10 * i - 5, 10 * i + 4, 10 * i, str(i)) for i in range(1, 10)]
    + [(95, 100, 100, "10")],
    "admiralty-credibility": [
        (0, 19, 10, "5/Improbable"),
        (20, 39, 30, "4/Doubtful"),
        (40, 59, 50, "3/Possibly True"),
        (60, 79, 70, "2/Probably True"),
        (80, 100, 90, "1/Confirmed by other sources"),
    ],
    "wep": [
        (0, 0, 0, "Impossible"),
        (1, 19, 10, "Highly Unlikely/Almost Certainly Not"),
        (20, 39, 30, "Unlikely/Probably Not"),
        (40, 59, 50, "Even Chance"),
        (60, 79, 70, "Likely/Probable"),
        (80, 99, 90, "Highly Likely/Almost Certain"),
        (100, 100, 100, "Certain"),
    ],
    "dni": [
        (0, 9, 5, "Almost No Chance/Remote"),
        (10, 19, 15, "Very Unlikely/Highly Improbable"),
        (20, 39, 30, "Unlikely/Improbable"),
        (40, 59, 50, "Roughly Even Chance/Roughly Even Odds"),
        (60, 79, 70, "Likely/Probable"),
        (80, 89, 85, "Very Likely/Highly Probable"),
        (90, 100, 95, "Almost Certain/Nearly Certain"),
    ],
}


def confidence_to(scale: str, value: int) -> str:
    for low, high, _, label in SCALES[scale]:
        if low <= value <= high:
            return label
    raise ValueError(value)


def confidence_from(scale: str, label: str) -> int:
    def fold(s: str) -> str:
        return " ".join(s.split()).lower()

    for _, _, stix, name in SCALES[scale]:
        if fold(label) in {fold(name), *(fold(a) for a in name.split("/"))}:
            return stix
    raise ValueError(label)


def noisy_or(probabilities: list[float]) -> float:
    product = 1.0
    for p in probabilities:
        product *= 1.0 - p
    return 1.0 - product


SIGHTING_WEIGHT = 0.1


def combined_score(
    confidences: list[int],
    sightings: list[tuple[datetime, str]],
    default_base: float,
    at: datetime,
    lifetime_days: float,
    speed: float,
) -> tuple[float, float]:
    """(base, score) of evidence made of STIX confidences and sightings, as documented in
    docs/scoring.md: noisy-OR of the sources (the default base when there are none), then
    one noisy-OR term per distinct (observer, day) sighting, decayed from the last one."""
    sources = noisy_or([c / 100 for c in confidences]) if confidences else default_base / 100
    independent = {(who, when.date()) for when, who in sightings}
    base = 100 * noisy_or([sources] + [SIGHTING_WEIGHT] * len(independent))
    if not sightings:
        return base, base
    elapsed = (at - max(when for when, _ in sightings)) / timedelta(days=1)
    return base, decay(base, elapsed, lifetime_days, speed)
