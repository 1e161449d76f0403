"""factory_boy factories for tests and benchmarks."""

from __future__ import annotations

from datetime import UTC

import factory
from django.contrib.auth.models import Group

from leadwerk.accounts.models import PartnerCompany, Team, User
from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.contacts.models import Company, Person
from leadwerk.contacts.normalization import company_name_key, email_key
from leadwerk.leads.choices import LeadSource
from leadwerk.leads.models import Lead, StageChange

PASSWORD = "correct horse battery"  # noqa: S105 - test credential


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class PartnerCompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerCompany

    name = factory.Sequence(lambda n: f"Partner {n} GmbH")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if extracted:
            self.groups.set([Group.objects.get_or_create(name=str(role))[0] for role in extracted])
        if create:
            self.save()


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.Sequence(lambda n: f"Channel {n}")
    kind = "website"
    rank = 5


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"campaign-{n}")
    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = factory.SubFactory(ChannelFactory)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Firma {n}")
    name_key = factory.LazyAttribute(lambda c: company_name_key(c.name))
    country = "DE"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    first_name = "Erika"
    last_name = factory.Sequence(lambda n: f"Mustermann{n}")
    email = factory.Sequence(lambda n: f"erika{n}@example.de")
    email_normalized = factory.LazyAttribute(lambda p: email_key(p.email))
    company = factory.SubFactory(CompanyFactory)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead
        skip_postgeneration_save = True

    person = factory.SubFactory(PersonFactory)
    company = factory.LazyAttribute(lambda lead: lead.person.company)
    channel = factory.SubFactory(ChannelFactory)
    source = LeadSource.API
    created_at = factory.Faker("date_time_this_year", tzinfo=UTC)

    @factory.post_generation
    def initial_stage(self, create, extracted, **kwargs):
        if create:
            StageChange.objects.create(
                lead=self, from_stage="", to_stage=self.stage, at=self.created_at
            )
