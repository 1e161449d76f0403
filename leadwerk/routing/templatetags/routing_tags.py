"""Template tags that put routing into shared pages: the navigation with the inbox badge,
and the routing panel on the lead page."""

from __future__ import annotations

from django import template

from ..forms import AcceptForm, RejectForm
from ..selectors import lead_routing, may_manage_routing, may_see_routing_reports

register = template.Library()


@register.inclusion_tag("routing/partials/nav.html", takes_context=True)
def routing_nav(context) -> dict:
    """The routing links; their counts (unread notifications, unassigned leads) load after
    the page (``routing:badges``), so no page pays for them."""
    request = context["request"]
    user = request.user
    return {
        "request": request,
        "may_manage": may_manage_routing(user),
        "may_report": may_see_routing_reports(user),
    }


@register.inclusion_tag("routing/partials/lead_panel.html", takes_context=True)
def lead_routing_panel(context, lead) -> dict:
    request = context["request"]
    routing = lead_routing(lead=lead, user=request.user)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "lead": lead,
        "routing": routing,
        "accept_form": AcceptForm(),
        "reject_form": RejectForm(),
    }
