"""Exponential decay of engagement points, stored so that the current value needs no batch job.

Within one rule group every point decays with the same half-life ``h``::

    S(t) = sum_i p_i * 2 ** (-(t - t_i) / h)  =  C * 2 ** (-(t - T0) / h)
    with C = sum_i p_i * 2 ** ((t_i - T0) / h)

``C`` does not depend on ``t``: it changes only when an event is added or removed. Its sign
is therefore constant over time too (positive and negative points of one group decay
together), so a group is stored as ``sign`` and ``k = log2 |C|`` (``C`` itself overflows a
float after a few years of short half-lives; ``k`` never does). The value at any moment is
``sign * 2 ** (k - (t - T0) / h)`` - one expression that SQL evaluates per row at read time.

Times are POSIX seconds (floats). ``T0`` is a fixed epoch, not a moving reference, so anchors
stored years apart stay comparable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

T0 = datetime(2020, 1, 1, tzinfo=UTC)
T0_EPOCH = T0.timestamp()
DAY = 86_400.0
# 2 ** -1000 is about 1e-301: below that a term is zero for every practical purpose, and
# clamping the exponent keeps PostgreSQL's power() clear of float underflow errors.
MIN_EXPONENT = -1000.0
# Relative size below which a group's sum counts as exact cancellation (e.g. +10 and -10
# at the same moment).
_CANCEL = 1e-12


@dataclass(frozen=True)
class Anchor:
    """One rule group's engagement: sign * 2 ** (k - (t - T0) * rate)."""

    sign: int  # -1, 0 or 1
    k: float  # log2 |C|; 0.0 when sign == 0
    rate: float  # 1 / half-life in seconds

    @classmethod
    def zero(cls, half_life: float) -> Anchor:
        return cls(0, 0.0, 1.0 / half_life)

    @property
    def half_life(self) -> float:
        return 1.0 / self.rate

    def value_at(self, t: float) -> float:
        if self.sign == 0:
            return 0.0
        exponent = self.k - (t - T0_EPOCH) * self.rate
        if exponent < MIN_EXPONENT:
            return 0.0
        return self.sign * 2.0**exponent


def _anchor(values: list[float], exponents: list[float], rate: float) -> Anchor:
    """sign and log2 of sum(values[i] * 2 ** exponents[i]), scaled by the largest exponent
    and summed with ``fsum`` (correctly rounded: the order of the terms does not matter)."""
    if not values:
        return Anchor(0, 0.0, rate)
    top = max(exponents)
    scaled = [v * 2.0 ** (u - top) for v, u in zip(values, exponents, strict=True)]
    total = math.fsum(scaled)
    magnitude = sum(abs(x) for x in scaled)
    if total == 0.0 or abs(total) <= _CANCEL * magnitude:
        return Anchor(0, 0.0, rate)
    return Anchor(1 if total > 0 else -1, top + math.log2(abs(total)), rate)


def anchor_from(points: Iterable[tuple[float, float]], *, half_life: float) -> Anchor:
    """The anchor of a group from ``(points, time)`` pairs, all decaying with ``half_life``."""
    items = list(points)
    rate = 1.0 / half_life
    return _anchor([float(p) for p, _t in items], [(t - T0_EPOCH) * rate for _p, t in items], rate)


def anchor_extend(
    anchor: Anchor, points: Iterable[tuple[float, float]], *, half_life: float
) -> Anchor:
    """The anchor after adding ``(points, time)`` pairs (negative points take an event's
    contribution out again): C_new = C + sum p * 2 ** ((t - T0) / h), in the log domain.
    ``anchor`` must have been computed with the same ``half_life`` (or be zero)."""
    items = list(points)
    rate = 1.0 / half_life
    if not items:
        return anchor if anchor.sign else Anchor(0, 0.0, rate)
    values = [float(p) for p, _t in items]
    exponents = [(t - T0_EPOCH) * rate for _p, t in items]
    if anchor.sign:
        values.append(float(anchor.sign))
        exponents.append(anchor.k)
    return _anchor(values, exponents, rate)


def engagement_at(anchors: Iterable[Anchor], t: float) -> float:
    """The total engagement of all groups at time ``t``."""
    return math.fsum(a.value_at(t) for a in anchors)


def naive_engagement(points: Iterable[tuple[float, float, float]], t: float) -> float:
    """The definition, event by event: sum of p * 2 ** (-(t - t_i) / h) for ``(p, t_i, h)``.
    Only for tests and explanations; the anchors give the same number without the events."""
    return math.fsum(p * 2.0 ** (-(t - ti) / h) for p, ti, h in points)


