"""lead_intake: matching, idempotency and all-or-nothing writes, independent of the door."""

import pytest

from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Company, Person
from leadwerk.errors import Conflict, DomainValidationError
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.models import Lead
from leadwerk.leads.services import lead_intake
from leadwerk.tests_support.factories import CampaignFactory, ChannelFactory

pytestmark = pytest.mark.django_db


def payload(**over):
    data = {
        "person": {"first_name": "Jörg", "last_name": "Groß", "email": "joerg.gross@beispiel.de"},
        "company": {"name": "Beispiel Maschinenbau GmbH", "website": "https://www.beispiel.de"},
        "channel": "website",
    }
    data.update(over)
    return LeadIn.model_validate(data)


def counts():
    return (
        Person.objects.count(),
        Company.objects.count(),
        Lead.objects.count(),
        Activity.objects.count(),
    )


def test_intake_creates_person_company_lead_and_timeline(channel, admin_user):
    result = lead_intake(data=payload(), source=LeadSource.API, actor=admin_user)
    lead = Lead.objects.get()
    assert result.lead == lead and result.person_created
    assert lead.stage == Stage.NEW
    assert lead.person.email == "joerg.gross@beispiel.de"
    assert (lead.company.name, lead.company.legal_form, lead.company.domain) == (
        "Beispiel Maschinenbau",
        "GmbH",
        "beispiel.de",
    )
    assert lead.stage_changes.get().to_stage == Stage.NEW
    entry = lead.activities.get()
    assert entry.type == "api_intake" and entry.actor == admin_user
    assert entry.payload["channel"] == "website"


def test_second_lead_of_same_email_attaches_to_same_person(channel):
    lead_intake(data=payload(), source=LeadSource.API)
    again = payload(person={"email": "  JOERG.Gross@BEISPIEL.de ", "job_title": "CIO"})
    result = lead_intake(data=again, source=LeadSource.FORM)
    assert Person.objects.count() == 1
    assert Lead.objects.count() == 2
    assert not result.person_created
    person = Person.objects.get()
    assert person.job_title == "CIO"  # a gap is filled …
    assert person.first_name == "Jörg"  # … existing values stay


def test_differing_values_are_kept_on_the_timeline_not_overwritten(channel):
    lead_intake(data=payload(), source=LeadSource.API)
    changed = payload(person={"email": "joerg.gross@beispiel.de", "last_name": "Gross-Meier"})
    result = lead_intake(data=changed, source=LeadSource.API)
    assert Person.objects.get().last_name == "Groß"
    entry = result.lead.activities.get()
    assert entry.payload["person_differing"]["last_name"] == {
        "current": "Groß",
        "submitted": "Gross-Meier",
    }


@pytest.mark.parametrize(
    "company",
    [
        {"name": "Anything", "website": "http://beispiel.de/kontakt"},
        {"name": "Beispiel Maschinenbau GmbH & Co. KG"},
        {"name": "beispiel   maschinenbau"},
    ],
)
def test_company_matched_by_domain_or_normalised_name(channel, company):
    lead_intake(data=payload(), source=LeadSource.API)
    other = payload(person={"email": "anna@beispiel.de"}, company=company)
    lead_intake(data=other, source=LeadSource.API)
    assert Company.objects.count() == 1


def test_umlaut_spellings_of_a_company_name_match(channel):
    lead_intake(
        data=payload(company={"name": "Müller Präzisionstechnik GmbH"}), source=LeadSource.API
    )
    lead_intake(
        data=payload(
            person={"email": "x@y.de"}, company={"name": "Mueller Praezisionstechnik GmbH"}
        ),
        source=LeadSource.API,
    )
    assert Company.objects.count() == 1


def test_unknown_channel_and_campaign_are_named_and_nothing_is_written(channel):
    before = counts()
    with pytest.raises(DomainValidationError) as exc:
        lead_intake(data=payload(channel="fax", campaign="nope"), source=LeadSource.API)
    assert {e.loc for e in exc.value.errors} == {("channel",), ("campaign",)}
    assert counts() == before


def test_campaign_of_another_channel_is_refused(channel):
    other = ChannelFactory(slug="events")
    CampaignFactory(slug="roadshow", channel=other)
    with pytest.raises(DomainValidationError) as exc:
        lead_intake(data=payload(campaign="roadshow"), source=LeadSource.API)
    assert "belongs to channel 'events'" in exc.value.errors[0].msg


def test_idempotency_key_replays_the_first_lead(channel, admin_user):
    first = lead_intake(
        data=payload(), source=LeadSource.API, actor=admin_user, idempotency_key="k-1"
    )
    before = counts()
    again = lead_intake(
        data=payload(), source=LeadSource.API, actor=admin_user, idempotency_key="k-1"
    )
    assert again.replayed and again.lead == first.lead
    assert counts() == before


