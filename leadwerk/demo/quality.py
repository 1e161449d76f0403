"""The demo company's data quality (issue 5): a list imported after a trade fair, a few
people who came in twice (umlaut and spelling variants, another e-mail address) waiting in
the duplicate review, bounced e-mail addresses, data-care points of the team and the
dashboard's history.

Everything goes through the dataquality, dedup and imports services except the planted
duplicates (written like the rest of the demo's people) and the dashboard's past days,
which are derived from today's figures (the snapshots of days that never ran).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from leadwerk.contacts.models import Company, Person
from leadwerk.contacts.normalization import company_name_key, email_key
from leadwerk.dataquality.models import CarePoints, QualitySnapshot
from leadwerk.dataquality.selectors import global_metrics
from leadwerk.dataquality.services import email_mark_bounced, person_care_update, record_verify
from leadwerk.dedup.services import dedup_run
from leadwerk.imports.models import ImportJob
from leadwerk.imports.services import job_create, job_run

UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
SPELLING = [("ei", "ai"), ("ai", "ei"), ("mm", "m"), ("tt", "t"), ("ph", "f"), ("th", "t")]

# A list from the it-sa stand: new contacts, one who is already known (another spelling),
# and the usual slips (a typo in an e-mail address, a phone number in words).
IMPORT_CSV_HEADER = "Anrede;Titel;Vorname;Nachname;E-Mail;Telefon;Firma;PLZ;Ort;Land;Notiz\n"
IMPORT_ROWS = [
    "Frau;;Katrin;Vogelsang;k.vogelsang@vogelsang-praezision.de;0911 4471230;"
    "Vogelsang Präzisionstechnik GmbH;90443;Nürnberg;Deutschland;Interesse MES",
    "Herr;Dr.;Matthias;Oberländer;m.oberlaender@oberlaender-chemie.de;+49 621 339870;"
    "Oberländer Chemie AG;68163;Mannheim;Deutschland;Rückruf KW 3",
    "Herr;;Emre;Kaya;emre.kaya@kaya-logistik.de;0231 8876540;Kaya Logistik GmbH;44137;"
    "Dortmund;Deutschland;",
    "Frau;;Lena;Hoffmann;lena.hoffmann@gmx.de;0170 5523311;;;;Deutschland;Studentin",
    "Herr;;Stefan;Brückner;s.brueckner@brueckner-elektro.de;0351 2298817;"
    "Brückner Elektrotechnik GmbH;01069;Dresden;Deutschland;Angebot ERP Cloud",
    "Frau;;Sabine;Krause;sabine.krause@krause-lebensmittel,de;0421 667781;"
    "Krause Feinkost GmbH;28195;Bremen;Deutschland;",
    "Herr;;Michael;Wendt;m.wendt@wendt-bau.de;bitte anrufen;Wendt Bau GmbH;30159;Hannover;"
    "Deutschland;",
    "Herr;;Thomas;Gruber;thomas.gruber@gruber-anlagen.at;+43 316 778812;Gruber Anlagenbau GmbH;"
    "8010;Graz;Österreich;Partnerinteresse",
]


def _variant(name: str, rng: random.Random) -> str:
    """Another spelling of a name: ü as ue (or back), or one usual spelling slip."""
    if any(c in name for c in "äöüßÄÖÜ"):
        return name.translate(UMLAUTS)
    for a, b in SPELLING:
        if a in name:
            return name.replace(a, b, 1)
    return name + ("n" if rng.random() < 0.5 else "e")


class DemoQuality:
    def __init__(self, *, users: dict, channels: dict, campaigns: list, seed: int, now: datetime):
        self.users, self.channels, self.campaigns = users, channels, campaigns
        self.rng = random.Random(seed * 7 + 5)
        self.now = now

    def duplicates(self, persons: list[Person], companies: list[Company]) -> int:
        """Plant people and companies that came in twice, then let the duplicate check run
        over the whole database like the nightly job does. Returns the pairs queued."""
        rng = self.rng
        people = [p for p in persons[10:] if p.email and p.company_id and p.last_name]
        rng.shuffle(people)
        from .builder import _ascii

        taken = {p.email_normalized for p in persons}
        rows = []
        for n, original in enumerate(people[: max(6, len(persons) // 250)]):
            local, domain = original.email.split("@", 1)
            first, last = original.first_name, original.last_name
            kind = n % 3
            if kind == 0:  # umlaut or spelling variant, private address
                last = _variant(last, rng)
                email = f"{_ascii(first)}.{_ascii(last)}@{rng.choice(['web.de', 'gmx.de'])}"
            elif kind == 1:  # the same person with another local part of the address
                short = local.rsplit(".", 1)[-1]
                email = f"{short if short != local else _ascii(first) + '.' + local}@{domain}"
            else:  # first name abbreviated, a slip in the last name
                first = f"{first[0]}."
                last = _variant(last, rng)
                email = f"{_ascii(first[0])}{_ascii(last)}@{domain}"
            if email_key(email) in taken:
                continue
            taken.add(email_key(email))
            created = original.created_at + timedelta(days=rng.randint(20, 300))
            rows.append(
                Person(
                    salutation=original.salutation,
                    first_name=first,
                    last_name=last,
                    email=email,
                    email_normalized=email_key(email),
                    phone=original.phone if kind == 1 else "",
                    phone_valid=True,
                    job_title=original.job_title,
                    language=original.language,
                    company=original.company,
                    created_at=created,
                    updated_at=created,
                )
            )
        Person.objects.bulk_create(rows)
        for original in rng.sample(companies[5:], k=max(2, len(companies) // 400)):
            name = original.name
            if any(c in name for c in "äöüßÄÖÜ"):
                name = name.translate(UMLAUTS)
            elif " & " in name:
                name = name.replace(" & ", " und ")
            else:
                name = name.upper()  # typed in capitals from a business card
            Company.objects.create(
                name=name,
                legal_form=original.legal_form,
                name_key=company_name_key(name),
                industry=original.industry,
                country=original.country,
                postal_code=original.postal_code,
                city=original.city,
                federal_state=original.federal_state,
                employee_band=original.employee_band,
                created_at=original.created_at + timedelta(days=rng.randint(30, 400)),
            )
        actor = self.users["admin"]
        queued = dedup_run(entity="person", auto_merge=False, actor=actor).queued
        queued += dedup_run(entity="company", auto_merge=False, actor=actor).queued
        return queued

    def import_job(self) -> ImportJob:
        """The list from the it-sa stand, imported by marketing: a finished job."""
        campaign = next(c for c in self.campaigns if c.slug == "it-sa-2025")
        data = (IMPORT_CSV_HEADER + "\n".join(IMPORT_ROWS) + "\n").encode("utf-8")
        job = job_create(
            data=data,
            file_name="it-sa-2025-standbesucher.csv",
            channel=self.channels["trade-fair"],
            campaign=campaign,
            actor=self.users["marketing"],
        )
        return job_run(job=job, actor=self.users["marketing"])

    def bounces(self, persons: list[Person]) -> int:
        bounced = 0
        for person in self.rng.sample(persons[10:], k=max(3, len(persons) // 300)):
            if person.email:
                bounced += email_mark_bounced(
                    person=person,
                    reason="550 5.1.1 Mailbox unavailable",
                    source="Newsletter-Versand",
                )
        return bounced

    def care(self, persons: list[Person]) -> int:
        """The team keeps the data clean: verifications and filled-in phone numbers, spread
        over the last weeks (the leaderboard)."""
        since = CarePoints.objects.order_by("-id").values_list("id", flat=True).first() or 0
        workers = [
            (self.users["telesales"], 12),
            (self.users["marketing"], 8),
            (self.users["rep"], 6),
            (self.users["rep3"], 4),
            (self.users["partner"], 2),
        ]
        candidates = list(persons[10:])
        self.rng.shuffle(candidates)
        for user, n in workers:
            for _ in range(n):
                person = candidates.pop()
                if not person.phone and person.company and person.company.country == "DE":
                    number = f"+49 30 {self.rng.randint(1000000, 9999999)}"
                    person_care_update(person=person, actor=user, changes={"phone": number})
                else:
                    record_verify(actor=user, person=person)
        awarded = CarePoints.objects.filter(id__gt=since).order_by("id")
        for row in awarded:
            at = self.now - timedelta(
                days=self.rng.randint(0, 27), minutes=self.rng.randint(0, 600)
            )
            CarePoints.objects.filter(pk=row.pk).update(occurred_at=at)
        return awarded.count()

    def history(self, *, days: int = 90) -> int:
        """Today's figures and, for the trend chart, a snapshot per week before: the data got
        slowly better (fewer gaps, fewer open duplicates) as the team cared for it."""
        today = global_metrics()
        rows = []
        for weeks in range(days // 7, 0, -1):
            day = self.now.date() - timedelta(days=7 * weeks)
            drift = weeks / (days // 7)
            metrics = dict(today)
            metrics["person_completeness"] = round(
                max(0.0, today["person_completeness"] - 0.06 * drift), 4
            )
            metrics["company_completeness"] = round(
                max(0.0, today["company_completeness"] - 0.04 * drift), 4
            )
            metrics["persons_complete"] = int(today["persons_complete"] * (1 - 0.08 * drift))
            metrics["open_duplicates"] = today["open_duplicates"] + int(18 * drift)
            metrics["persons_bounced"] = max(0, today["persons_bounced"] - int(4 * drift))
            rows.append(QualitySnapshot(day=day, metrics=metrics))
        rows.append(QualitySnapshot(day=self.now.date(), metrics=today))
        QualitySnapshot.objects.bulk_create(rows)
        return len(rows)
