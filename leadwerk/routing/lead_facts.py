"""What routing knows about a lead, as one plain dict: the only way rules and the fairness
ledger look at a lead.

Scoring (issue 3) adds ``fit_grade``, ``label`` and ``score`` (and, where a predictive
model exists one day, ``conversion_probability``). For a lead scoring has not scored,
conditions on fit grade or label do not hold and the quality of the lead falls back to its
channel and company size (see ``lead_quality``).
"""

from __future__ import annotations

from leadwerk.contacts.choices import EmployeeBand
from leadwerk.leads.choices import Stage

from .models import CustomerAccount

FACT_KEYS = (
    "country",
    "federal_state",
    "postal_code",
    "industry",
    "employees",
    "employee_band",
    "product_interest",
    "channel",
    "channel_value",
    "campaign",
    "existing_customer",
    "account_owner_id",
    "fit_grade",
    "label",
    "score",
    "conversion_probability",
)


def scoring_facts(lead) -> dict:
    """Fit grade, label and score (the engagement now, after decay) from scoring (issue 3);
    empty for a lead scoring has not scored."""
    from leadwerk.scoring.models import LeadScore
    from leadwerk.scoring.selectors import score_brief

    score = LeadScore.objects.select_related("model").filter(lead_id=lead.pk).first()
    if score is None:
        return {}
    brief = score_brief(score)
    return {
        "fit_grade": brief["fit_grade"],
        "label": brief["label"],
        "score": brief["engagement"],
    }


def lead_facts(lead) -> dict:
    """The facts about ``lead`` that rules, quality and SLA policies use."""
    facts = lead_profile_facts(
        company=lead.company,
        channel=lead.channel,
        campaign=lead.campaign if lead.campaign_id else None,
        product_interest=lead.product_interest,
    )
    if lead.company is not None:
        customer, owner_id = account_of(company_id=lead.company.pk, exclude_lead_id=lead.pk)
        facts.update(existing_customer=customer, account_owner_id=owner_id)
    facts.update(scoring_facts(lead))
    return facts


def lead_profile_facts(*, company, channel, campaign=None, product_interest: str = "") -> dict:
    """The facts that come with the lead itself (company, channel, campaign): no queries,
    no account and no score yet."""
    facts: dict = {
        "country": "",
        "federal_state": "",
        "postal_code": "",
        "industry": "",
        "employees": None,
        "employee_band": "",
        "product_interest": product_interest,
        "channel": channel.slug,
        "channel_value": float(channel.value_weight),
        "campaign": campaign.slug if campaign is not None else "",
        "existing_customer": False,
        "account_owner_id": None,
    }
    if company is not None:
        facts.update(
            country=company.country,
            federal_state=company.federal_state,
            postal_code=company.postal_code,
            industry=company.industry,
            employees=company.employees,
            employee_band=company.employee_band or EmployeeBand.for_count(company.employees),
        )
    return facts


def account_of(*, company_id: int, exclude_lead_id: int | None = None) -> tuple[bool, int | None]:
    """Whether a company is an existing customer, and the user who owns the account: the
    recorded account owner, else the owner of its most recently won lead."""
    from leadwerk.leads.models import Lead

    account = CustomerAccount.objects.filter(company_id=company_id).first()
    if account is not None and account.owner_id is not None:
        return True, account.owner_id
    row = (
        Lead.objects.filter(company_id=company_id, stage=Stage.WON)
        .exclude(pk=exclude_lead_id)
        .order_by("-closed_at", "-id")
        .values_list("owner_id")
        .first()
    )
    if row is not None:
        return True, row[0]
    return account is not None, None


def facts_from_sample(sample: dict) -> dict:
    """Facts for a made-up lead (the rule test): missing keys are unknown."""
    facts = {key: sample.get(key) for key in FACT_KEYS}
    for key in ("country", "federal_state", "postal_code", "industry", "product_interest"):
        facts[key] = facts[key] or ""
    facts["country"] = facts["country"].upper()
    facts["federal_state"] = facts["federal_state"].upper()
    if not facts.get("employee_band"):
        facts["employee_band"] = EmployeeBand.for_count(facts.get("employees"))
    facts["existing_customer"] = bool(facts.get("existing_customer"))
    if facts.get("channel_value") is None:
        facts["channel_value"] = 1.0
    return facts
