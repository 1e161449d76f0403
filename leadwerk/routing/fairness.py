"""Fair distribution inside a pool: who gets the next lead.

Each member has a share (1 = full; 0.5 for half time or a smaller partner tier) and a ledger
of what they received over the pool's horizon: a count and a quality sum (the leads'
expected values). Fair means both are proportional to the shares.

The pick works in two steps:

1. **Count first.** With N leads in the horizon (this one included), member i is owed
   ``w_i·N − c_i`` leads (w_i = share_i / sum of shares). Only members owed within one lead
   of the most-owed member are candidates, so counts stay as even as with round-robin.
2. **Quality among those.** A lead at least as good as the pool's mean goes to the candidate
   owed the most quality (``w_i·Q − q_i``), a weaker lead to the candidate owed the least:
   good and weak leads are dealt out like cards, and every member's quality sum follows its
   target closely instead of drifting like a random walk.

Ties break on a hash of the lead's and the member's ids: deterministic for a lead, and not
by seniority, name or the order members were added.

The functions here are pure (no database): the service feeds them the ledger totals, and
the simulation test runs them on 10,000 leads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from math import fsum

COUNT_TOLERANCE = 1.0
_EPS = 1e-9


@dataclass(frozen=True)
class MemberState:
    """One member's standing in the pool's ledger over the horizon."""

    key: str  # a stable public id (the user's UUID), for tie-breaks
    share: float
    count: float = 0.0
    quality: float = 0.0


@dataclass(frozen=True)
class Pick:
    key: str
    candidates: tuple[str, ...]
    owed_count: float
    owed_quality: float
    strong: bool  # the lead was at least as good as the pool's mean


def tiebreak(lead_key: str, member_key: str) -> int:
    digest = hashlib.sha256(f"{lead_key}|{member_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def fair_pick(
    available: Sequence[MemberState],
    *,
    pool: Sequence[MemberState],
    quality: float,
    lead_key: str,
    tolerance: float = COUNT_TOLERANCE,
) -> Pick | None:
    """The member of ``available`` who keeps ``pool`` fairest when given this lead.

    ``pool`` holds every active member (also those absent or full right now): the targets
    are shares of the whole pool, so a member who was away catches up afterwards.
    """
    if not available:
        return None
    # fsum: exactly rounded, so the order of the members cannot change the outcome.
    total_share = fsum(m.share for m in pool) or fsum(m.share for m in available)
    n = fsum(m.count for m in pool) + 1
    q = fsum([*(m.quality for m in pool), quality])
    owed_count = {m.key: m.share / total_share * n - m.count for m in available}
    most = max(owed_count.values())
    candidates = [m for m in available if owed_count[m.key] > most - tolerance + _EPS]
    owed_quality = {m.key: m.share / total_share * q - m.quality for m in candidates}
    strong = quality >= q / n - _EPS
    if strong:
        chosen = max(candidates, key=lambda m: (owed_quality[m.key], tiebreak(lead_key, m.key)))
    else:
        chosen = min(candidates, key=lambda m: (owed_quality[m.key], -tiebreak(lead_key, m.key)))
    return Pick(
        key=chosen.key,
        candidates=tuple(sorted(m.key for m in candidates)),
        owed_count=owed_count[chosen.key],
        owed_quality=owed_quality[chosen.key],
        strong=strong,
    )


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values: 0 = all equal, towards 1 = one has all."""
    xs = sorted(max(v, 0.0) for v in values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((2 * i - n + 1) * x for i, x in enumerate(xs))
    return weighted / (n * total)


def max_min_ratio(values: Sequence[float]) -> float | None:
    """Largest over smallest value; None when the smallest is zero or there are none."""
    xs = list(values)
    if not xs or min(xs) <= 0:
        return None
    return max(xs) / min(xs)
