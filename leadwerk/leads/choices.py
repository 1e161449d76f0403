from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """Lifecycle stages (PRODUCT.md: new → MQL → SAL → SQL → opportunity → won/lost)."""

    NEW = "new", _("New")
    MQL = "mql", _("MQL")
    SAL = "sal", _("SAL")
    SQL = "sql", _("SQL")
    OPPORTUNITY = "opportunity", _("Opportunity")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    RECYCLED = "recycled", _("Recycled")
    DISQUALIFIED = "disqualified", _("Disqualified")


# The allowed moves. Direct inquiries may skip marketing qualification (new → SAL);
# sales hands leads back to nurturing (→ recycled) or rules them out (→ disqualified).
TRANSITIONS: dict[str, frozenset[str]] = {
    Stage.NEW: frozenset({Stage.MQL, Stage.SAL, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.MQL: frozenset({Stage.SAL, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.SAL: frozenset({Stage.SQL, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.SQL: frozenset({Stage.OPPORTUNITY, Stage.LOST, Stage.RECYCLED, Stage.DISQUALIFIED}),
    Stage.OPPORTUNITY: frozenset({Stage.WON, Stage.LOST}),
    Stage.WON: frozenset(),
    Stage.LOST: frozenset({Stage.RECYCLED}),
    Stage.RECYCLED: frozenset({Stage.MQL, Stage.SAL, Stage.DISQUALIFIED}),
    Stage.DISQUALIFIED: frozenset({Stage.RECYCLED}),
}
# Moves into these stages need a reason.
REASON_REQUIRED: frozenset[str] = frozenset({Stage.LOST, Stage.RECYCLED, Stage.DISQUALIFIED})
CLOSED_STAGES: frozenset[str] = frozenset({Stage.WON, Stage.LOST, Stage.DISQUALIFIED})
OPEN_STAGES: frozenset[str] = frozenset(s for s in Stage.values if s not in CLOSED_STAGES)


class LeadSource(models.TextChoices):
    """How the lead entered the system."""

    API = "api", _("API")
    FORM = "form", _("Web form")
    MANUAL = "manual", _("Manual entry")
    IMPORT = "import", _("Import")
    DEMO = "demo", _("Demo data")
