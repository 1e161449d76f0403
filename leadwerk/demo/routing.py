"""The demo company's lead routing (issue 4): business calendars with the federal states'
holidays, pools with shares and capacities, ordered rules with a default rule, an absence,
response-time policies, and a history of assignments that is consistent with all of it.

The set-up goes through the routing services, like an admin would. The history of the
thousands of older leads is simulated in memory with the same pure pieces the live router
uses (rule matcher, fair pick, lead quality, business clocks) and bulk-written; the few
leads waiting for sales right now are routed by ``lead_route`` itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from leadwerk.activities.choices import ActivityType
from leadwerk.routing.calendars import calendar_clocks, calendar_id_for
from leadwerk.routing.choices import (
    AssignmentStatus,
    LedgerKind,
    PoolKind,
    RejectionKind,
    TargetType,
    TimerState,
    Trigger,
)
from leadwerk.routing.conditions import conditions_match
from leadwerk.routing.decision import horizon_start
from leadwerk.routing.fairness import MemberState, fair_pick
from leadwerk.routing.lead_facts import lead_profile_facts
from leadwerk.routing.lead_quality import lead_quality
from leadwerk.routing.models import (
    Absence,
    Assignment,
    LeadRejection,
    LedgerEntry,
    Pool,
    RejectionReason,
    RoutingRule,
    SlaPolicy,
    SlaTimer,
)
from leadwerk.routing.services import (
    absence_create,
    calendar_save,
    pool_member_add,
    pool_save,
    rule_save,
    sla_policy_save,
    team_calendar_set,
)
from leadwerk.routing.services.sla import sla_terms

WEEKDAYS = range(5)
# The routing rules in order: (name, conditions, pool); no conditions: the default rule.
RULES = [
    ("Partner-Kanal an das Partnernetz", {"channels": ["partner"]}, "partners"),
    ("Österreich und Schweiz", {"countries": ["AT", "CH"]}, "mixed"),
    (
        "Kleinstunternehmen (unter 10 Mitarbeitende)",
        {"countries": ["DE"], "company_sizes": ["1-9"]},
        "mixed",
    ),
    (
        "Süddeutschland (BY, BW, HE, RP, SL)",
        {"federal_states": ["BY", "BW", "HE", "RP", "SL"]},
        "sued",
    ),
    (
        "Norddeutschland (PLZ 0–5)",
        {"countries": ["DE"], "postal_codes": ["01000-59999"]},
        "nord",
    ),
    ("Alle übrigen Leads", {}, "nord"),
]


def _holidays(start: date, end: date) -> list[tuple[date, str]]:
    """Christmas Eve and New Year's Eve: the company's own days off, every year."""
    days = []
    for year in range(start.year, end.year + 1):
        days += [(date(year, 12, 24), "Heiligabend"), (date(year, 12, 31), "Silvester")]
    return days


@dataclass
class _PoolSim:
    pool: Pool
    members: list  # users
    shares: dict[int, float]
    calendar_id: int | None
    ledger: dict[tuple[int, int], list[float]] = field(default_factory=dict)  # (year, user)


@dataclass
class HistoricAssignment:
    lead_index: int
    user: object
    pool: Pool
    rule: RoutingRule
    quality: float
    assigned_at: datetime
    accepted_at: datetime | None = None
    rejection: RejectionReason | None = None
    rejected_at: datetime | None = None
    rejection_text: str = ""


class DemoRouting:
    """Sets routing up and assigns the demo's historic leads as the rules would have."""

    def __init__(self, *, users: dict, teams: dict, channels: dict, start: datetime, now: datetime):
        self.users, self.teams, self.channels = users, teams, channels
        self.start, self.now = start, now
        self.history: list[HistoricAssignment] = []

    # --- set-up through the services -----------------------------------------------------
    def setup(self) -> None:
        u, t = self.users, self.teams
        office = [(d, time(8), time(17)) for d in WEEKDAYS]
        holidays = _holidays(self.start.date(), self.now.date() + timedelta(days=400))
        sued_cal = calendar_save(
            name="Vertrieb Süd (Bayern)",
            subdivision="BY",
            hours=[(d, time(8), time(12)) for d in WEEKDAYS]
            + [(d, time(13), time(17, 30)) for d in range(4)]
            + [(4, time(13), time(15))],
            company_holidays=holidays,
        )
        nord_cal = calendar_save(
            name="Vertrieb Nord (Hamburg)",
            subdivision="HH",
            hours=office,
            company_holidays=holidays,
        )
        partner_cal = calendar_save(
            name="Partner (Nordrhein-Westfalen)", subdivision="NW", hours=office
        )
        team_calendar_set(team=t["Vertrieb Süd"], calendar=sued_cal)
        team_calendar_set(team=t["Vertrieb Nord"], calendar=nord_cal)
        sued = pool_save(name="Vertrieb Süd", kind=PoolKind.TEAM, team=t["Vertrieb Süd"])
        nord = pool_save(name="Vertrieb Nord", kind=PoolKind.TEAM, team=t["Vertrieb Nord"])
        partners = pool_save(name="Partnernetz", kind=PoolKind.PARTNER, calendar=partner_cal)
        mixed = pool_save(
            name="Kleinstunternehmen & DACH (gemischt)",
            kind=PoolKind.MIXED,
            team=t["Vertrieb Süd"],
        )
        joined = self.start - timedelta(days=1)
        for pool, username, share, capacity in (
            (sued, "rep", None, None),
            (sued, "rep2", Decimal("0.50"), 120),  # part time
            (nord, "rep3", None, None),
            (nord, "rep4", None, 200),
            (partners, "partner", None, None),  # gold: full share
            (partners, "partner2", None, None),  # silver: 0.75
            (mixed, "rep2", Decimal("0.50"), None),
            (mixed, "rep3", Decimal("0.50"), None),
            (mixed, "partner", None, None),
        ):
            pool_member_add(pool=pool, user=u[username], share=share, capacity=capacity, now=joined)
        # Sophie Ößwald is on holiday this week: her leads go to her colleague meanwhile.
        day = self.now.date()
        monday = day - timedelta(days=day.weekday())
        absence_create(
            user=u["rep4"],
            starts_at=datetime.combine(monday - timedelta(days=2), time(0), tzinfo=self.now.tzinfo),
            ends_at=datetime.combine(monday + timedelta(days=7), time(6), tzinfo=self.now.tzinfo),
            note="Urlaub",
            actor=u["manager"],
        )
        pools = {"sued": sued, "nord": nord, "partners": partners, "mixed": mixed}
        for name, conditions, pool in RULES:
            rule_save(
                name=name,
                conditions=conditions,
                target_type=TargetType.POOL,
                target_pool=pools[pool],
                is_default=not conditions,
            )
        # Partners answer within two business days; the general policies (one business
        # day, hot leads one business hour) come with the installation.
        sla_policy_save(
            channel=self.channels["partner"],
            response_value=2,
            response_unit="days",
            reminder_percents=(50,),
        )
        self._prepare_simulation()

    def _prepare_simulation(self) -> None:
        self.rules = list(RoutingRule.objects.filter(is_active=True).select_related("target_pool"))
        self.sims: dict[int, _PoolSim] = {}
        for pool in Pool.objects.prefetch_related("members__user"):
            members = [m for m in pool.members.all() if m.is_active]
            self.sims[pool.pk] = _PoolSim(
                pool=pool,
                members=[m.user for m in members],
                shares={m.user_id: float(m.share) for m in members},
                calendar_id=calendar_id_for(pool=pool),
            )
        self.absences = list(Absence.objects.values_list("user_id", "starts_at", "ends_at"))
        # The reasons sales may give without an explanation, by where they send the lead.
        self.reasons: dict[str, list[RejectionReason]] = defaultdict(list)
        for reason in RejectionReason.objects.filter(is_active=True, requires_text=False):
            self.reasons[reason.outcome].append(reason)
        self.clocks = calendar_clocks(
            {s.calendar_id for s in self.sims.values() if s.calendar_id is not None}
        )

    # --- the history ---------------------------------------------------------------------
    def assign(
        self,
        *,
        lead,
        index: int,
        assigned: datetime,
        accepted_at: datetime | None = None,
        rejected: tuple[str, datetime] | None = None,
        rng=None,
    ) -> HistoricAssignment:
        """Assign a not yet saved demo lead at ``assigned`` as the router would have, and
        remember it for :meth:`write_history`. ``rejected``: (stage, when) the owner rejected
        it with a reason that leads to that stage."""
        user, pool, rule, quality = self.pick(lead=lead, at=assigned)
        item = HistoricAssignment(
            lead_index=index,
            user=user,
            pool=pool,
            rule=rule,
            quality=quality,
            assigned_at=assigned,
            accepted_at=accepted_at,
        )
        if rejected is not None:
            stage, item.rejected_at = rejected
            item.rejection = rng.choice(self.reasons[stage])
            with translation.override(settings.LANGUAGE_CODE):
                item.rejection_text = _("Rejected by sales: %(reason)s") % {
                    "reason": item.rejection.label
                }
        self.history.append(item)
        return item

    @staticmethod
    def assignment_activity(item: HistoricAssignment) -> tuple:
        """The timeline entry of a hand-over, as the builder collects them."""
        return (
            ActivityType.ASSIGNMENT,
            item.assigned_at,
            None,
            str(item.user),
            {
                "from": None,
                "to": str(item.user),
                "trigger": Trigger.MQL,
                "rule": item.rule.name,
                "pool": item.pool.name,
                "quality": round(item.quality, 3),
            },
        )

    def pick(self, *, lead, at: datetime):
        """The owner the rules and the fair distribution give a lead ready at ``at``:
        (user, pool, rule, quality)."""
        facts = lead_profile_facts(
            company=lead.company,
            channel=lead.channel,
            campaign=lead.campaign,
            product_interest=lead.product_interest,
        )
        rule = next(r for r in self.rules if r.is_default or conditions_match(r.conditions, facts))
        sim = self.sims[rule.target_pool_id]
        quality = lead_quality(facts)
        year = horizon_start(sim.pool, at).year
        absent = {uid for uid, s, e in self.absences if s <= at < e}
        states = {
            user.pk: MemberState(
                key=str(user.uuid),
                share=sim.shares[user.pk],
                count=sim.ledger.get((year, user.pk), [0.0, 0.0])[0],
                quality=sim.ledger.get((year, user.pk), [0.0, 0.0])[1],
            )
            for user in sim.members
        }
        available = [states[u.pk] for u in sim.members if u.pk not in absent]
        chosen = fair_pick(
            available, pool=list(states.values()), quality=quality, lead_key=str(lead.uuid)
        )
        by_key = {states[u.pk].key: u for u in sim.members}
        user = by_key[chosen.key]
        entry = sim.ledger.setdefault((year, user.pk), [0.0, 0.0])
        entry[0] += 1.0
        entry[1] += quality
        return user, sim.pool, rule, quality

    def write_history(self, leads: list) -> tuple[int, int, list[tuple]]:
        """Bulk-write the assignments, ledger lines and response-time clocks of the history.
        Returns (assignments, breaches, SLA notes as activity tuples per lead index)."""
        policy = SlaPolicy.objects.filter(channel=None, label="", is_active=True).first()
        partner_policy = SlaPolicy.objects.filter(
            channel=self.channels["partner"], label=""
        ).first()
        assignments, ledger, timers, notes, rejections = [], [], [], [], []
        breaches = 0
        for item in self.history:
            lead = leads[item.lead_index]
            assignment = Assignment(
                lead=lead,
                user=item.user,
                pool=item.pool,
                rule=item.rule,
                rule_name=item.rule.name,
                trigger=Trigger.MQL,
                quality=item.quality,
                ready_at=item.assigned_at,
                assigned_at=item.assigned_at,
                status=AssignmentStatus.REJECTED if item.rejection else AssignmentStatus.ACCEPTED,
                accepted_at=item.accepted_at,
                ended_at=item.rejected_at,
            )
            assignments.append(assignment)
        Assignment.objects.bulk_create(assignments, batch_size=1000)
        managers = {
            pool_id: (sim.pool.team.manager if sim.pool.team_id else self.users["manager"])
            for pool_id, sim in self.sims.items()
        }
        for item, assignment in zip(self.history, assignments, strict=True):
            lead = leads[item.lead_index]
            ledger.append(
                LedgerEntry(
                    pool=item.pool,
                    user=item.user,
                    kind=LedgerKind.ASSIGNMENT,
                    count=1.0,
                    quality=item.quality,
                    at=item.assigned_at,
                    lead=lead,
                    assignment=assignment,
                )
            )
            use = partner_policy if lead.channel_id == partner_policy.channel_id else policy
            terms = sla_terms(use)
            sim = self.sims[item.pool.pk]
            clock = self.clocks[sim.calendar_id]
            due = clock.due(item.assigned_at, terms["value"], terms["unit"])
            opened = clock.next_open(item.assigned_at)
            total = clock.minutes_between(opened, due)
            reminders = [
                (p, clock.add_minutes(opened, total * p / 100)) for p in terms["reminders"]
            ]
            responded = lead.first_response_at if item.rejection is None else None
            stopped = responded or item.rejected_at or lead.closed_at or lead.stage_changed_at
            breached = stopped > due
            manager = managers[item.pool.pk] if breached else None
            timers.append(
                SlaTimer(
                    lead=lead,
                    assignment=assignment,
                    owner=item.user,
                    policy=use,
                    terms={**terms, "label": ""},
                    calendar_id=sim.calendar_id,
                    started_at=item.assigned_at,
                    due_at=due,
                    reminder_times=[{"percent": p, "at": at.isoformat()} for p, at in reminders],
                    reminders_sent=[p for p, at in reminders if responded and at < responded],
                    state=TimerState.RESPONDED if responded else TimerState.CANCELLED,
                    responded_at=responded,
                    stopped_at=stopped,
                    stop_reason="first response" if responded else "rejected",
                    breached_at=due if breached else None,
                    escalated_to=manager,
                )
            )
            if item.rejection is not None:
                rejections.append(
                    LeadRejection(
                        lead=lead,
                        assignment=assignment,
                        kind=RejectionKind.REJECTED,
                        reason=item.rejection,
                        by=item.user,
                        at=item.rejected_at,
                        facts={
                            "channel": lead.channel.slug,
                            "campaign": lead.campaign.slug if lead.campaign else None,
                            "fit_grade": None,
                            "label": None,
                            "score": None,
                            "quality": round(item.quality, 3),
                            "pool": item.pool.name,
                        },
                    )
                )
            if breached:
                breaches += 1
                with translation.override("de"):
                    subject = _("Response time missed by %(owner)s; escalated to %(manager)s.") % {
                        "owner": item.user,
                        "manager": manager,
                    }
                notes.append(
                    (
                        item.lead_index,
                        (
                            ActivityType.SLA,
                            due,
                            None,
                            subject,
                            {
                                "step": "breach",
                                "due_at": due.isoformat(),
                                "escalated_to": str(manager),
                            },
                        ),
                    )
                )
        LedgerEntry.objects.bulk_create(ledger, batch_size=2000)
        SlaTimer.objects.bulk_create(timers, batch_size=1000)
        LeadRejection.objects.bulk_create(rejections, batch_size=1000)
        return len(assignments), breaches, notes

    # --- leads waiting for sales now -----------------------------------------------------
    def route_waiting(self) -> int:
        """Route the fresh MQLs with the live router, at the moment each became an MQL: they
        wait in the owners' inboxes for accept or reject, with their clocks running."""
        from leadwerk.leads.choices import Stage
        from leadwerk.leads.models import Lead
        from leadwerk.routing.services import lead_route

        waiting = Lead.objects.filter(stage=Stage.MQL, owner__isnull=True).order_by(
            "stage_changed_at", "id"
        )
        routed = 0
        for lead_id, ready in waiting.values_list("pk", "stage_changed_at"):
            outcome = lead_route(
                lead_id=lead_id,
                trigger=Trigger.MQL,
                now=min(ready + timedelta(minutes=3), self.now),
                ready_at=ready,
            )
            routed += outcome.assignment is not None
        return routed
