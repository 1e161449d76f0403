"""The server-rendered lead pages: inbox, lead detail with its actions, telesales entry and
the management of public web forms."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from leadwerk.accounts.choices import Role
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.contacts.models import Company, Person
from leadwerk.leads.choices import TRANSITIONS, LeadSource, Stage
from leadwerk.leads.models import Lead, StageChange, WebForm
from leadwerk.leads.services import lead_transition
from leadwerk.tests_support.factories import (
    CampaignFactory,
    CompanyFactory,
    LeadFactory,
    PartnerCompanyFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

INBOX = "/leads/"
ENTRY = "/leads/new/"
HTMX_TABLE = {"HX-Request": "true", "HX-Target": "lead-table"}
HTMX_DETAIL = {"HX-Request": "true", "HX-Target": "lead-main"}


def browser(user=None, language: str = "en") -> Client:
    """A browser that asks for ``language`` (English: the source strings), logged in."""
    client = Client(headers={"Accept-Language": language})
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def inside_sales(db):
    return UserFactory(
        username="telesales", first_name="Tina", last_name="Telefon", roles=[Role.INSIDE_SALES]
    )


def page_text(response) -> str:
    return response.content.decode()


def lead_names_in(response) -> list[str]:
    """The person names of the inbox rows, top to bottom."""
    return re.findall(r'class="strong"><bdi>([^<]*)</bdi>', page_text(response))


def at(days_ago: float = 0, **kwargs):
    return timezone.now() - timedelta(days=days_ago, **kwargs)


# --- inbox -------------------------------------------------------------------------------


def test_inbox_lists_leads_newest_first_with_person_company_channel_and_campaign(
    admin_user, channel, campaign
):
    older = LeadFactory(
        person=PersonFactory(first_name="Olga", last_name="Älter"),
        channel=channel,
        created_at=at(3),
    )
    newer = LeadFactory(
        person=PersonFactory(first_name="Nina", last_name="Neu"),
        company=CompanyFactory(name="Neu & Söhne GmbH"),
        channel=channel,
        campaign=campaign,
        product_interest="ERP Cloud",
        created_at=at(hours=1),
    )

    response = browser(admin_user).get(INBOX)

    assert response.status_code == 200
    assert lead_names_in(response) == ["Nina Neu", "Olga Älter"]
    html = page_text(response)
    for text in ("Neu &amp; Söhne GmbH", "Website", "Whitepaper", "ERP Cloud"):
        assert text in html
    assert newer.get_absolute_url() in html and older.get_absolute_url() in html


@pytest.fixture
def world(admin_user, channel, campaign, trade_fair, rep):
    """Leads across stages, owners, channels, campaigns and ages."""
    other = UserFactory(username="otto", first_name="Otto", last_name="Other", roles=[Role.ADMIN])
    fair = CampaignFactory(slug="it-sa", name="it-sa 2026", channel=trade_fair)
    leads = {
        "anna": LeadFactory(
            person=PersonFactory(first_name="Anna", last_name="Ahrens", email="anna@ahrens.de"),
            channel=channel,
            campaign=campaign,
            stage=Stage.NEW,
            owner=admin_user,
            created_at=at(hours=1),
        ),
        "bernd": LeadFactory(
            person=PersonFactory(first_name="Bernd", last_name="Bauer"),
            company=CompanyFactory(name="Bauer Maschinenbau GmbH"),
            channel=channel,
            stage=Stage.MQL,
            created_at=at(5),
        ),
        "carla": LeadFactory(
            person=PersonFactory(first_name="Carla", last_name="Cramer"),
            channel=trade_fair,
            campaign=fair,
            stage=Stage.SQL,
            owner=other,
            product_interest="Nordlicht CRM",
            created_at=at(20),
        ),
        "dieter": LeadFactory(
            person=PersonFactory(first_name="Dieter", last_name="Dorn"),
            channel=trade_fair,
            stage=Stage.LOST,
            owner=rep,
            created_at=at(200),
        ),
    }
    return {"leads": leads, "other": other, "fair": fair}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=new", ["Anna Ahrens"]),
        ("stage=mql&stage=sql", ["Bernd Bauer", "Carla Cramer"]),
        ("owner=me", ["Anna Ahrens"]),
        ("owner=none", ["Bernd Bauer"]),
        ("channel=trade-fair", ["Carla Cramer", "Dieter Dorn"]),
        ("campaign=whitepaper", ["Anna Ahrens"]),
        ("campaign=it-sa", ["Carla Cramer"]),
        ("age=today", ["Anna Ahrens"]),
        ("age=7d", ["Anna Ahrens", "Bernd Bauer"]),
        ("age=30d", ["Anna Ahrens", "Bernd Bauer", "Carla Cramer"]),
        ("age=older", ["Dieter Dorn"]),
        ("q=bauer", ["Bernd Bauer"]),
        ("q=Maschinenbau", ["Bernd Bauer"]),
        ("q=ANNA@AHRENS.DE", ["Anna Ahrens"]),
        ("q=nordlicht", ["Carla Cramer"]),
        ("q=carla+cramer", ["Carla Cramer"]),
        ("channel=trade-fair&stage=lost", ["Dieter Dorn"]),
        ("q=nobody-is-called-so", []),
    ],
)
def test_inbox_filters(admin_user, world, query, expected):
    response = browser(admin_user).get(f"{INBOX}?{query}")
    assert response.status_code == 200
    assert lead_names_in(response) == expected


def test_inbox_owner_filter_by_user(admin_user, world):
    other = world["other"]
    response = browser(admin_user).get(INBOX, {"owner": str(other.uuid)})
    assert lead_names_in(response) == ["Carla Cramer"]
    assert f'<option value="{other.uuid}" selected>' in page_text(response)


@pytest.mark.parametrize(
    "query",
    ["stage=nonsense", "owner=not-a-uuid", "age=yesterday", "sort=drop+table", "per_page=7"],
)
def test_inbox_ignores_unknown_filter_values(admin_user, world, query):
    response = browser(admin_user).get(f"{INBOX}?{query}")
    assert response.status_code == 200
    assert len(lead_names_in(response)) == 4


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-created", ["Anna Ahrens", "Bernd Bauer", "Carla Cramer", "Dieter Dorn"]),
        ("created", ["Dieter Dorn", "Carla Cramer", "Bernd Bauer", "Anna Ahrens"]),
        ("name", ["Anna Ahrens", "Bernd Bauer", "Carla Cramer", "Dieter Dorn"]),
        ("-name", ["Dieter Dorn", "Carla Cramer", "Bernd Bauer", "Anna Ahrens"]),
        ("stage", ["Anna Ahrens", "Bernd Bauer", "Carla Cramer", "Dieter Dorn"]),
        ("-stage", ["Dieter Dorn", "Carla Cramer", "Bernd Bauer", "Anna Ahrens"]),
    ],
)
def test_inbox_sorting(admin_user, world, sort, expected):
    response = browser(admin_user).get(INBOX, {"sort": sort})
    assert lead_names_in(response) == expected


def test_column_headers_sort_and_flip_direction_keeping_filters(admin_user, world):
    response = browser(admin_user).get(INBOX, {"channel": "website", "sort": "name"})
    html = page_text(response)
    name_link = re.search(r'<a href="\?([^"]*)" class="sort ascending">Person</a>', html)
    assert name_link is not None, "the sorted column shows its direction"
    query = parse_qs(name_link.group(1).replace("&amp;", "&"))
    assert query == {"channel": ["website"], "sort": ["-name"]}
    assert 'aria-sort="ascending"' in html


@pytest.mark.parametrize("per_page", [25, 50, 100])
def test_inbox_page_sizes(admin_user, channel, per_page):
    LeadFactory.create_batch(per_page + 1, channel=channel)
    client = browser(admin_user)

    first = client.get(INBOX, {"per_page": per_page})
    last = client.get(INBOX, {"per_page": per_page, "page": 2})

    assert len(lead_names_in(first)) == per_page
    assert len(lead_names_in(last)) == 1
    assert f"1–{per_page} of {per_page + 1}" in page_text(first)
    assert "Page 2 of 2" in page_text(last)


def test_a_page_number_past_the_end_shows_the_last_page(admin_user, channel):
    LeadFactory.create_batch(30, channel=channel)
    response = browser(admin_user).get(INBOX, {"page": 99})
    assert "Page 2 of 2" in page_text(response)
    assert len(lead_names_in(response)) == 5


def test_stage_counts_honour_every_filter_but_the_stage(admin_user, world):
    response = browser(admin_user).get(INBOX, {"channel": "website", "stage": "new"})
    tabs = dict(
        re.findall(
            r'class="stage-(\w+)[^"]*"[^>]*>[^<]*<b>(\d+)</b>',
            page_text(response),
        )
    )
    assert tabs["new"] == "1" and tabs["mql"] == "1"
    assert tabs["sql"] == "0" and tabs["lost"] == "0"  # other channel
    assert re.search(r"All <b>2</b>", page_text(response))


def _links(html: str, pattern: str) -> list[dict]:
    return [
        parse_qs(urlsplit(href.replace("&amp;", "&")).query) for href in re.findall(pattern, html)
    ]


def test_stage_tabs_keep_the_other_filters_and_replace_the_stage(admin_user, world):
    response = browser(admin_user).get(
        INBOX, {"channel": "trade-fair", "q": "c", "stage": "sql", "page": "1", "per_page": "50"}
    )
    html = page_text(response)
    tabs = _links(html, r'<a href="(\?[^"]*)" class="stage-')
    assert len(tabs) == len(Stage.values)
    for tab, stage in zip(tabs, Stage.values, strict=True):
        assert tab == {
            "channel": ["trade-fair"],
            "q": ["c"],
            "per_page": ["50"],
            "stage": [stage],
        }
    all_tab = _links(html, r'<li><a href="(\?[^"]*)"[^>]*>All')
    assert all_tab == [{"channel": ["trade-fair"], "q": ["c"], "per_page": ["50"]}]


def test_pagination_links_keep_the_filters(admin_user, channel):
    LeadFactory.create_batch(30, channel=channel, stage=Stage.MQL, created_at=at(1))
    response = browser(admin_user).get(
        INBOX, {"stage": "mql", "channel": "website", "sort": "name", "age": "30d"}
    )
    (next_link,) = _links(page_text(response), r'<a href="(\?[^"]*)"[^>]*rel="next"')
    assert next_link == {
        "stage": ["mql"],
        "channel": ["website"],
        "sort": ["name"],
        "age": ["30d"],
        "page": ["2"],
    }
    following = browser(admin_user).get(INBOX, next_link)
    assert len(lead_names_in(following)) == 5


def test_htmx_filter_request_gets_only_the_table(admin_user, world):
    response = browser(admin_user).get(INBOX, {"stage": "new"}, headers=HTMX_TABLE)

    html = page_text(response)
    assert response.status_code == 200
    assert "<html" not in html and "<form" not in html and 'id="filters"' not in html
    assert '<table class="table leads">' in html
    assert lead_names_in(response) == ["Anna Ahrens"]
    assert "HX-Request" in response["Vary"] and "HX-Target" in response["Vary"]


def test_plain_request_gets_the_whole_page(admin_user, world):
    response = browser(admin_user).get(INBOX)
    html = page_text(response)
    assert "<html" in html and 'id="filters"' in html and 'id="lead-table"' in html


def test_empty_inbox_invites_to_enter_a_lead(admin_user):
    html = page_text(browser(admin_user).get(INBOX))
    assert "No leads yet." in html
    assert f'href="{ENTRY}"' in html


def test_no_match_offers_to_reset_the_filters(admin_user, world):
    html = page_text(browser(admin_user).get(INBOX, {"q": "zzz"}))
    assert "No leads match these filters." in html
    assert "Show all leads" in html


def _inbox_queries(client, per_page: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(INBOX, {"per_page": per_page})
    assert response.status_code == 200
    assert len(lead_names_in(response)) == per_page
    return len(ctx.captured_queries)


def test_inbox_query_count_is_pinned_and_does_not_grow_with_the_page_size(
    admin_user, channel, campaign, django_assert_max_num_queries
):
    owners = UserFactory.create_batch(3, roles=[Role.SALES_REP])
    for i in range(110):
        LeadFactory(
            channel=channel,
            campaign=campaign if i % 2 else None,
            owner=owners[i % 3] if i % 4 else None,
        )
    client = browser(admin_user)
    client.get(INBOX)  # the session's first use may write

    small, large = _inbox_queries(client, 25), _inbox_queries(client, 100)

    assert small == large
    # session, user, roles, leads count, leads page, stage counts, channels, campaigns, owners
    with django_assert_max_num_queries(9):
        client.get(INBOX, {"per_page": 100, "stage": "new", "q": "erika"})


def test_a_sales_rep_sees_only_own_leads_and_the_unassigned_pool_of_the_team(rep, team, channel):
    other_team = TeamFactory(name="Vertrieb Nord")
    colleague = UserFactory(roles=[Role.SALES_REP], team=other_team)
    LeadFactory(person=PersonFactory(first_name="Own", last_name="Lead"), owner=rep)
    LeadFactory(person=PersonFactory(first_name="Pool", last_name="Lead"), team=team)
    LeadFactory(person=PersonFactory(first_name="Nord", last_name="Pool"), team=other_team)
    LeadFactory(person=PersonFactory(first_name="Kollege", last_name="Lead"), owner=colleague)

    names = lead_names_in(browser(rep).get(INBOX))

    assert sorted(names) == ["Own Lead", "Pool Lead"]


# --- lead detail ------------------------------------------------------------------------


@pytest.fixture
def lead(channel, campaign):
    return LeadFactory(
        person=PersonFactory(
            salutation="ms",
            title="Dr.",
            first_name="Erika",
            last_name="Mustermann",
            email="erika@beispiel.de",
            phone="+49 89 1234567",
            job_title="Leiterin Einkauf",
            company=CompanyFactory(name="Beispiel GmbH", city="München", industry="Maschinenbau"),
        ),
        channel=channel,
        campaign=campaign,
        product_interest="ERP Cloud",
        message="Bitte rufen Sie mich an.\nAm besten vormittags.",
        stage=Stage.NEW,
        created_at=at(2),
    )


def test_detail_shows_person_company_channel_campaign_and_the_timeline_newest_first(
    admin_user, lead
):
    Activity.objects.create(
        person=lead.person, lead=lead, type=ActivityType.FORM_SUBMIT,
        subject="Kontaktformular", occurred_at=at(2),
    )  # fmt: skip
    Activity.objects.create(
        person=lead.person, lead=lead, type=ActivityType.CALL,
        subject="Erstes Gespräch", occurred_at=at(1),
    )  # fmt: skip
    Activity.objects.create(
        person=lead.person, lead=lead, type=ActivityType.NOTE,
        subject="Budget freigegeben", occurred_at=at(hours=2),
    )  # fmt: skip

    response = browser(admin_user).get(lead.get_absolute_url())

    html = page_text(response)
    assert response.status_code == 200
    for text in (
        "Dr. Erika Mustermann",
        "erika@beispiel.de",
        "+49 89 1234567",
        "Leiterin Einkauf",
        "Beispiel GmbH",
        "München",
        "Maschinenbau",
        "Website",
        "Whitepaper",
        "ERP Cloud",
        "Bitte rufen Sie mich an.\nAm besten vormittags.",
    ):
        assert text in html, text
    assert lead.person.get_absolute_url() in html
    assert lead.company.get_absolute_url() in html
    positions = [
        html.index(s) for s in ("Budget freigegeben", "Erstes Gespräch", "Kontaktformular")
    ]
    assert positions == sorted(positions), "the timeline shows the newest entry first"


def _offered_stages(html: str) -> list[str]:
    select = re.search(r'<select id="id_to" name="to"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r'<option value="(\w+)"', select.group(1)) if select else []


@pytest.mark.parametrize("stage", Stage.values)
def test_detail_offers_exactly_the_allowed_stages(admin_user, channel, stage):
    lead = LeadFactory(channel=channel, stage=stage)
    html = page_text(browser(admin_user).get(lead.get_absolute_url()))
    assert sorted(_offered_stages(html)) == sorted(TRANSITIONS[stage])
    if not TRANSITIONS[stage]:
        assert "its stage cannot change any more" in html


def test_changing_the_stage_records_it_and_shows_a_message(admin_user, lead):
    client = browser(admin_user)

    response = client.post(reverse("leads:transition", args=[lead.uuid]), {"to": "mql"})

    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    change = StageChange.objects.get(lead=lead, to_stage=Stage.MQL)
    assert (change.from_stage, change.by) == (Stage.NEW, admin_user)
    html = page_text(client.get(lead.get_absolute_url()))
    assert "Stage changed to MQL." in html
    assert "Stage change" in html and "New → MQL" in html


@pytest.mark.parametrize("to_stage", ["disqualified", "recycled"])
def test_a_move_that_needs_a_reason_is_refused_without_one(admin_user, lead, to_stage):
    client = browser(admin_user)

    response = client.post(
        reverse("leads:transition", args=[lead.uuid]), {"to": to_stage, "reason": "  "}, follow=True
    )

    lead.refresh_from_db()
    assert lead.stage == Stage.NEW
    assert StageChange.objects.filter(lead=lead).count() == 1
    assert "A reason is required to move a lead to" in page_text(response)


def test_htmx_move_without_reason_shows_the_error_at_the_reason_field(admin_user, lead):
    response = browser(admin_user).post(
        reverse("leads:transition", args=[lead.uuid]),
        {"to": "disqualified", "reason": ""},
        headers=HTMX_DETAIL,
    )

    html = page_text(response)
    assert response.status_code == 422
    assert "<html" not in html
    assert 'id="err-reason"' in html and "A reason is required" in html
    assert '<option value="disqualified" selected>' in html, "the chosen stage stays selected"
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW


def test_a_reasoned_move_out_of_the_funnel_keeps_the_reason(admin_user, lead):
    browser(admin_user).post(
        reverse("leads:transition", args=[lead.uuid]),
        {"to": "disqualified", "reason": "Kein Budget <vor 2027>"},
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.DISQUALIFIED and lead.closed_at is not None
    html = page_text(browser(admin_user).get(lead.get_absolute_url()))
    assert "Reason: Kein Budget &lt;vor 2027&gt;" in html


def test_an_illegal_transition_is_refused_with_a_message(admin_user, lead):
    response = browser(admin_user).post(
        reverse("leads:transition", args=[lead.uuid]), {"to": "won"}, follow=True
    )

    lead.refresh_from_db()
    assert lead.stage == Stage.NEW
    assert "A lead in stage New cannot move to Won. Allowed:" in page_text(response)


def test_htmx_illegal_transition_answers_422_with_the_reason(admin_user, lead):
    response = browser(admin_user).post(
        reverse("leads:transition", args=[lead.uuid]), {"to": "won"}, headers=HTMX_DETAIL
    )
    assert response.status_code == 422
    assert "cannot move to Won" in page_text(response)


def test_htmx_stage_change_returns_the_refreshed_panel_with_the_message(admin_user, lead):
    response = browser(admin_user).post(
        reverse("leads:transition", args=[lead.uuid]), {"to": "sal"}, headers=HTMX_DETAIL
    )

    html = page_text(response)
    assert response.status_code == 200
    assert "<html" not in html
    assert '<span class="badge stage-sal">SAL</span>' in html
    assert 'id="messages" hx-swap-oob="true"' in html and "Stage changed to SAL." in html
    assert sorted(_offered_stages(html)) == sorted(TRANSITIONS[Stage.SAL])


def test_assigning_an_owner_records_the_assignment(admin_user, lead, rep):
    response = browser(admin_user).post(
        reverse("leads:assign", args=[lead.uuid]), {"owner": str(rep.uuid)}, follow=True
    )

    lead.refresh_from_db()
    assert lead.owner == rep and lead.assigned_at is not None
    assert Activity.objects.filter(lead=lead, type=ActivityType.ASSIGNMENT).exists()
    assert f"Lead assigned to {rep}." in page_text(response)


def test_unassigning_clears_the_owner(admin_user, lead, rep):
    lead.owner = rep
    lead.save()
    response = browser(admin_user).post(
        reverse("leads:assign", args=[lead.uuid]), {"owner": ""}, headers=HTMX_DETAIL
    )
    lead.refresh_from_db()
    assert lead.owner is None
    assert "Lead unassigned." in page_text(response)


def test_a_rep_cannot_assign_a_lead_to_someone_else(rep, channel):
    lead = LeadFactory(channel=channel, owner=rep)
    stranger = UserFactory(roles=[Role.SALES_REP])

    response = browser(rep).post(
        reverse("leads:assign", args=[lead.uuid]), {"owner": str(stranger.uuid)}, follow=True
    )

    lead.refresh_from_db()
    assert lead.owner == rep
    assert "You cannot assign leads to this user." in page_text(response)


def test_assign_with_a_malformed_owner_id_is_refused(admin_user, lead):
    response = browser(admin_user).post(
        reverse("leads:assign", args=[lead.uuid]), {"owner": "x"}, headers=HTMX_DETAIL
    )
    assert response.status_code == 422
    lead.refresh_from_db()
    assert lead.owner is None


def test_logging_a_call_is_the_first_response(admin_user, lead):
    client = browser(admin_user)

    response = client.post(
        reverse("leads:log_activity", args=[lead.uuid]),
        {"type": "call", "subject": "Erreicht", "body": "Will ein Angebot."},
        headers=HTMX_DETAIL,
    )

    lead.refresh_from_db()
    assert lead.first_response_at is not None
    call = Activity.objects.get(lead=lead, type=ActivityType.CALL)
    assert (call.subject, call.actor, call.payload) == (
        "Erreicht",
        admin_user,
        {"body": "Will ein Angebot."},
    )
    html = page_text(response)
    assert response.status_code == 200 and "Call logged." in html
    assert "Will ein Angebot." in html


def test_a_note_is_not_a_response(admin_user, lead):
    browser(admin_user).post(
        reverse("leads:log_activity", args=[lead.uuid]), {"type": "note", "subject": ""}
    )
    lead.refresh_from_db()
    assert lead.first_response_at is None
    assert Activity.objects.filter(lead=lead, type=ActivityType.NOTE).exists()


def test_logging_an_unknown_activity_type_is_refused(admin_user, lead):
    client = browser(admin_user)
    response = client.post(
        reverse("leads:log_activity", args=[lead.uuid]), {"type": "stage_change"}, follow=True
    )
    assert "Select a valid choice." in page_text(response)
    assert not Activity.objects.filter(lead=lead).exists()

    htmx = client.post(
        reverse("leads:log_activity", args=[lead.uuid]), {"type": "purchase!"}, headers=HTMX_DETAIL
    )
    assert htmx.status_code == 422 and "Select a valid choice." in page_text(htmx)


def test_actions_need_post(admin_user, lead):
    client = browser(admin_user)
    for name in ("transition", "assign", "log_activity"):
        assert client.get(reverse(f"leads:{name}", args=[lead.uuid])).status_code == 405


@pytest.fixture
def partner_lead(channel):
    return LeadFactory(channel=channel, partner=PartnerCompanyFactory(name="Fremdpartner AG"))


def test_a_partner_sees_leads_of_the_own_partner_company_only(partner_user, channel, partner_lead):
    own = LeadFactory(channel=channel, partner=partner_user.partner)
    client = browser(partner_user)
    assert client.get(own.get_absolute_url()).status_code == 200
    assert client.get(partner_lead.get_absolute_url()).status_code == 404


def test_a_rep_of_another_team_gets_404(rep, channel):
    other_team = TeamFactory(name="Vertrieb Nord")
    pool_lead = LeadFactory(channel=channel, team=other_team)
    owned_by_colleague = LeadFactory(
        channel=channel, owner=UserFactory(roles=[Role.SALES_REP], team=other_team)
    )
    client = browser(rep)
    assert client.get(pool_lead.get_absolute_url()).status_code == 404
    assert client.get(owned_by_colleague.get_absolute_url()).status_code == 404


def test_actions_on_an_invisible_lead_answer_404_and_change_nothing(partner_user, partner_lead):
    client = browser(partner_user)
    uuid = partner_lead.uuid
    assert client.post(reverse("leads:transition", args=[uuid]), {"to": "mql"}).status_code == 404
    assert client.post(reverse("leads:assign", args=[uuid]), {"owner": ""}).status_code == 404
    assert (
        client.post(reverse("leads:log_activity", args=[uuid]), {"type": "call"}).status_code == 404
    )
    partner_lead.refresh_from_db()
    assert partner_lead.stage == Stage.NEW
    assert not Activity.objects.filter(lead=partner_lead).exists()


def test_an_unknown_lead_is_404(admin_user):
    response = browser(admin_user).get("/leads/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "This page does not exist, or you may not see it." in page_text(response)


def test_detail_query_count_is_pinned(admin_user, lead, django_assert_max_num_queries):
    for i in range(30):
        lead_transition(lead=lead, to_stage="mql" if i % 2 == 0 else "recycled", actor=admin_user,
                        reason="hin und her")  # fmt: skip
    LeadFactory.create_batch(5, person=lead.person, channel=lead.channel)
    client = browser(admin_user)
    client.get(lead.get_absolute_url())
    # session, user, roles, lead, timeline, owners, other leads of the person
    with django_assert_max_num_queries(7):
        response = client.get(lead.get_absolute_url())
    assert page_text(response).count("hin und her") == 30


# --- telesales entry ---------------------------------------------------------------------


class _Controls(HTMLParser):
    """The form controls inside #entry-form in document order, and the labels' targets."""

    def __init__(self):
        super().__init__()
        self.in_form = False
        self.controls: list[dict] = []
        self.label_for: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "entry-form":
            self.in_form = True
        if not self.in_form:
            return
        if tag in ("input", "select", "textarea", "button") and a.get("type") != "hidden":
            self.controls.append({"tag": tag, **a})
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


