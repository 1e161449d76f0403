"""The current engagement as an SQL expression, for sorting and filtering lists at read time.

    sum over groups n of  g{n}_sign * 2 ** max(g{n}_k - (now - T0) * g{n}_rate, -1000)

(see decay.py). Each row carries its own rates, so rows scored by an older model version
during a rescore are still evaluated correctly. Leads without a score count as 0.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, FloatField, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Greatest, Power
from django.utils import timezone

from .config import MAX_GROUPS
from .decay import MIN_EXPONENT, T0_EPOCH


def engagement_expression(*, now: datetime | None = None, prefix: str = "score__") -> Combinable:
    """The engagement at ``now`` of the LeadScore reached through ``prefix`` (from a Lead
    queryset: "score__"; from LeadScore itself: "")."""
    x = (now or timezone.now()).timestamp() - T0_EPOCH
    total = None
    for n in range(1, MAX_GROUPS + 1):
        exponent = Greatest(
            F(f"{prefix}g{n}_k") - Value(x, output_field=FloatField()) * F(f"{prefix}g{n}_rate"),
            Value(MIN_EXPONENT, output_field=FloatField()),
            output_field=FloatField(),
        )
        term = F(f"{prefix}g{n}_sign") * Power(
            Value(2.0, output_field=FloatField()), exponent, output_field=FloatField()
        )
        total = term if total is None else total + term
    return Coalesce(total, Value(0.0, output_field=FloatField()), output_field=FloatField())