# --- when does the engagement cross a threshold? ---------------------------------------
#
# Relative to a start time, E(start + x) - theta = sum_g c_g * exp(-lambda_g * x) - theta:
# an exponential sum (theta is the term with lambda = 0). Such a sum with n terms has at
# most n - 1 real roots, and between two consecutive roots of the derivative of
# f * exp(lambda_min * x) (which has the same sign as f, one term less after deriving) it
# is monotone. Recursing on the derivative isolates every sign change; bisection finds each
# one. This is exact up to the tolerance, also for mixed signs and several half-lives, where
# the engagement can fall and rise again.

Terms = list[tuple[float, float]]  # (coefficient, lambda >= 0)


def _value(terms: Terms, x: float) -> float:
    return math.fsum(c * math.exp(-lam * x) for c, lam in terms)


def _merge(terms: Terms) -> Terms:
    merged: dict[float, float] = {}
    for c, lam in terms:
        merged[lam] = merged.get(lam, 0.0) + c
    return [(c, lam) for lam, c in sorted(merged.items()) if c != 0.0]


def _sign_changes(terms: Terms, a: float, b: float, tol: float) -> list[float]:
    """Points in (a, b] where ``sum c * exp(-lam * x) >= 0`` flips, each to within ``tol``
    (the returned point lies on the far side of the flip)."""
    terms = _merge(terms)
    if len(terms) <= 1:
        return []
    mu = terms[0][1]
    # Evaluate the sign on f * exp(mu * x): the same sign, but its slowest term stays
    # constant, so far out it does not underflow to 0 and hide a sign change.
    norm = [(c, lam - mu) for c, lam in terms]
    derivative = [(-lam * c, lam) for c, lam in norm[1:]]
    critical = _sign_changes(derivative, a, b, tol / 4)
    points = [a, *[p for p in critical if a < p < b], b]
    found = []
    for lo, hi in pairwise(points):
        above_lo = _value(norm, lo) >= 0
        if (_value(norm, hi) >= 0) == above_lo:
            continue
        while hi - lo > tol:
            mid = (lo + hi) / 2
            if (_value(norm, mid) >= 0) == above_lo:
                lo = mid
            else:
                hi = mid
        found.append(hi)
    return found


def _first_drop(live: Sequence[Anchor], theta: float, start: float, tol: float) -> float | None:
    """For positive groups only: E falls monotonically (and convexly), so it crosses each
    threshold at most once, downwards. Closed form for one group, Newton's method from the
    left otherwise (on a convex falling function it never overshoots the root)."""
    if theta <= 0 or engagement_at(live, start) < theta:
        return None
    if len(live) == 1:
        a = live[0]
        t = max(start, T0_EPOCH + (a.k - math.log2(theta)) / a.rate)
    else:
        t = start
        for _ in range(50):
            f = engagement_at(live, t) - theta
            slope = -math.fsum(a.value_at(t) * a.rate * math.log(2) for a in live)
            if f <= 0 or slope == 0:
                break
            step = -f / slope
            t += step
            if step < tol / 4:
                break
    # Bracket the crossing (E(lo) >= theta > E(hi)) and bisect: bounded in every case.
    lo, step = t, tol / 2
    while engagement_at(live, lo + step) >= theta:
        lo, step = lo + step, step * 2
    hi = lo + step
    while hi - lo > tol / 2:
        mid = (lo + hi) / 2
        if engagement_at(live, mid) >= theta:
            lo = mid
        else:
            hi = mid
    return hi


def next_crossing(
    anchors: Sequence[Anchor],
    thresholds: Iterable[float],
    *,
    start: float,
    tol: float = 0.5,
) -> float | None:
    """The first moment after ``start`` at which ``E(t) >= theta`` changes for any of the
    ``thresholds`` through decay alone (no new events), or None if it never does.

    The returned moment is at most ``tol`` seconds after the exact crossing and never before
    it, so a check run then sees the new state.
    """
    live = [a for a in anchors if a.sign != 0]
    thresholds = sorted(set(thresholds))
    if not thresholds or not live:
        return None
    if all(a.sign > 0 for a in live):
        drops = [_first_drop(live, theta, start, tol) for theta in thresholds]
        return min((d for d in drops if d is not None), default=None)
    coefficients = [(a.value_at(start), a.rate * math.log(2)) for a in live]
    slowest = max((a.half_life for a in live), default=DAY)
    # After 80 half-lives of the slowest group every term is below 2**-80 of its value now.
    horizon = 80 * slowest
    best: float | None = None
    for theta in thresholds:
        changes = _sign_changes([*coefficients, (-theta, 0.0)], 0.0, horizon, tol)
        if changes and (best is None or changes[0] < best):
            best = changes[0]
    return None if best is None else start + best