def test_idempotency_key_with_other_body_conflicts_and_writes_nothing(channel, admin_user):
    lead_intake(data=payload(), source=LeadSource.API, actor=admin_user, idempotency_key="k-2")
    before = counts()
    with pytest.raises(Conflict) as exc:
        lead_intake(
            data=payload(message="anders"),
            source=LeadSource.API,
            actor=admin_user,
            idempotency_key="k-2",
        )
    assert exc.value.code == "idempotency_mismatch"
    assert counts() == before


def test_idempotency_keys_are_per_user(channel, admin_user, marketing_user):
    a = lead_intake(data=payload(), source=LeadSource.API, actor=admin_user, idempotency_key="k")
    b = lead_intake(
        data=payload(), source=LeadSource.API, actor=marketing_user, idempotency_key="k"
    )
    assert a.lead != b.lead


def test_duplicate_external_id_in_a_channel_conflicts(channel, trade_fair):
    lead_intake(data=payload(external_id="CRM-1"), source=LeadSource.API)
    with pytest.raises(Conflict) as exc:
        lead_intake(data=payload(external_id="CRM-1"), source=LeadSource.API)
    assert exc.value.code == "duplicate_external_id"
    # the same external id in another channel is another system's id
    lead_intake(data=payload(channel="trade-fair", external_id="CRM-1"), source=LeadSource.API)
    assert Lead.objects.count() == 2


def test_person_without_email_is_created_with_phone(channel):
    data = payload(person={"last_name": "Öztürk", "phone": "0049 (0)89/123-45"})
    lead = lead_intake(data=data, source=LeadSource.MANUAL).lead
    assert lead.person.phone == "+498912345"
    assert lead.person.phone_valid


def test_invalid_phone_is_kept_and_flagged(channel):
    data = payload(person={"email": "a@b.de", "phone": "12"})
    person = lead_intake(data=data, source=LeadSource.API).lead.person
    assert (person.phone, person.phone_valid) == ("12", False)


@pytest.mark.parametrize(
    ("person", "message"),
    [
        ({"first_name": "Nur"}, "e-mail address or a phone number"),
        ({"phone": "+49 89 1234567"}, "needs a last name"),
        ({"email": "kein-at-zeichen"}, "not a valid e-mail"),
        ({"email": "a@b.de", "language": "tlh"}, "unsupported language"),
        ({"email": "a@b.de", "salutation": "König"}, "Herr, Frau"),
        ({"email": "a@b.de", "first_name": "A\x00B"}, "NUL"),
    ],
)
def test_contract_refuses_bad_person_fields(person, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as exc:
        payload(person=person)
    assert message in str(exc.value)


@pytest.mark.parametrize(
    ("company", "message"),
    [
        ({"name": "X", "country": "Atlantis"}, "unknown country"),
        ({"name": "X", "country": "DE", "postal_code": "1234"}, "five digits"),
        ({"name": "X", "vat_id": "DE123456789"}, "not a valid EU VAT ID"),
        ({"name": "X", "employees": -5}, "between 0"),
        ({"name": "X", "employees": "viele"}, "bands"),
        ({"name": ""}, "at least 1 character"),
    ],
)
def test_contract_refuses_bad_company_fields(company, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as exc:
        payload(company=company)
    assert message in str(exc.value)


def test_contract_accepts_german_country_names_and_bands():
    data = payload(company={"name": "X", "country": "Österreich", "employees": "50–249"})
    assert data.company.country == "AT"
    assert data.company.employee_band == "50-249"


@pytest.mark.parametrize(
    ("country", "postal_code", "state"),
    [("DE", "80331", "BY"), ("DE", " 50667 ", "NW"), ("", "20095", "HH"), ("AT", "1010", "")],
)
def test_the_federal_state_comes_from_a_german_postal_code(channel, country, postal_code, state):
    company = {"name": "Beispiel GmbH", "country": country, "postal_code": postal_code}
    lead_intake(data=payload(company=company), source=LeadSource.API)
    assert Company.objects.get().federal_state == state


def test_a_known_federal_state_is_not_overwritten_by_the_postal_code(channel):
    first = lead_intake(data=payload(), source=LeadSource.API).lead.company
    Company.objects.filter(pk=first.pk).update(federal_state="BE")
    company = {
        "name": first.name,
        "website": "beispiel.de",
        "country": "DE",
        "postal_code": "80331",
    }
    result = lead_intake(data=payload(company=company), source=LeadSource.API)
    first.refresh_from_db()
    assert result.lead.company == first and first.federal_state == "BE"
