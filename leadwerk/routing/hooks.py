"""The leads app's calls into routing: explicit, at the moment the lead changes.

``lead_transition`` (to MQL) and ``lead_intake`` register :func:`route_after_commit` with
``transaction.on_commit``: routing runs once the lead is committed, in its own transaction,
so the hand-off never waits on routing's locks. ``lead_update`` (owner changed by hand) and
``lead_log_activity`` (first response) call in inside their transaction so the assignment
record and the response-time clock change together with the lead.

Imports happen inside the functions: ``leads.services`` imports this module, and routing's
services import ``leads.services``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def route_after_commit(*, lead_id: int, trigger: str) -> None:
    """Route a lead that just became ready for sales (runs after commit)."""
    from .services.assignment import lead_route

    lead_route(lead_id=lead_id, trigger=trigger)


def route_at_intake_after_commit(*, lead_id: int, channel_id: int) -> None:
    """Route a new lead at once if its channel skips marketing qualification."""
    from .choices import Trigger
    from .models import RoutingChannelPolicy

    if RoutingChannelPolicy.objects.filter(channel_id=channel_id, route_at_intake=True).exists():
        route_after_commit(lead_id=lead_id, trigger=Trigger.INTAKE)


def owner_changed(*, lead, actor) -> None:
    """An owner was set or removed by hand (inside ``lead_update``'s transaction)."""
    from .services.assignment import lead_owner_changed

    lead_owner_changed(lead=lead, actor=actor)


def first_response(*, lead) -> None:
    """The lead got its first real response (inside ``lead_log_activity``'s transaction)."""
    from .services.sla import sla_response_recorded

    sla_response_recorded(lead=lead, at=lead.first_response_at)
