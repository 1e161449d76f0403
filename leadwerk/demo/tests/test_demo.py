from datetime import date

import pytest
from django.core.management import call_command

from leadwerk.accounts.models import User
from leadwerk.activities.models import Activity
from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.contacts.models import Company, Person
from leadwerk.demo.builder import DemoSize, build_demo
from leadwerk.leads.choices import Stage
from leadwerk.leads.models import Lead

pytestmark = pytest.mark.django_db

ANCHOR = date(2026, 6, 30)


def test_demo_has_every_role_channel_ranking_and_all_stages(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    stats = build_demo(seed=7, anchor=ANCHOR, size=DemoSize.small())
    assert stats["leads"] == Lead.objects.count() == 800
    assert Activity.objects.count() == 5_000
    assert Company.objects.count() == 200 and Person.objects.count() == 500
    assert Campaign.objects.count() == 12
    ranking = list(Channel.objects.order_by("rank").values_list("slug", flat=True))[:6]
    assert ranking == ["telemarketing", "direct-mail", "events", "trade-fair", "website", "social"]
    assert set(Lead.objects.values_list("stage", flat=True)) == set(Stage.values)
    groups = set(User.objects.values_list("groups__name", flat=True))
    assert {"Marketing", "Inside sales", "Sales rep", "Sales manager", "Partner", "Admin"} <= groups
    assert Person.objects.filter(title__startswith="Dr.").exists()
    assert Person.objects.filter(last_name__regex=r"[äöüß]").exists()
    assert (tmp_path / "demo_admin_token").read_text().startswith("lw_")


def test_demo_is_deterministic(settings, tmp_path):
    settings.VAR_DIR = tmp_path

    def snapshot():
        return (
            list(Person.objects.order_by("id").values_list("first_name", "last_name", "email")),
            list(Lead.objects.order_by("id").values_list("stage", "channel__slug", "created_at")),
        )

    build_demo(seed=3, anchor=ANCHOR, size=DemoSize.small())
    first = snapshot()
    for model in (Activity, Lead):
        model.objects.all().delete()
    from leadwerk.leads.models import StageChange, WebForm

    StageChange.objects.all().delete()
    WebForm.objects.all().delete()
    for model in (Person, Company, Campaign, Channel, User):
        model.objects.all().delete()
    from leadwerk.accounts.models import PartnerCompany, Team

    Team.objects.all().delete()
    PartnerCompany.objects.all().delete()
    build_demo(seed=3, anchor=ANCHOR, size=DemoSize.small())
    second = snapshot()
    assert first[0] == second[0]
    assert [r[:2] for r in first[1]] == [r[:2] for r in second[1]]
    assert [r[2] for r in first[1]] == [r[2] for r in second[1]]


def test_demo_command_loads_once(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--small", "--anchor", "2026-06-30")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already loaded"):
        call_command("demo", "--small")
