"""What lead scoring holds about a person, for the data-subject export and the erasure.

Scores are numbers about the person's leads: fit points and grade, engagement anchors, the
matrix cell and label, snapshots at automatic stage changes. The explanation (which fit
rules matched which of the person's values, which of their events count) is computed from
the lead, the person and the timeline when asked; it is exported (Art. 15 and 22: the logic
of profiling), never stored. None of these rows holds a name, an address, a visitor id or a
page URL (web visits and event properties are activities, anonymised by that section), so
erasure changes nothing here: the scores stay as anonymous figures for the funnel and the
sales-feedback report.
"""

from __future__ import annotations

from leadwerk.contacts.models import Person
from leadwerk.leads.models import Lead
from leadwerk.privacy.registry import ErasureContext, register_section

from .models import LeadScore, ScoreSnapshot
from .selectors import lead_score_explain, score_brief


def _dt(value):
    return value.isoformat() if value else None


def _explain(lead: Lead) -> dict | None:
    explanation = lead_score_explain(lead=lead, chart=False)
    if explanation is None:
        return None
    return {
        "model": explanation.model.name,
        "model_version": explanation.model.number,
        "fit_rules_matched": [
            {"rule": r["label"], "field": r["field"], "value": r["seen"], "points": r["points"]}
            for r in explanation.fit_rules
            if r["matched"]
        ],
        "events_counted": [
            {
                "type": e["type"],
                "at": _dt(e["occurred_at"]),
                "rule": e["rule_label"],
                "points": e["points"],
                "points_now": e["points_now"],
            }
            for e in explanation.events
            if e["counted"]
        ],
        "engagement_groups": [
            {"group": g["name"], "value": g["value"]} for g in explanation.groups
        ],
    }


def scores_export(person: Person) -> list[dict]:
    out = []
    leads = Lead.objects.filter(person=person).select_related("person", "company", "channel")
    scores = {s.lead_id: s for s in LeadScore.objects.filter(lead__person=person)}
    for lead in leads.order_by("created_at", "id"):
        score = scores.get(lead.pk)
        if score is None:
            continue
        out.append(
            {
                "lead": str(lead.uuid),
                "computed_at": _dt(score.computed_at),
                **score_brief(score),
                "explanation": _explain(lead),
                "at_stage_changes": [
                    {
                        "kind": s.kind,
                        "at": _dt(s.at),
                        "fit_grade": s.fit_grade,
                        "engagement": s.engagement,
                        "label": s.label,
                    }
                    for s in ScoreSnapshot.objects.filter(lead=lead).order_by("at", "id")
                ],
            }
        )
    return out


def scores_erase(ctx: ErasureContext) -> int:
    """Nothing to remove: see the module's description."""
    return 0


def register() -> None:
    register_section("scores", export=scores_export, erase=scores_erase, order=80)
