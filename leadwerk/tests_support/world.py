"""A small company with two partners and two sales teams, for access-control tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from leadwerk.accounts.choices import Role, TokenScope
from leadwerk.accounts.services import api_token_create
from leadwerk.leads.services import lead_log_activity

from .factories import (
    ChannelFactory,
    CompanyFactory,
    LeadFactory,
    PartnerCompanyFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)


@dataclass
class World:
    users: dict
    leads: dict

    def client(self, name: str) -> Client:
        client = Client()
        client.force_login(self.users[name])
        return client

    def api(self, name: str, scope: TokenScope = TokenScope.WRITE) -> Client:
        _token, raw = api_token_create(user=self.users[name], name="t", scope=scope)
        return Client(headers={"Authorization": f"Bearer {raw}"})


def build_world() -> World:
    """Leads: p1 (partner 1), p2 (partner 2), r1 (rep1 in team 1), pool1 (team 1, no owner),
    r2 (rep2 in team 2). Each has its own person and company, with distinct names."""
    channel = ChannelFactory(slug="website", name="Website")
    team1, team2 = TeamFactory(name="Team Nord"), TeamFactory(name="Team Süd")
    partner1 = PartnerCompanyFactory(name="Partner Eins GmbH")
    partner2 = PartnerCompanyFactory(name="Partner Zwei GmbH")
    users = {
        "admin": UserFactory(username="w_admin", roles=[Role.ADMIN]),
        "marketing": UserFactory(username="w_marketing", roles=[Role.MARKETING]),
        "inside": UserFactory(username="w_inside", roles=[Role.INSIDE_SALES]),
        "auditor": UserFactory(username="w_auditor", roles=[Role.AUDITOR]),
        "rep1": UserFactory(username="w_rep1", roles=[Role.SALES_REP], team=team1),
        "rep1b": UserFactory(username="w_rep1b", roles=[Role.SALES_REP], team=team1),
        "rep2": UserFactory(username="w_rep2", roles=[Role.SALES_REP], team=team2),
        "manager1": UserFactory(username="w_manager1", roles=[Role.SALES_MANAGER]),
        "partner1": UserFactory(username="w_partner1", roles=[Role.PARTNER], partner=partner1),
        "partner2": UserFactory(username="w_partner2", roles=[Role.PARTNER], partner=partner2),
    }
    team1.manager = users["manager1"]
    team1.save()

    def lead(key, **kwargs):
        company = CompanyFactory(name=f"Firma {key.upper()}", vat_id="DE123456789", employees=42)
        person = PersonFactory(
            first_name=f"Vorname{key}",
            last_name=f"Nachname{key}",
            email=f"{key}@kunde-{key}.de",
            company=company,
        )
        return LeadFactory(person=person, company=company, channel=channel, **kwargs)

    leads = {
        "p1": lead("p1", partner=partner1),
        "p2": lead("p2", partner=partner2),
        "r1": lead("r1", owner=users["rep1"], team=team1),
        "pool1": lead("pool1", team=team1),
        "r2": lead("r2", owner=users["rep2"], team=team2),
    }
    # The person of p1 also has a lead routed to partner 2: partner 1 must not see it.
    leads["p1_other"] = LeadFactory(
        person=leads["p1"].person,
        company=leads["p1"].company,
        channel=channel,
        partner=partner2,
        message="Nur für Partner Zwei",
    )
    lead_log_activity(
        lead=leads["p1_other"], actor=users["partner2"], type="call", subject="Anruf P2 geheim"
    )
    return World(users=users, leads=leads)


# Which leads each user may see.
VISIBLE = {
    "admin": {"p1", "p2", "r1", "pool1", "r2", "p1_other"},
    "marketing": {"p1", "p2", "r1", "pool1", "r2", "p1_other"},
    "inside": {"p1", "p2", "r1", "pool1", "r2", "p1_other"},
    "auditor": set(),
    "rep1": {"r1", "pool1"},
    "rep1b": {"pool1"},
    "rep2": {"r2"},
    "manager1": {"r1", "pool1"},
    "partner1": {"p1"},
    "partner2": {"p2", "p1_other"},
}
