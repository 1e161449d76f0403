"""A deterministic, realistic demo data set: a German B2B software vendor ("Nordlicht
Software GmbH") with its channels, campaigns, customers' people, leads over 18 months and
their timelines. Everything comes from one seeded random generator, so the same seed and
anchor date give the same data.

The generator writes with bulk inserts (tens of thousands of rows in seconds); it is a
fixture loader, not a use case, so it does not go through the per-lead services.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from faker import Faker
from stdnum.iso7064 import mod_11_10

from leadwerk.accounts.choices import PartnerTier, Role, TokenScope
from leadwerk.accounts.models import PartnerCompany, Team, User
from leadwerk.accounts.services import api_token_create, roles_ensure, user_create
from leadwerk.activities.choices import ActivityType
from leadwerk.activities.models import Activity
from leadwerk.campaigns.choices import ChannelKind
from leadwerk.campaigns.models import Campaign, Channel
from leadwerk.contacts.choices import EmployeeBand, Salutation
from leadwerk.contacts.models import Company, Person
from leadwerk.contacts.normalization import company_name_key, email_key
from leadwerk.contacts.phone import phone_normalize
from leadwerk.leads.choices import CLOSED_STAGES, LeadSource, Stage
from leadwerk.leads.models import Lead, StageChange, WebForm
from leadwerk.routing.models import Assignment

from .quality import DemoQuality
from .routing import DemoRouting

DEMO_PASSWORD = "leadwerk-demo"  # noqa: S105 - documented demo credential
TOKEN_FILE = "demo_admin_token"  # noqa: S105 - a file name

# (username, first, last, roles, team name, partner name)
USERS = [
    ("admin", "Andrea", "Admin", [Role.ADMIN], None, None),
    ("marketing", "Miriam", "Köhler", [Role.MARKETING], "Marketing", None),
    ("telesales", "Tobias", "Schäfer", [Role.INSIDE_SALES], "Inside Sales", None),
    ("manager", "Martina", "Groß", [Role.SALES_MANAGER], None, None),
    ("rep", "Jürgen", "Weiß", [Role.SALES_REP], "Vertrieb Süd", None),
    ("rep2", "Aylin", "Demir", [Role.SALES_REP], "Vertrieb Süd", None),
    ("rep3", "Lukas", "Brandt", [Role.SALES_REP], "Vertrieb Nord", None),
    ("rep4", "Sophie", "Ößwald", [Role.SALES_REP], "Vertrieb Nord", None),
    ("partner", "Peter", "Weber", [Role.PARTNER], None, "Systemhaus Weber GmbH"),
    ("partner2", "Nina", "Albrecht", [Role.PARTNER], None, "DataConsult Partner AG"),
    ("auditor", "Anke", "Prüfer", [Role.AUDITOR], None, None),
]
TEAMS = ["Vertrieb Nord", "Vertrieb Süd", "Inside Sales", "Marketing"]
PARTNERS = [
    ("Systemhaus Weber GmbH", PartnerTier.GOLD),
    ("DataConsult Partner AG", PartnerTier.SILVER),
]

# The seeds' ranking by depth of qualification (seed 001, Erfolgsfaktor 3; seed 000 adds
# social media), with a value weight each: a web lead is worth less than a trade-fair lead.
CHANNELS = [
    ("telemarketing", "Telemarketing", ChannelKind.TELEMARKETING, "1.50", 1),
    ("direct-mail", "Direct Mail mit Response-Element", ChannelKind.DIRECT_MAIL, "1.30", 2),
    ("events", "Events & Seminare", ChannelKind.EVENT, "1.25", 3),
    ("trade-fair", "Messen", ChannelKind.TRADE_FAIR, "1.20", 4),
    ("website", "Website", ChannelKind.WEBSITE, "0.80", 5),
    ("social", "Social Media & Communities", ChannelKind.SOCIAL, "0.70", 6),
    ("ads", "Anzeigen mit Response-Element", ChannelKind.ADVERTISING, "0.60", 7),
    ("partner", "Partner", ChannelKind.PARTNER, "1.00", 8),
]
# (slug, name, channel, start offset days before anchor, duration days, cost EUR)
CAMPAIGNS = [
    ("hannover-messe-2026", "Hannover Messe 2026", "trade-fair", 225, 5, "48500.00"),
    ("it-sa-2025", "it-sa Nürnberg 2025", "trade-fair", 405, 3, "31200.00"),
    ("roadshow-mittelstand", "Roadshow Mittelstand Digital", "events", 300, 60, "22400.00"),
    ("webinar-cloud-erp", "Webinar-Reihe Cloud-ERP", "events", 480, 420, "6800.00"),
    ("mailing-fertigung-q1", "Mailing Fertigungsindustrie Q1", "direct-mail", 330, 30, "12900.00"),
    ("mailing-handel-q3", "Mailing Groß- und Einzelhandel Q3", "direct-mail", 120, 30, "9800.00"),
    (
        "tele-bestandskunden",
        "Telefonaktion Bestandskunden Upsell",
        "telemarketing",
        200,
        90,
        "15600.00",
    ),
    ("tele-neukunden-sued", "Telefonaktion Neukunden Süd", "telemarketing", 90, 60, "11800.00"),
    ("whitepaper-industrie40", "Whitepaper Industrie 4.0", "website", 520, 520, "4200.00"),
    ("linkedin-cloud-erp", "LinkedIn-Kampagne Cloud-ERP", "social", 150, 120, "18500.00"),
    ("google-ads-erp", "Google Ads ERP Mittelstand", "ads", 540, 540, "26400.00"),
    (
        "fachanzeige-produktion",
        "Fachanzeige „Produktion“ mit Antwortkarte",
        "ads",
        260,
        45,
        "7400.00",
    ),
]
PRODUCTS = [
    "Nordlicht ERP",
    "Nordlicht ERP Cloud",
    "Nordlicht CRM",
    "Nordlicht MES",
    "Nordlicht BI",
    "Beratung Digitalisierung",
    "Support-Vertrag",
]
INDUSTRIES = [
    "Maschinenbau",
    "Automobilzulieferer",
    "Elektrotechnik",
    "Chemie",
    "Logistik",
    "Großhandel",
    "Einzelhandel",
    "IT-Dienstleistungen",
    "Medizintechnik",
    "Lebensmittel",
    "Bauwesen",
    "Energie",
    "Finanzdienstleistungen",
    "Gesundheitswesen",
    "Öffentliche Verwaltung",
]
BRANCH_WORDS = {
    "Maschinenbau": ["Maschinenbau", "Anlagenbau", "Präzisionstechnik"],
    "Automobilzulieferer": ["Automotive", "Fahrzeugteile", "Zulieferteile"],
    "Elektrotechnik": ["Elektrotechnik", "Elektronik", "Schaltanlagen"],
    "Chemie": ["Chemie", "Kunststoffe", "Lacke"],
    "Logistik": ["Logistik", "Spedition", "Transport"],
    "Großhandel": ["Großhandel", "Handelsgesellschaft", "Vertrieb"],
    "Einzelhandel": ["Handel", "Warenhaus", "Fachmarkt"],
    "IT-Dienstleistungen": ["IT-Service", "Systemhaus", "Software"],
    "Medizintechnik": ["Medizintechnik", "Medical", "Labortechnik"],
    "Lebensmittel": ["Feinkost", "Lebensmittel", "Backwaren"],
    "Bauwesen": ["Bau", "Hochbau", "Bauunternehmung"],
    "Energie": ["Energie", "Stadtwerke", "Solartechnik"],
    "Finanzdienstleistungen": ["Finanzberatung", "Leasing", "Vermögensverwaltung"],
    "Gesundheitswesen": ["Klinikverbund", "Pflegedienste", "Praxisverbund"],
    "Öffentliche Verwaltung": ["Zweckverband", "Kommunalservice", "Verwaltungsdienste"],
}
LEGAL_FORMS = (
    ["GmbH"] * 10
    + ["GmbH & Co. KG"] * 4
    + ["AG"] * 2
    + ["KG", "e.K.", "SE", "UG (haftungsbeschränkt)"]
)
# (city, postal code, federal state, phone area code, country)
CITIES = [
    ("München", "80331", "BY", "89", "DE"),
    ("Nürnberg", "90402", "BY", "911", "DE"),
    ("Augsburg", "86150", "BY", "821", "DE"),
    ("Regensburg", "93047", "BY", "941", "DE"),
    ("Stuttgart", "70173", "BW", "711", "DE"),
    ("Karlsruhe", "76133", "BW", "721", "DE"),
    ("Mannheim", "68159", "BW", "621", "DE"),
    ("Freiburg im Breisgau", "79098", "BW", "761", "DE"),
    ("Ulm", "89073", "BW", "731", "DE"),
    ("Berlin", "10115", "BE", "30", "DE"),
    ("Potsdam", "14467", "BB", "331", "DE"),
    ("Hamburg", "20095", "HH", "40", "DE"),
    ("Bremen", "28195", "HB", "421", "DE"),
    ("Hannover", "30159", "NI", "511", "DE"),
    ("Braunschweig", "38100", "NI", "531", "DE"),
    ("Köln", "50667", "NW", "221", "DE"),
    ("Düsseldorf", "40213", "NW", "211", "DE"),
    ("Essen", "45127", "NW", "201", "DE"),
    ("Dortmund", "44135", "NW", "231", "DE"),
    ("Bielefeld", "33602", "NW", "521", "DE"),
    ("Münster", "48143", "NW", "251", "DE"),
    ("Frankfurt am Main", "60311", "HE", "69", "DE"),
    ("Wiesbaden", "65183", "HE", "611", "DE"),
    ("Kassel", "34117", "HE", "561", "DE"),
    ("Mainz", "55116", "RP", "6131", "DE"),
    ("Saarbrücken", "66111", "SL", "681", "DE"),
    ("Leipzig", "04109", "SN", "341", "DE"),
    ("Dresden", "01067", "SN", "351", "DE"),
    ("Erfurt", "99084", "TH", "361", "DE"),
    ("Magdeburg", "39104", "ST", "391", "DE"),
    ("Rostock", "18055", "MV", "381", "DE"),
    ("Kiel", "24103", "SH", "431", "DE"),
    ("Wien", "1010", "", "1", "AT"),
    ("Graz", "8010", "", "316", "AT"),
    ("Zürich", "8001", "", "44", "CH"),
]
COUNTRY_PREFIX = {"DE": "+49", "AT": "+43", "CH": "+41"}
FREEMAIL = ["gmx.de", "web.de", "t-online.de", "gmail.com", "outlook.de"]
JOB_TITLES = [
    "Geschäftsführer",
    "Geschäftsführerin",
    "Leiter IT",
    "Leiterin IT",
    "CIO",
    "CFO",
    "Kaufmännischer Leiter",
    "Leiterin Einkauf",
    "Einkäufer",
    "Produktionsleiter",
    "Head of Operations",
    "Projektleiterin Digitalisierung",
    "IT-Administrator",
    "Controller",
    "Vertriebsleiter",
    "Assistentin der Geschäftsführung",
]
REJECT_REASONS = [
    "Nicht erreichbar",
    "Kein Budget",
    "Kein Bedarf",
    "Falscher Ansprechpartner",
    "Dublette",
    "Wettbewerber",
    "Student/Bewerber",
]
LOSS_REASONS = [
    "Preis",
    "Wettbewerber gewählt",
    "Projekt verschoben",
    "Kein Budget",
    "Funktionsumfang",
]
MESSAGES = [
    "Wir suchen eine Lösung für unsere Auftragsabwicklung. Bitte um Rückruf.",
    "Können Sie uns ein Angebot für 25 Arbeitsplätze schicken?",
    "Interesse an einer Live-Demo, gern nächste Woche.",
    "Wir wollen unser altes Warenwirtschaftssystem ablösen – Zeitplan Q3.",
    "Bitte senden Sie mir Preisinformationen zu.",
    "Am Messestand gesprochen, Interesse an MES-Anbindung.",
    "Gibt es eine Schnittstelle zu DATEV?",
    "",
    "",
]


@dataclass
class DemoSize:
    companies: int = 2_000
    persons: int = 5_000
    leads: int = 8_000
    activities: int = 50_000
    days: int = 540

    @classmethod
    def small(cls) -> DemoSize:
        return cls(companies=200, persons=500, leads=800, activities=5_000)


def demo_loaded() -> bool:
    return User.objects.filter(username="admin").exists() and Channel.objects.exists()


def demo_users() -> list[tuple[str, str]]:
    return [(u[0], ", ".join(str(r.label) for r in u[3])) for u in USERS]


def demo_admin_token() -> str | None:
    path = Path(settings.VAR_DIR) / TOKEN_FILE
    return path.read_text().strip() if path.exists() else None


def _ascii(value: str) -> str:
    value = value.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return "".join(c for c in value if c.isalnum() or c in ".-")


class _Builder:
    def __init__(self, *, seed: int, anchor: date, size: DemoSize, log: Callable[[str], None]):
        self.rng = random.Random(seed)
        self.fake = Faker("de_DE")
        self.fake.seed_instance(seed)
        self.size = size
        self.log = log
        now = datetime.now(tz=UTC)
        self.now = (
            now if anchor == now.date() else datetime.combine(anchor, time(17, 30), tzinfo=UTC)
        )
        self.start = self.now - timedelta(days=size.days)

    # --- helpers -----------------------------------------------------------------
    def when_between(self, a: datetime, b: datetime) -> datetime:
        """A moment between a and b on a weekday during office hours (roughly)."""
        if b <= a:
            return a
        for _ in range(10):
            t = a + timedelta(seconds=self.rng.uniform(0, (b - a).total_seconds()))
            if t.weekday() < 5 and 6 <= t.hour < 18:
                return t
        return t

    def phone(self, area: str, country: str) -> tuple[str, bool]:
        digits = str(self.rng.randint(10**5, 10**7 - 1))
        if self.rng.random() < 0.25 and country == "DE":
            prefix = f"01{self.rng.choice('567')}{self.rng.randint(0, 9)}"
            return phone_normalize(f"{prefix} {self.rng.randint(1000000, 9999999)}", region="DE")
        return phone_normalize(f"{COUNTRY_PREFIX[country]} {area} {digits}", region=country)

    # --- parts ---------------------------------------------------------------------
    def users(self) -> dict[str, User]:
        roles_ensure()
        teams = {name: Team.objects.create(name=name) for name in TEAMS}
        partners = {n: PartnerCompany.objects.create(name=n, tier=t) for n, t in PARTNERS}
        users = {}
        for username, first, last, roles, team, partner in USERS:
            users[username] = user_create(
                username=username,
                password=DEMO_PASSWORD,
                roles=roles,
                email=f"{username}@nordlicht-software.example",
                first_name=first,
                last_name=last,
                team=teams.get(team) if team else None,
                partner=partners.get(partner) if partner else None,
                is_staff=username == "admin",
                is_superuser=username == "admin",
            )
            # Stable public ids: the same seed gives the same links and the same routing.
            users[username].uuid = uuid.UUID(int=self.rng.getrandbits(128), version=4)
            users[username].save(update_fields=["uuid"])
        for name in ("Vertrieb Nord", "Vertrieb Süd"):
            teams[name].manager = users["manager"]
            teams[name].save(update_fields=["manager"])
        teams["Inside Sales"].manager = users["telesales"]
        teams["Inside Sales"].save(update_fields=["manager"])
        self.teams = teams
        self.partners = partners
        _token, raw = api_token_create(user=users["admin"], name="Demo", scope=TokenScope.ADMIN)
        path = Path(settings.VAR_DIR) / TOKEN_FILE
        path.write_text(raw)
        path.chmod(0o600)
        return users

    def channels(self) -> tuple[dict[str, Channel], list[Campaign]]:
        channels = {
            slug: Channel.objects.create(
                slug=slug, name=name, kind=kind, value_weight=Decimal(weight), rank=rank
            )
            for slug, name, kind, weight, rank in CHANNELS
        }
        campaigns = []
        for slug, name, channel, offset, duration, cost in CAMPAIGNS:
            starts = (self.now - timedelta(days=offset)).date()
            campaigns.append(
                Campaign.objects.create(
                    slug=slug,
                    name=name,
                    channel=channels[channel],
                    starts_on=starts,
                    ends_on=starts + timedelta(days=duration),
                    cost=Decimal(cost),
                )
            )
        WebForm.objects.create(
            name="Kontaktformular Website",
            channel=channels["website"],
            product_interest="",
            thank_you_text="Vielen Dank! Wir melden uns innerhalb eines Werktags bei Ihnen.",
        )
        WebForm.objects.create(
            name="Whitepaper Industrie 4.0 – Download",
            channel=channels["website"],
            campaign=next(c for c in campaigns if c.slug == "whitepaper-industrie40"),
            product_interest="Nordlicht MES",
            ask_message=False,
        )
        WebForm.objects.create(
            name="Hannover Messe – Standgespräch (Tablet)",
            channel=channels["trade-fair"],
            campaign=next(c for c in campaigns if c.slug == "hannover-messe-2026"),
            language="de",
        )
        return channels, campaigns

    def companies(self) -> list[Company]:
        rows, seen_domains = [], set()
        for _ in range(self.size.companies):
            industry = self.rng.choice(INDUSTRIES)
            city, plz, state, area, country = self.rng.choice(CITIES)
            pattern = self.rng.random()
            last = self.fake.last_name()
            word = self.rng.choice(BRANCH_WORDS[industry])
            if pattern < 0.45:
                base = f"{last} {word}"
            elif pattern < 0.65:
                base = f"{last} & {self.fake.last_name()}"
            elif pattern < 0.8:
                base = f"{city.split()[0]}er {word}"
            else:
                base = f"{self.fake.last_name()} {word}"
            form = (
                self.rng.choice(LEGAL_FORMS) if country == "DE" else self.rng.choice(["GmbH", "AG"])
            )
            employees = int(self.rng.lognormvariate(4.2, 1.4))
            domain = f"{_ascii(base.replace(' & ', '-').replace(' ', '-'))}.{country.lower()}"
            while domain in seen_domains:
                domain = f"{domain.rsplit('.', 1)[0]}{self.rng.randint(2, 99)}.{country.lower()}"
            seen_domains.add(domain)
            vat = ""
            if country == "DE" and self.rng.random() < 0.6:
                digits = str(self.rng.randint(10**7, 10**8 - 1))
                vat = f"DE{digits}{mod_11_10.calc_check_digit(digits)}"
            postal = plz if country != "DE" else f"{int(plz) + self.rng.randint(0, 40):05d}"
            created = self.start - timedelta(days=self.rng.randint(0, 900))
            rows.append(
                Company(
                    name=base,
                    legal_form=form,
                    name_key=company_name_key(base),
                    website=f"https://www.{domain}" if self.rng.random() < 0.9 else "",
                    domain=domain,
                    industry=industry,
                    employees=employees,
                    employee_band=EmployeeBand.for_count(employees).value,
                    country=country,
                    postal_code=postal,
                    city=city,
                    federal_state=state,
                    vat_id=vat,
                    created_at=created,
                    updated_at=created,
                )
            )
        Company.objects.bulk_create(rows, batch_size=1000)
        return list(Company.objects.order_by("id"))

    def persons(self, companies: list[Company]) -> list[Person]:
        rows, seen = [], set()
        areas = {c[0]: c[3] for c in CITIES}
        for i in range(self.size.persons):
            company = (
                companies[i % len(companies)] if i < len(companies) else self.rng.choice(companies)
            )
            female = self.rng.random() < 0.42
            first = self.fake.first_name_female() if female else self.fake.first_name_male()
            last = self.fake.last_name()
            r = self.rng.random()
            title = "Prof. Dr." if r < 0.015 else "Dr." if r < 0.09 else ""
            if self.rng.random() < 0.12:
                domain = self.rng.choice(FREEMAIL)
                local = f"{_ascii(first)}.{_ascii(last)}{self.rng.randint(1, 99)}"
            else:
                domain = company.domain
                local = self.rng.choice(
                    [
                        f"{_ascii(first)}.{_ascii(last)}",
                        f"{_ascii(first)[0]}.{_ascii(last)}",
                        _ascii(last),
                    ]
                )
            email = f"{local}@{domain}"
            while email_key(email) in seen:
                email = f"{local}{self.rng.randint(2, 999)}@{domain}"
            seen.add(email_key(email))
            phone, valid = ("", True)
            if self.rng.random() < 0.85:
                phone, valid = self.phone(areas.get(company.city, "30"), company.country or "DE")
            created = company.created_at + timedelta(days=self.rng.randint(0, 200))
            rows.append(
                Person(
                    salutation=Salutation.MS if female else Salutation.MR,
                    title=title,
                    first_name=first,
                    last_name=last,
                    email=email,
                    email_normalized=email_key(email),
                    phone=phone,
                    phone_valid=valid,
                    job_title=self.rng.choice(JOB_TITLES),
                    language="de" if company.country in ("DE", "AT", "CH") else "en",
                    company=company,
                    created_at=created,
                    updated_at=created,
                )
            )
        # A few people whose names need care when rendered and stored.
        specials = [
            ("Zoë", "Nguyễn-Weiß", "Prof. Dr."),
            ("Jörg", "Großmann 🚀", ""),
            ("Ахмед", "Шульц", ""),
            ("נועה", "כהן", ""),
            ("<b>Kai</b>", "O'Brien & Söhne", "Dr."),
        ]
        for n, (first, last, title) in enumerate(specials):
            email = f"sonderfall{n}@{companies[n].domain}"
            rows[n].first_name, rows[n].last_name, rows[n].title = first, last, title
            rows[n].email, rows[n].email_normalized = email, email_key(email)
        Person.objects.bulk_create(rows, batch_size=1000)
        return list(Person.objects.select_related("company").order_by("id"))

    def leads(self, persons, channels, campaigns, users, routing: DemoRouting) -> tuple[int, int]:
        campaigns_by_channel: dict[str, list[Campaign]] = {}
        for c in campaigns:
            campaigns_by_channel.setdefault(c.channel.slug, []).append(c)
        channel_weights = [
            ("website", 30),
            ("trade-fair", 14),
            ("events", 10),
            ("direct-mail", 9),
            ("telemarketing", 11),
            ("social", 9),
            ("ads", 11),
            ("partner", 6),
        ]
        slugs = [s for s, _ in channel_weights]
        weights = [w for _, w in channel_weights]
        leads, changes, activities = [], [], []
        marketing, telesales = users["marketing"], users["telesales"]
        for i in range(self.size.leads):
            person = persons[i] if i < len(persons) else self.rng.choice(persons)
            channel = channels[self.rng.choices(slugs, weights)[0]]
            campaign = None
            options = campaigns_by_channel.get(channel.slug, [])
            if options and self.rng.random() < 0.75:
                campaign = self.rng.choice(options)
            # Newer leads are more frequent (growing marketing), older ones progressed further.
            age = self.size.days * (1 - self.rng.random() ** 0.8)
            created = self.when_between(
                self.now - timedelta(days=age),
                min(self.now, self.now - timedelta(days=age) + timedelta(hours=8)),
            )
            if campaign and campaign.starts_on and created.date() < campaign.starts_on:
                created = self.when_between(
                    datetime.combine(campaign.starts_on, time(8), tzinfo=UTC),
                    min(
                        self.now,
                        datetime.combine(campaign.starts_on, time(8), tzinfo=UTC)
                        + timedelta(days=30),
                    ),
                )
            path = self._path(age_days=(self.now - created).days)
            lead = Lead(
                uuid=uuid.UUID(int=self.rng.getrandbits(128), version=4),
                person=person,
                company=person.company,
                channel=channel,
                campaign=campaign,
                source=self.rng.choice(
                    [LeadSource.FORM, LeadSource.API, LeadSource.IMPORT, LeadSource.MANUAL]
                )
                if channel.slug != "website"
                else LeadSource.FORM,
                product_interest=self.rng.choice(PRODUCTS),
                message=self.rng.choice(MESSAGES),
                created_at=created,
                updated_at=created,
                stage=Stage.NEW,
                stage_changed_at=created,
            )
            intake_type = {
                LeadSource.FORM: ActivityType.FORM_SUBMIT,
                LeadSource.API: ActivityType.API_INTAKE,
                LeadSource.IMPORT: ActivityType.IMPORT,
                LeadSource.MANUAL: ActivityType.MANUAL_ENTRY,
            }[lead.source]
            lead_changes = [("", Stage.NEW, created, None, "")]
            lead_acts = [
                (intake_type, created, None, lead.product_interest, {"channel": channel.slug})
            ]
            t = created
            owner = None
            for to_stage in path[1:]:
                gap = {
                    Stage.MQL: 4,
                    Stage.SAL: 2,
                    Stage.SQL: 12,
                    Stage.OPPORTUNITY: 20,
                    Stage.WON: 45,
                    Stage.LOST: 40,
                    Stage.RECYCLED: 15,
                    Stage.DISQUALIFIED: 6,
                }[to_stage]
                # Sales turned it down: routed at the MQL hand-off, then rejected with a reason.
                rejected = lead.stage == Stage.MQL and to_stage in (
                    Stage.DISQUALIFIED,
                    Stage.RECYCLED,
                )
                if to_stage == Stage.SAL or rejected:
                    # Routed the moment it became an MQL; accepted (or rejected) with the
                    # first call, mostly within hours, sometimes days later (a missed deadline).
                    assigned = t + timedelta(minutes=self.rng.randint(1, 15))
                    slow = self.rng.random() < 0.12
                    t = self.when_between(
                        assigned + timedelta(hours=6 if slow else 0, minutes=10),
                        assigned + (timedelta(days=3) if slow else timedelta(hours=5)),
                    )
                    t = min(self.now, max(t, assigned + timedelta(minutes=10)))
                else:
                    t = min(
                        self.now,
                        self.when_between(t + timedelta(hours=2), t + timedelta(days=gap)),
                    )
                actor, reason = None, ""
                if to_stage == Stage.MQL:
                    actor = marketing
                    reason = "Scoring-Schwelle erreicht (Fit B, Engagement 64)"
                elif rejected:
                    item = routing.assign(
                        lead=lead, index=i, assigned=assigned, rejected=(to_stage, t), rng=self.rng
                    )
                    lead_acts.append(routing.assignment_activity(item))
                    actor, reason = item.user, item.rejection_text
                elif to_stage == Stage.SAL:
                    item = routing.assign(lead=lead, index=i, assigned=assigned, accepted_at=t)
                    owner, pool = item.user, item.pool
                    lead.owner, lead.assigned_at = owner, assigned
                    lead.team = pool.team if pool.team_id else owner.team
                    lead.partner = owner.partner if owner.partner_id else None
                    lead_acts.append(routing.assignment_activity(item))
                    actor = owner
                    lead.first_response_at = t
                    lead_acts.append(
                        (ActivityType.CALL, t, owner, "Erstgespräch / Bedarfsklärung", {})
                    )
                elif to_stage in (Stage.DISQUALIFIED, Stage.RECYCLED):
                    actor = owner or telesales
                    reason = self.rng.choice(REJECT_REASONS)
                elif to_stage == Stage.LOST:
                    actor, reason = owner, self.rng.choice(LOSS_REASONS)
                else:
                    actor = owner
                    if to_stage == Stage.OPPORTUNITY:
                        lead_acts.append(
                            (ActivityType.MEETING, t, owner, "Präsentation beim Kunden", {})
                        )
                lead_changes.append((lead.stage, to_stage, t, actor, reason))
                lead_acts.append(
                    (
                        ActivityType.STAGE_CHANGE,
                        t,
                        actor,
                        f"{Stage(lead.stage).label} → {Stage(to_stage).label}",
                        {"from": lead.stage, "to": to_stage, "reason": reason},
                    )
                )
                lead.stage, lead.stage_changed_at, lead.updated_at = to_stage, t, t
                if to_stage in CLOSED_STAGES:
                    lead.closed_at = t
                if to_stage == Stage.WON:
                    lead_acts.append(
                        (ActivityType.PURCHASE, t, owner, f"Auftrag {lead.product_interest}", {})
                    )
            leads.append(lead)
            changes.append(lead_changes)
            activities.append(lead_acts)
        Lead.objects.bulk_create(leads, batch_size=1000)
        self.n_assignments, self.n_breaches, notes = routing.write_history(leads)
        for index, note in notes:
            activities[index].append(note)
        stage_rows, activity_rows = [], []
        for lead, lead_changes, lead_acts in zip(leads, changes, activities, strict=True):
            for frm, to, at, by, reason in lead_changes:
                stage_rows.append(
                    StageChange(lead=lead, from_stage=frm, to_stage=to, at=at, by=by, reason=reason)
                )
            for type_, at, actor, subject, payload in lead_acts:
                activity_rows.append(
                    Activity(
                        person_id=lead.person_id,
                        lead=lead,
                        type=type_,
                        occurred_at=at,
                        actor=actor,
                        subject=subject,
                        payload=payload,
                        created_at=at,
                    )
                )
        # Behaviour and contact history until the activity total is reached.
        behaviour = [
            (ActivityType.WEB_VISIT, 34, None),
            (ActivityType.EMAIL_OPEN, 20, None),
            (ActivityType.EMAIL_CLICK, 9, None),
            (ActivityType.DOWNLOAD, 7, None),
            (ActivityType.CALL, 9, "sales"),
            (ActivityType.EMAIL, 8, "sales"),
            (ActivityType.MEETING, 3, "sales"),
            (ActivityType.NOTE, 5, "sales"),
            (ActivityType.WEBINAR_ATTENDED, 2, None),
            (ActivityType.EVENT_VISIT, 2, None),
            (ActivityType.SERVICE_REQUEST, 1, None),
            (ActivityType.COMPLAINT, 1, None),
        ]
        kinds = [b[0] for b in behaviour]
        kind_weights = [b[1] for b in behaviour]
        pages = [
            "/",
            "/produkte/erp",
            "/preise",
            "/referenzen",
            "/kontakt",
            "/blog/industrie-4-0",
            "/produkte/mes",
            "/karriere",
            "/webinare",
            "/produkte/crm",
        ]
        downloads = [
            "Whitepaper Industrie 4.0",
            "Preisliste ERP 2026",
            "Case Study Logistik",
            "Checkliste ERP-Auswahl",
            "Datenblatt MES",
        ]
        webinars = [c.name for c in campaigns if c.slug.startswith("webinar")]
        events = [
            c.name
            for c in campaigns
            if c.channel.slug in ("events", "trade-fair") and c.name not in webinars
        ]
        missing = self.size.activities - len(activity_rows)
        for _ in range(max(0, missing)):
            lead = self.rng.choice(leads)
            kind = self.rng.choices(kinds, kind_weights)[0]
            end = lead.closed_at or self.now
            at = self.when_between(lead.created_at - timedelta(days=20), end)
            actor, subject, payload = None, "", {}
            if kind == ActivityType.WEB_VISIT:
                payload = {"path": self.rng.choice(pages)}
                subject = payload["path"]
            elif kind == ActivityType.DOWNLOAD:
                subject = self.rng.choice(downloads)
            elif kind == ActivityType.WEBINAR_ATTENDED:
                subject = self.rng.choice(webinars)
            elif kind == ActivityType.EVENT_VISIT:
                subject = self.rng.choice(events)
            elif kind in (ActivityType.EMAIL_OPEN, ActivityType.EMAIL_CLICK):
                subject = self.rng.choice(
                    ["Newsletter " + at.strftime("%m/%Y"), "Einladung Webinar", "Angebot Cloud-ERP"]
                )
            elif kind == ActivityType.CALL:
                actor = lead.owner or telesales
                subject = self.rng.choice(
                    [
                        "Rückruf vereinbart",
                        "Nicht erreicht",
                        "Bedarf besprochen",
                        "Termin vereinbart",
                    ]
                )
            elif kind == ActivityType.EMAIL:
                actor = lead.owner or telesales
                subject = self.rng.choice(
                    ["Unterlagen gesendet", "Angebot nachgefasst", "Terminbestätigung"]
                )
            elif kind == ActivityType.MEETING:
                actor = lead.owner or telesales
                subject = self.rng.choice(["Online-Demo", "Workshop vor Ort"])
            elif kind == ActivityType.NOTE:
                actor = lead.owner or telesales
                subject = self.rng.choice(
                    ["Entscheider ist der CFO", "Budget ab Q2 freigegeben", "Wettbewerber im Haus"]
                )
            else:
                subject = self.rng.choice(["Frage zur Lizenz", "Lieferverzug reklamiert"])
            activity_rows.append(
                Activity(
                    person_id=lead.person_id,
                    lead=lead if self.rng.random() < 0.8 else None,
                    type=kind,
                    occurred_at=at,
                    actor=actor,
                    subject=subject,
                    payload=payload,
                    created_at=at,
                )
            )
        StageChange.objects.bulk_create(stage_rows, batch_size=2000)
        Activity.objects.bulk_create(activity_rows, batch_size=2000)
        return len(stage_rows), len(activity_rows)

    def _path(self, *, age_days: int) -> list[str]:
        """A plausible stage path for a lead of this age."""
        r = self.rng.random
        path = [Stage.NEW]
        if age_days < 2 or r() < 0.22:
            return path if r() < 0.8 or age_days < 2 else path + [Stage.DISQUALIFIED]
        path.append(Stage.MQL)
        if age_days < 5 or r() < 0.25:
            # Waiting for sales only while fresh; sales rejected the older ones: mostly back
            # to nurturing, some disqualified (duplicate, competitor, job seeker).
            if age_days < 4:
                return path
            return path + [Stage.RECYCLED if r() < 0.8 else Stage.DISQUALIFIED]
        path.append(Stage.SAL)
        if r() < 0.25:
            return path + [self.rng.choice([Stage.RECYCLED, Stage.DISQUALIFIED])]
        if age_days < 15:
            return path
        path.append(Stage.SQL)
        if r() < 0.3:
            return path if age_days < 60 else path + [Stage.LOST]
        if age_days < 30:
            return path
        path.append(Stage.OPPORTUNITY)
        if age_days < 60 and r() < 0.6:
            return path
        return path + [Stage.WON if r() < 0.38 else Stage.LOST]


def build_demo(
    *,
    seed: int = 2026,
    anchor: date | None = None,
    size: DemoSize | None = None,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, int]:
    """Create the demo data set in one transaction; return the row counts."""
    from django.utils import timezone

    builder = _Builder(
        seed=seed, anchor=anchor or timezone.now().date(), size=size or DemoSize(), log=log
    )
    with transaction.atomic():
        users = builder.users()
        channels, campaigns = builder.channels()
        routing = DemoRouting(
            users=users,
            teams=builder.teams,
            channels=channels,
            start=builder.start,
            now=builder.now,
        )
        routing.setup()
        companies = builder.companies()
        log(f"  {len(companies):,} companies")
        persons = builder.persons(companies)
        log(f"  {len(persons):,} persons")
        builder.leads(persons, channels, campaigns, users, routing)
        log(f"  {builder.n_assignments:,} assignments ({builder.n_breaches:,} late responses)")
        n_open = routing.route_waiting()
        log(f"  {n_open:,} leads waiting for sales routed")
        from leadwerk.consent.demo import demo_consents

        n_consents = demo_consents(persons=persons, seed=seed)
        log(f"  {n_consents:,} consent records")
        quality = DemoQuality(
            users=users, channels=channels, campaigns=campaigns, seed=seed, now=builder.now
        )
        n_duplicates = quality.duplicates(persons, companies)
        log(f"  {n_duplicates:,} possible duplicates to review")
        job = quality.import_job()
        log(f"  import '{job.file_name}': {job.rows_done} rows")
        n_bounced = quality.bounces(persons)
        n_care = quality.care(persons)
        # bulk_create stamps auto_now fields with the load time; the data set's own times win.
        Company.objects.update(updated_at=F("created_at"))
        Person.objects.update(updated_at=F("created_at"))
        Lead.objects.update(updated_at=F("stage_changed_at"))
        n_snapshots = quality.history()
    return {
        "users": len(users),
        "channels": len(channels),
        "campaigns": len(campaigns),
        "companies": len(companies),
        "persons": len(persons),
        "leads": Lead.objects.count(),
        "assignments": Assignment.objects.count(),
        "late responses": builder.n_breaches,
        "leads waiting for sales": n_open,
        "stage changes": StageChange.objects.count(),
        "activities": Activity.objects.count(),
        "consent records": n_consents,
        "possible duplicates": n_duplicates,
        "bounced e-mails": n_bounced,
        "data-care awards": n_care,
        "quality snapshots": n_snapshots,
    }
