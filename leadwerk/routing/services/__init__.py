"""Writes of the routing app, split by subject (``config``: the set-up; ``assignment``:
routing and the queue; ``response``: accept, reject, return; ``sla``: response-time clocks).
"""

from .assignment import (
    RouteOutcome,
    lead_owner_changed,
    lead_reassign,
    lead_route,
    lead_route_again,
)
from .config import (
    absence_create,
    absence_delete,
    calendar_save,
    channel_policy_set,
    customer_account_set,
    pool_member_add,
    pool_member_remove,
    pool_member_update,
    pool_save,
    rejection_reason_save,
    rule_delete,
    rule_move,
    rule_save,
    sla_policy_delete,
    sla_policy_save,
    team_calendar_set,
)
from .response import lead_accept, lead_reject, lead_return
from .sla import sla_response_recorded, sla_start, sla_step_run

__all__ = [
    "RouteOutcome",
    "absence_create",
    "absence_delete",
    "calendar_save",
    "channel_policy_set",
    "customer_account_set",
    "lead_accept",
    "lead_owner_changed",
    "lead_reassign",
    "lead_reject",
    "lead_return",
    "lead_route",
    "lead_route_again",
    "pool_member_add",
    "pool_member_remove",
    "pool_member_update",
    "pool_save",
    "rejection_reason_save",
    "rule_delete",
    "rule_move",
    "rule_save",
    "sla_policy_delete",
    "sla_policy_save",
    "sla_response_recorded",
    "sla_start",
    "sla_step_run",
    "team_calendar_set",
]