def _controls(html: str) -> _Controls:
    parser = _Controls()
    parser.feed(html)
    return parser


ENTRY_TAB_ORDER = [
    "email",
    "salutation",
    "title",
    "first_name",
    "last_name",
    "phone",
    "job_title",
    "language",
    "company_name",
    "company_website",
    "company_industry",
    "company_employees",
    "company_country",
    "company_postal_code",
    "company_city",
    "channel",
    "campaign",
    "product_interest",
    "message",
    "save",
    "save_and_new",
]


def test_entry_form_is_usable_with_the_keyboard_alone(inside_sales, channel):
    html = page_text(browser(inside_sales).get(ENTRY))
    parsed = _controls(html)

    assert [c["name"] for c in parsed.controls] == ENTRY_TAB_ORDER, "logical tab order"
    assert not [c for c in parsed.controls if int(c.get("tabindex", "0")) != 0], (
        "no tabindex reorders the page"
    )
    (autofocus,) = [c for c in parsed.controls if "autofocus" in c]
    assert autofocus["name"] == "email"
    fields = [c for c in parsed.controls if c["tag"] != "button"]
    assert {c["id"] for c in fields} <= parsed.label_for, "every field has a label"
    buttons = [c for c in parsed.controls if c["tag"] == "button"]
    assert buttons[0]["name"] == "save" and buttons[0]["type"] == "submit", "Enter saves"
    assert "data-ctrl-enter" in buttons[1] and buttons[1]["name"] == "save_and_new"
    app_js = (Path(settings.BASE_DIR) / "static/leadwerk/app.js").read_text()
    assert "[data-ctrl-enter]" in app_js and "event.ctrlKey" in app_js
    assert "/static/leadwerk/app.js" in html


