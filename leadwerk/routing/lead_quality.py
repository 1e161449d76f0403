"""The expected value of a lead, on one scale where a typical lead is about 1.0.

The fairness ledger balances the sum of this value per member, next to the count. With
scoring, the value follows the score (a conversion probability wins where one exists);
without, it is the channel's value weight (a trade-fair lead is worth more than a web lead,
seed 001) times a factor for the company's size.

With a score: the fit grade's factor times the engagement score (after decay) over 50.
"""

from __future__ import annotations

# Employee band -> factor: larger companies buy more.
SIZE_FACTOR: dict[str, float] = {
    "1-9": 0.6,
    "10-49": 0.8,
    "50-249": 1.0,
    "250-999": 1.2,
    "1000-4999": 1.35,
    "5000+": 1.5,
    "": 0.8,
}
# Fit grade -> factor on the engagement score: the same interest from a better-fitting
# company is worth more.
FIT_FACTOR: dict[str, float] = {"A": 1.5, "B": 1.2, "C": 0.9, "D": 0.6}
# An engagement score of 50 and a conversion probability of 10 % count as a typical lead.
SCORE_TYPICAL = 50.0
PROBABILITY_TYPICAL = 0.10


def lead_quality(facts: dict) -> float:
    """The lead's expected value (never negative)."""
    probability = facts.get("conversion_probability")
    if probability is not None:
        return max(float(probability), 0.0) / PROBABILITY_TYPICAL
    score = facts.get("score")
    if score is not None:
        fit = FIT_FACTOR.get(facts.get("fit_grade") or "", 1.0)
        return fit * max(float(score), 0.0) / SCORE_TYPICAL
    weight = facts.get("channel_value")
    weight = 1.0 if weight is None else float(weight)
    return max(weight, 0.0) * SIZE_FACTOR.get(facts.get("employee_band") or "", 0.8)