def test_app_js_is_served(inside_sales):
    # The page's behaviour (Ctrl+Enter, confirmations) lives in app.js: it must be found.
    from django.contrib.staticfiles import finders

    assert finders.find("leadwerk/app.js") and finders.find("leadwerk/app.css")


def entry_data(**overrides) -> dict:
    data = {
        "email": "Max.Muster@Example.de",
        "salutation": "mr",
        "title": "Dr.",
        "first_name": "Max",
        "last_name": "Muster",
        "phone": "+49 30 1234567",
        "job_title": "Geschäftsführer",
        "language": "de",
        "company_name": "Muster Maschinen GmbH",
        "company_website": "https://www.muster-maschinen.de/",
        "company_industry": "Maschinenbau",
        "company_employees": "120",
        "company_country": "DE",
        "company_postal_code": "10115",
        "company_city": "Berlin",
        "channel": "website",
        "campaign": "whitepaper",
        "product_interest": "ERP Cloud",
        "message": "Rückruf erbeten.",
    }
    data.update(overrides)
    return data


def test_entry_creates_person_company_lead_and_timeline_and_opens_the_lead(inside_sales, campaign):
    client = browser(inside_sales)

    response = client.post(ENTRY, entry_data())

    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    assert (lead.source, lead.stage, lead.created_by) == (
        LeadSource.MANUAL,
        Stage.NEW,
        inside_sales,
    )
    assert (lead.channel.slug, lead.campaign.slug) == ("website", "whitepaper")
    assert lead.product_interest == "ERP Cloud" and lead.message == "Rückruf erbeten."
    person = lead.person
    assert (person.first_name, person.last_name, person.title, person.job_title) == (
        "Max",
        "Muster",
        "Dr.",
        "Geschäftsführer",
    )
    assert person.email_normalized == "max.muster@example.de"
    company = lead.company
    assert (company.name, company.legal_form, company.domain, company.employees) == (
        "Muster Maschinen",
        "GmbH",
        "muster-maschinen.de",
        120,
    )
    assert person.company == company
    entry = Activity.objects.get(lead=lead)
    assert (entry.type, entry.actor) == (ActivityType.MANUAL_ENTRY, inside_sales)
    html = page_text(client.get(response["Location"]))
    assert "Lead for Dr. Max Muster created." in html


def test_save_and_next_returns_an_empty_form_that_keeps_channel_and_campaign(
    inside_sales, campaign
):
    client = browser(inside_sales)

    response = client.post(ENTRY, {**entry_data(), "save_and_new": "1"})

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert url.path == ENTRY
    assert parse_qs(url.query) == {"channel": ["website"], "campaign": ["whitepaper"]}
    html = page_text(client.get(response["Location"]))
    assert "Lead for Dr. Max Muster created." in html
    lead = Lead.objects.get()
    assert f'<a href="{lead.get_absolute_url()}">Open lead</a>' in html
    assert '<option value="website" selected>' in html
    assert '<option value="whitepaper" selected>' in html
    assert 'value="Max.Muster@Example.de"' not in html, "the person fields are empty again"


def test_a_known_email_in_another_case_attaches_the_lead_to_the_person(inside_sales, channel):
    known = PersonFactory(first_name="Max", last_name="Muster", email="max.muster@example.de")

    response = browser(inside_sales).post(
        ENTRY, entry_data(campaign="", title="", email="  MAX.MUSTER@EXAMPLE.DE "), follow=True
    )

    assert Person.objects.count() == 1
    assert Lead.objects.get().person == known
    assert "Lead created and attached to the existing person Max Muster." in page_text(response)


def test_duplicate_warning_shows_for_a_known_email_in_any_case(inside_sales, channel):
    known = PersonFactory(
        first_name="Jürgen",
        last_name="Groß",
        email="j.gross@example.de",
        company=CompanyFactory(name="Groß & Klein KG"),
    )
    LeadFactory.create_batch(2, person=known, channel=channel)

    response = browser(inside_sales).get(
        reverse("contacts:email_check"),
        {"email": " J.Gross@EXAMPLE.de "},
        headers={"HX-Request": "true"},
    )

    html = page_text(response)
    assert response.status_code == 200
    assert "Known e-mail address." in html
    assert "It belongs to Jürgen Groß (2 leads)." in html
    assert "Groß &amp; Klein KG" in html
    assert known.get_absolute_url() in html


@pytest.mark.parametrize("email", ["", "   ", "unknown@example.de", "not an address"])
def test_duplicate_warning_stays_empty_otherwise(inside_sales, email):
    PersonFactory(email="known@example.de")
    response = browser(inside_sales).get(reverse("contacts:email_check"), {"email": email})
    assert response.status_code == 200
    assert page_text(response).strip() == ""


def test_entry_form_asks_the_duplicate_check_while_typing(inside_sales):
    html = page_text(browser(inside_sales).get(ENTRY))
    email = re.search(r'<input type="email" name="email"[^>]*>', html, re.S).group(0)
    assert f'hx-get="{reverse("contacts:email_check")}"' in email
    assert 'hx-target="#email-check"' in email
    assert '<div id="email-check" aria-live="polite">' in html


def _field_error(html: str, field: str) -> str:
    """The error text shown at a field (Django's errorlist with the field's id)."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))) if match else ""


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "max@", "phone": ""}, "email", "Enter a valid e-mail address"),
        ({"email": "", "phone": ""}, "email", "Enter an e-mail address or a phone number."),
        (
            {"email": "", "last_name": ""},
            "last_name",
            "Without an e-mail address, enter at least the last name.",
        ),
        ({"phone": "call me"}, "phone", "A phone number needs digits."),
        ({"company_postal_code": "1011"}, "company_postal_code", "five digits"),
        ({"company_employees": "many"}, "company_employees", "a band such as 50-249"),
        ({"company_country": "Atlantis"}, "company_country", "Unknown country."),
        ({"channel": ""}, "channel", "This field is required."),
        ({"channel": "nope"}, "channel", "Select a valid choice."),
        ({"channel": "trade-fair"}, "campaign", "This campaign belongs to the channel Website."),
        ({"company_name": ""}, "company_name", "Enter the company's name"),
        ({"first_name": "x" * 101}, "first_name", "at most 100 characters"),
    ],
)
def test_entry_shows_contract_errors_at_their_fields_and_stores_nothing(
    inside_sales, campaign, trade_fair, overrides, field, message
):
    response = browser(inside_sales).post(ENTRY, entry_data(**overrides))

    html = page_text(response)
    assert response.status_code == 422
    assert message in _field_error(html, field), _field_error(html, field) or html
    assert "The lead was not saved. Please correct the marked fields." in html
    assert Lead.objects.count() == Person.objects.count() == Company.objects.count() == 0
    assert 'aria-invalid="true"' in html


def test_entry_names_every_problem_in_one_round(inside_sales, campaign, trade_fair):
    response = browser(inside_sales).post(
        ENTRY, entry_data(email="max@", channel="", company_postal_code="1", company_name="")
    )
    html = page_text(response)
    assert "This field is required." in _field_error(html, "channel")
    assert "Enter a valid e-mail address" in _field_error(html, "email")
    assert "Enter the company's name" in _field_error(html, "company_name")
    assert Lead.objects.count() == 0


def test_entry_keeps_what_was_typed_after_an_error(inside_sales, campaign):
    html = page_text(
        browser(inside_sales).post(ENTRY, entry_data(company_postal_code="1011", first_name="Jörg"))
    )
    assert 'value="Jörg"' in html and 'value="Max.Muster@Example.de"' in html


def test_entry_repeats_the_duplicate_warning_after_an_error(inside_sales, campaign):
    PersonFactory(first_name="Max", last_name="Bekannt", email="max.muster@example.de")
    html = page_text(browser(inside_sales).post(ENTRY, entry_data(company_postal_code="1")))
    assert "It belongs to Max Bekannt" in html


def test_partners_may_not_use_the_entry_form(partner_user, channel):
    client = browser(partner_user)
    assert client.get(ENTRY).status_code == 403
    assert client.post(ENTRY, entry_data(campaign="")).status_code == 403
    assert Lead.objects.count() == 0
    assert f'href="{ENTRY}"' not in page_text(client.get(INBOX))


@pytest.mark.parametrize("role", [Role.SALES_REP, Role.SALES_MANAGER, Role.MARKETING, Role.ADMIN])
def test_other_roles_may_enter_leads(role, channel):
    user = UserFactory(roles=[role])
    assert browser(user).get(ENTRY).status_code == 200


# --- web form management -----------------------------------------------------------------


@pytest.fixture
def webform(channel, campaign):
    return WebForm.objects.create(
        name="Kontakt <Website>", channel=channel, campaign=campaign, product_interest="ERP"
    )


def test_marketing_sees_the_forms_with_their_iframe_snippet(marketing_user, webform):
    response = browser(marketing_user).get(reverse("leads:webforms"))

    html = page_text(response)
    assert response.status_code == 200
    assert "Kontakt &lt;Website&gt;" in html
    url = f"{settings.LEADWERK_BASE_URL}/f/{webform.uuid}/"
    # The snippet is shown as text, so its markup arrives escaped once more.
    snippet = f'<iframe src="{url}" title="Kontakt &lt;Website&gt;"'
    assert escape(snippet) in html
    assert "<iframe" not in html, "the snippet is shown, never embedded in our page"


def test_marketing_creates_a_web_form(marketing_user, channel, campaign):
    response = browser(marketing_user).post(
        reverse("leads:webform_new"),
        {
            "name": "Messe-Tablet",
            "channel": channel.pk,
            "campaign": campaign.pk,
            "language": "de",
            "product_interest": "ERP Cloud",
            "ask_phone": "on",
            "ask_company": "on",
            "thank_you_text": "Danke!",
            "is_active": "on",
        },
        follow=True,
    )

    webform = WebForm.objects.get()
    assert (webform.name, webform.channel, webform.campaign, webform.language) == (
        "Messe-Tablet",
        channel,
        campaign,
        "de",
    )
    assert (webform.ask_phone, webform.ask_job_title, webform.is_active) == (True, False, True)
    assert "Web form “Messe-Tablet” saved." in page_text(response)


def test_editing_a_web_form_changes_it(admin_user, webform):
    url = reverse("leads:webform_edit", args=[webform.uuid])
    client = browser(admin_user)
    assert "Kontakt &lt;Website&gt;" in page_text(client.get(url))

    client.post(
        url,
        {"name": "Kontakt", "channel": webform.channel.pk, "campaign": "", "language": ""},
    )

    webform.refresh_from_db()
    assert (webform.name, webform.campaign, webform.is_active) == ("Kontakt", None, False)


def test_a_campaign_of_another_channel_is_refused(marketing_user, webform, trade_fair):
    response = browser(marketing_user).post(
        reverse("leads:webform_edit", args=[webform.uuid]),
        {"name": "Umgehängt", "channel": trade_fair.pk, "campaign": webform.campaign.pk},
    )

    assert response.status_code == 422
    assert "This campaign belongs to another channel." in _field_error(
        page_text(response), "campaign"
    )
    webform.refresh_from_db()
    assert webform.name == "Kontakt <Website>" and webform.channel != trade_fair


def test_a_language_the_product_does_not_speak_is_refused(marketing_user, webform):
    response = browser(marketing_user).post(
        reverse("leads:webform_edit", args=[webform.uuid]),
        {"name": "X", "channel": webform.channel.pk, "language": "xx"},
    )
    assert response.status_code == 422
    assert "Select a valid choice." in _field_error(page_text(response), "language")


@pytest.mark.parametrize(
    "role", [Role.SALES_REP, Role.SALES_MANAGER, Role.INSIDE_SALES, Role.PARTNER]
)
def test_other_roles_may_not_manage_web_forms(role, webform):
    client = browser(UserFactory(roles=[role]))
    assert client.get(reverse("leads:webforms")).status_code == 403
    assert client.get(reverse("leads:webform_new")).status_code == 403
    edit = reverse("leads:webform_edit", args=[webform.uuid])
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"name": "gekapert", "channel": webform.channel.pk}).status_code == 403
    webform.refresh_from_db()
    assert webform.name == "Kontakt <Website>"


def test_editing_an_unknown_web_form_is_404(admin_user):
    url = reverse("leads:webform_edit", args=["00000000-0000-0000-0000-000000000000"])
    assert browser(admin_user).get(url).status_code == 404


def test_web_form_list_query_count_is_pinned(admin_user, channel, django_assert_max_num_queries):
    for i in range(12):
        WebForm.objects.create(
            name=f"Form {i}", channel=channel, campaign=CampaignFactory(channel=channel)
        )
    client = browser(admin_user)
    client.get(reverse("leads:webforms"))
    # session, user, roles, forms with channel and campaign
    with django_assert_max_num_queries(4):
        client.get(reverse("leads:webforms"))


def test_a_changed_message_shows_as_a_field_change_not_as_a_raw_record(admin_user, channel):
    from leadwerk.leads.services import lead_update

    lead = LeadFactory(channel=channel, message="alt")
    lead_update(lead=lead, actor=admin_user, changes={"message": "neu"})
    client = Client()
    client.force_login(admin_user)
    html = client.get(lead.get_absolute_url()).content.decode()
    assert "{&#x27;from&#x27;" not in html and "{'from'" not in html
