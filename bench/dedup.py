"""Benchmarks for issue 5 (data quality): matching quality on FEBRL, a full duplicate check of
1,000,000 synthetic people, and an import of 1,000,000 rows.

    .venv/bin/pip install -e ".[test,bench]"
    .venv/bin/python bench/dedup.py febrl [--repeat 3]
    .venv/bin/python bench/dedup.py dedup --people 1000000
    .venv/bin/python bench/dedup.py import --rows 1000000
    .venv/bin/python bench/dedup.py import --rows 1000000 --database-url postgres://…

febrl   Precision, recall and F1 of Leadwerk's matching engine (leadwerk/dedup/engine.py: the
        same blocking, comparisons and Fellegi–Sunter scoring the product uses, with m/u
        estimated by EM from the unlabelled pairs) on FEBRL3 (deduplicating one file) and
        FEBRL4 (linking two files) from the recordlinkage package, without the social
        security number. Baseline in the same run: recordlinkage's standard pipeline from
        its documentation (block on given name; exact/Jaro–Winkler comparisons; a pair is
        a match when more than 3 of the 6 comparisons agree).
dedup   The full duplicate check (leadwerk.dedup.services.dedup_run, what `leadwerk dedup`
        and the background task run) over N synthetic German people of whom a known share
        are typo'd or re-spelled copies, on a fresh database; timed per phase.
import  `leadwerk import` (job_run: validation, normalisation, matching, leads, activities)
        of N synthetic list rows, rows/s, against a same-run baseline that bulk_creates the
        same rows as companies, people and leads with Django and nothing else.

Timings vary with the load of the machine; compare the same-run ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _django(var_dir: str | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadwerk.settings")
    if var_dir:
        os.environ["LEADWERK_VAR_DIR"] = var_dir
    import django

    django.setup()


def _fresh_database(args):
    """A fresh SQLite file, or with --database-url a fresh database on that PostgreSQL
    server (dropped afterwards), like bench/intake.py."""
    from bench.intake import prepare_environment

    environment = prepare_environment(args)
    _django()
    return environment


# --- FEBRL ------------------------------------------------------------------------------

FEBRL_FEATURES = (
    "first",
    "last",
    "first_code",
    "last_code",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "dob",
)


def febrl_scheme():
    from leadwerk.dedup import engine
    from leadwerk.dedup.engine import BlockingRule, Exact, Fuzzy, Level, PersonName, Scheme

    def key(*names, prefix=0):
        def f(feats, i):
            parts = [feats[n][i][:prefix] if prefix else feats[n][i] for n in names]
            return ":".join(parts) if all(parts) else ""

        return f

    two = (Level("equal", 0.8, 0.01), Level("similar", 0.1, 0.05), Level("close", 0.05, 0.1))
    diff = Level("different", 0.05, 0.84)
    return Scheme(
        comparisons=[
            PersonName(
                "name",
                (
                    Level("same first and last name", 0.7, 0.0005),
                    Level("initial", 0.02, 0.0005),
                    Level("similar names", 0.15, 0.001),
                    Level("swapped", 0.02, 0.0001),
                    Level("similar last, other first", 0.06, 0.02),
                    Level("different", 0.05, 0.978),
                ),
                first="first",
                last="last",
            ),
            Exact(
                "street_number",
                (Level("equal", 0.85, 0.05), Level("different", 0.15, 0.95)),
                field="street_number",
            ),
            Fuzzy("address_1", (*two, diff), field="address_1", thresholds=(0.9, 0.8)),
            Fuzzy("address_2", (*two, diff), field="address_2", thresholds=(0.9, 0.8)),
            Fuzzy("suburb", (*two, diff), field="suburb", thresholds=(0.9, 0.8)),
            Fuzzy(
                "postcode",
                (
                    Level("equal", 0.85, 0.01),
                    Level("typo", 0.1, 0.05),
                    Level("different", 0.05, 0.94),
                ),
                field="postcode",
                thresholds=(0.8,),
            ),
            Exact("state", (Level("equal", 0.9, 0.3), Level("different", 0.1, 0.7)), field="state"),
            Fuzzy(
                "dob",
                (
                    Level("equal", 0.8, 0.001),
                    Level("typo", 0.15, 0.01),
                    Level("different", 0.05, 0.989),
                ),
                field="dob",
                thresholds=(0.85,),
            ),
        ],
        blocking=[
            BlockingRule("a", key("last_code", "first_code")),
            BlockingRule("b", key("dob")),
            BlockingRule("c", key("postcode", "first", prefix=2)),
            BlockingRule("d", key("last_code", "postcode")),
            BlockingRule("e", key("first_code", "suburb")),
            BlockingRule("f", key("street_number", "address_1")),
        ],
        prior=1e-3,
        max_block=80,
        window=15,
    ), engine


def febrl_features(df) -> list[dict]:
    from leadwerk.contacts.normalization import transliterate
    from leadwerk.dedup.engine import cologne_phonetic

    out = []
    for row in df.itertuples(index=False):

        def val(x):
            return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x).strip()

        first, last = transliterate(val(row.given_name)), transliterate(val(row.surname))
        out.append(
            {
                "first": first,
                "last": last,
                "first_code": cologne_phonetic(first),
                "last_code": cologne_phonetic(last),
                "street_number": val(row.street_number),
                "address_1": transliterate(val(row.address_1)),
                "address_2": transliterate(val(row.address_2)),
                "suburb": transliterate(val(row.suburb)),
                "postcode": val(row.postcode),
                "state": val(row.state),
                "dob": val(row.date_of_birth),
            }
        )
    return out


def _prf(predicted: set, truth: set) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def leadwerk_match(frames, *, em: bool = True, threshold: float = 0.5):
    """Our engine: blocking, comparisons, EM, classification. Returns (pairs, seconds)."""
    scheme, engine = febrl_scheme()
    started = time.perf_counter()
    ids, rows, sources = [], [], []
    for source, df in enumerate(frames):
        ids.extend(df.index)
        rows.extend(febrl_features(df))
        sources.extend([source] * len(df))
    feats = engine.features_from_rows(rows, FEBRL_FEATURES)
    src = np.asarray(sources) if len(frames) > 1 else None
    i, j = engine.candidate_pairs(
        feats, scheme.blocking, max_block=scheme.max_block, window=scheme.window, sources=src
    )
    levels = engine.compare_pairs(scheme, feats, i, j)
    if em:
        scheme = engine.estimate_m_u(scheme, levels, iterations=40)
    _weight, probability = engine.score_levels(scheme, levels)
    keep = probability >= threshold
    pairs = {frozenset((ids[a], ids[b])) for a, b in zip(i[keep], j[keep], strict=True)}
    return pairs, time.perf_counter() - started, len(i)


def baseline_match(frames):
    """recordlinkage's documented standard pipeline."""
    import recordlinkage

    started = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    links = indexer.index(*frames)
    compare = recordlinkage.Compare()
    compare.exact("given_name", "given_name", label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", threshold=0.85, label="address_1")
    features = compare.compute(links, *frames)
    matches = features[features.sum(axis=1) > 3].index
    pairs = {frozenset(p) for p in matches}
    return pairs, time.perf_counter() - started, len(links)


def cmd_febrl(args) -> None:
    _django(tempfile.mkdtemp(prefix="lw-bench-"))
    from recordlinkage.datasets import load_febrl3, load_febrl4

    df3, links3 = load_febrl3(return_links=True)
    a4, b4, links4 = load_febrl4(return_links=True)
    for df in (df3, a4, b4):
        df.drop(columns=["soc_sec_id"], inplace=True)
    truth3 = {frozenset(p) for p in links3}
    truth4 = {frozenset(p) for p in links4}
    print(f"FEBRL3: {len(df3)} records, {len(truth3)} true duplicate pairs")
    print(f"FEBRL4: {len(a4)} + {len(b4)} records, {len(truth4)} true links")
    print(f"(best of {args.repeat} runs; times in seconds)\n")
    header = (
        f"{'data':7} {'method':34} {'pairs':>8} {'prec':>7} {'recall':>7} {'F1':>7} {'time':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, frames, truth in (("FEBRL3", [df3], truth3), ("FEBRL4", [a4, b4], truth4)):
        results = {}
        for label, fn in (
            ("Leadwerk engine (EM, p >= 0.5)", lambda f=frames: leadwerk_match(f)),
            ("Leadwerk engine (hand-set m/u)", lambda f=frames: leadwerk_match(f, em=False)),
            ("recordlinkage standard pipeline", lambda f=frames: baseline_match(f)),
        ):
            times, out = [], None
            for _ in range(args.repeat):
                out = fn()
                times.append(out[1])
            predicted, _seconds, compared = out
            p, r, f1 = _prf(predicted, truth)
            results[label] = min(times)
            print(
                f"{name:7} {label:34} {compared:8d} {p:7.4f} {r:7.4f} {f1:7.4f} {min(times):7.2f}"
            )
        ours = results["Leadwerk engine (EM, p >= 0.5)"]
        base = results["recordlinkage standard pipeline"]
        print(f"{name:7} speed-up of Leadwerk over the baseline: {base / ours:.1f}x\n")


# --- synthetic people -----------------------------------------------------------------------


TRADES = ["Bau", "Logistik", "IT", "Handel", "Technik", "Consulting", "Medien", "Service"]
AREAS = ["30", "40", "69", "89", "221", "711"]


def _ascii(value: str) -> str:
    from leadwerk.contacts.normalization import transliterate

    return "".join(c for c in transliterate(value) if c.isalnum() or c in ".-")


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    k = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:k] + word[k + 1 :]
    if kind == 1:
        return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    return word[:k] + rng.choice("aeinrst") + word[k:]


def synthetic_people(n: int, *, seed: int = 5, dup_share: float = 0.05):
    """n people at n/8 companies; a share of them are variants of an earlier person (umlaut
    spelling, typo, initial, other e-mail pattern, missing phone). Yields dicts and the
    index of the original for each duplicate."""
    from faker import Faker

    fake = Faker("de_DE")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    firsts = [fake.first_name() for _ in range(3000)]
    lasts = [fake.last_name() for _ in range(6000)]
    n_companies = max(10, n // 8)
    companies = []
    for c in range(n_companies):
        name = f"{fake.last_name()} {rng.choice(TRADES)}"
        companies.append((name, f"{_ascii(name.lower()).replace('.', '')}{c}.de"))
    people, originals = [], {}
    for idx in range(n):
        if people and rng.random() < dup_share:
            src = rng.randrange(len(people))
            while src in originals:
                src = originals[src]
            base = dict(people[src])
            change = rng.randrange(5)
            if change == 0:
                base["first_name"] = (
                    base["first_name"]
                    .replace("ü", "ue")
                    .replace("ö", "oe")
                    .replace("ä", "ae")
                    .replace("ß", "ss")
                )
                base["last_name"] = (
                    base["last_name"]
                    .replace("ü", "ue")
                    .replace("ö", "oe")
                    .replace("ä", "ae")
                    .replace("ß", "ss")
                )
            elif change == 1:
                base["last_name"] = _typo(rng, base["last_name"])
            elif change == 2:
                base["first_name"] = base["first_name"][0] + "."
            elif change == 3:
                local, _, domain = base["email"].partition("@")
                base["email"] = (
                    f"{_ascii(base['first_name'][0].lower())}.{_ascii(base['last_name'].lower())}@{domain}"
                )
            else:
                base["phone"] = ""
                base["first_name"] = _typo(rng, base["first_name"])
            if change != 3 and rng.random() < 0.5:
                local, _, domain = base["email"].partition("@")
                base["email"] = f"{local}.{idx}@{domain}"
            originals[idx] = src
            people.append(base)
            continue
        first, last = rng.choice(firsts), rng.choice(lasts)
        company, domain = companies[rng.randrange(n_companies)]
        people.append(
            {
                "first_name": first,
                "last_name": last,
                "email": f"{_ascii(first.lower())}.{_ascii(last.lower())}.{idx}@{domain}",
                "phone": f"+49{rng.choice(AREAS)}{rng.randrange(1000000, 9999999)}"
                if rng.random() < 0.7
                else "",
                "company": company,
                "domain": domain,
            }
        )
    return people, originals


def cmd_dedup(args) -> None:
    environment = _fresh_database(args)
    try:
        _dedup(args)
    finally:
        from bench.intake import cleanup_environment

        cleanup_environment(environment, keep=False)


def _dedup(args) -> None:
    from django.core.management import call_command
    from django.db import connection, transaction

    from leadwerk.contacts.models import Company, Person
    from leadwerk.contacts.normalization import company_name_key, email_key
    from leadwerk.dedup.choices import Entity
    from leadwerk.dedup.models import DuplicateCandidate
    from leadwerk.dedup.services import dedup_run

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    t = time.perf_counter()
    people, originals = synthetic_people(args.people)
    print(
        f"generated {len(people):,} people ({len(originals):,} duplicates) "
        f"in {time.perf_counter() - t:.0f}s"
    )
    t = time.perf_counter()
    company_ids = {}
    names = sorted({p["company"] for p in people})
    domains = {p["company"]: p["domain"] for p in people}
    for start in range(0, len(names), 5000):
        objs = Company.objects.bulk_create(
            [
                Company(name=n, name_key=company_name_key(n), domain=domains[n], country="DE")
                for n in names[start : start + 5000]
            ]
        )
        company_ids.update({o.name: o.id for o in objs})
    from leadwerk.imports.fastinsert import insert_rows

    seen = set()
    rows = []
    for p in people:
        key = email_key(p["email"])
        if key in seen:
            key = ""
        seen.add(key)
        rows.append(
            {
                "first_name": p["first_name"],
                "last_name": p["last_name"],
                "email": p["email"],
                "email_normalized": key,
                "phone": p["phone"],
                "company_id": company_ids[p["company"]],
            }
        )
    person_ids = []
    for start in range(0, len(rows), 20_000):
        with transaction.atomic():
            person_ids.extend(insert_rows(Person, rows[start : start + 20_000], returning="id"))
    print(f"loaded into the database in {time.perf_counter() - t:.0f}s (not timed below)\n")
    for run in ("first", "second"):
        t = time.perf_counter()
        stats = dedup_run(entity=Entity.PERSON, auto_merge=False)
        total = time.perf_counter() - t
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in stats.seconds.items())
        print(
            f"{run} full check of {stats.records:,} people: {total:.1f}s ({phases}); "
            f"{stats.pairs_compared:,} pairs compared, {stats.queued:,} new pairs queued"
        )
    found = set(
        DuplicateCandidate.objects.filter(entity="person", probability__gte=0.6).values_list(
            "person_a_id", "person_b_id"
        )
    )
    id_of = dict(enumerate(person_ids))
    clusters: dict[int, list[int]] = {}
    for dup, root in originals.items():
        clusters.setdefault(root, [root]).append(dup)
    truth = {
        tuple(sorted((id_of[a], id_of[b])))
        for members in clusters.values()
        for x, a in enumerate(members)
        for b in members[x + 1 :]
    }
    tp = len(found & truth)
    print(
        f"against the planted duplicates: precision {tp / max(1, len(found)):.4f}, "
        f"recall {tp / max(1, len(truth)):.4f} (p >= 0.6)"
    )


# --- import -------------------------------------------------------------------------------


def write_list(path: Path, n: int) -> None:
    people, _ = synthetic_people(n, dup_share=0.02)
    rng = random.Random(11)
    cities = [
        ("80331", "München"),
        ("10115", "Berlin"),
        ("20095", "Hamburg"),
        ("50667", "Köln"),
        ("60311", "Frankfurt am Main"),
        ("70173", "Stuttgart"),
        ("01067", "Dresden"),
    ]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Anrede;Vorname;Nachname;E-Mail;Telefon;Firma;Webseite;PLZ;Ort;Land;Interesse\n")
        for p in people:
            plz, city = rng.choice(cities)
            fh.write(
                f"{rng.choice(['Herr', 'Frau'])};{p['first_name']};{p['last_name']};{p['email']};"
                f"{p['phone']};{p['company']} GmbH;www.{p['domain']};{plz};{city};Deutschland;"
                f"{rng.choice(['CRM', 'ERP', 'Cloud', 'Security'])}\n"
            )


def cmd_import(args) -> None:
    environment = _fresh_database(args)
    try:
        _import(args, Path(environment.var_dir))
    finally:
        from bench.intake import cleanup_environment

        cleanup_environment(environment, keep=False)


def _import(args, var: Path) -> None:
    import csv

    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from leadwerk.campaigns.models import Channel
    from leadwerk.imports.services import job_create, job_run

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    path = var / "list.csv"
    t = time.perf_counter()
    write_list(path, args.rows)
    print(
        f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - t:.0f}s"
    )
    data = path.read_bytes()

    def fresh():
        # empty the tables with plain DELETEs, children first (the ORM's cascade would
        # collect a million ids)
        tables = [
            "imports_importedrow",
            "imports_importissue",
            "imports_importjob",
            "activities_activity",
            "leads_stagechange",
            "leads_lead",
            "dataquality_recordflag",
            "dedup_duplicatecandidate",
            "dedup_matchkey",
            "contacts_person",
            "contacts_company",
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        return Channel.objects.get_or_create(
            slug="trade-fair", defaults={"name": "Messen", "kind": "trade_fair", "rank": 4}
        )[0]

    # baseline: the same rows, bulk_create only (no validation, no matching, no timeline)
    channel = fresh()
    t = time.perf_counter()
    with path.open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader)
        companies: dict[str, int] = {}
        batch = []
        for number, row in enumerate(reader):
            batch.append((number, row))
            if len(batch) == 2000:
                with transaction.atomic():  # one transaction per chunk, like the import
                    _baseline_chunk(batch, companies, channel, timezone.now())
                batch = []
        if batch:
            with transaction.atomic():
                _baseline_chunk(batch, companies, channel, timezone.now())
    base = time.perf_counter() - t
    print(f"baseline bulk_create: {args.rows / base:,.0f} rows/s ({base:.0f}s)")

    channel = fresh()
    from leadwerk.dedup.models import MatchKey

    MatchKey.objects.all().delete()
    t = time.perf_counter()
    job = job_create(
        data=data, file_name="list.csv", channel=channel, store_file=False, chunk_size=args.chunk
    )
    job = job_run(job=job, data=data)
    ours = time.perf_counter() - t
    print(
        f"leadwerk import: {args.rows / ours:,.0f} rows/s ({ours:.0f}s; job's own clock "
        f"{job.rows_per_second:,.0f} rows/s): {job.leads_created:,} leads, "
        f"{job.persons_created:,} new / {job.persons_matched:,} matched people, "
        f"{job.companies_created:,} new / {job.companies_matched:,} matched companies, "
        f"{job.rows_rejected:,} rejected, {job.rows_warned:,} with warnings, "
        f"{job.duplicates_queued:,} queued for review"
    )
    print(f"ratio import / baseline: {base / ours:.2f}")


def _baseline_chunk(numbered, companies, channel, now) -> None:
    from leadwerk.contacts.models import Company, Person
    from leadwerk.leads.models import Lead

    rows = [r for _n, r in numbered]
    new = {r[5] for r in rows if r[5] not in companies}
    for obj in Company.objects.bulk_create([Company(name=n, name_key=n.lower()) for n in new]):
        companies[obj.name] = obj.id
    persons = Person.objects.bulk_create(
        [
            Person(
                salutation="",
                first_name=r[1],
                last_name=r[2],
                email=r[3],
                email_normalized=f"{r[3].lower()}#{n}",  # the list repeats some people
                phone=r[4],
                company_id=companies[r[5]],
            )
            for n, r in numbered
        ]
    )
    Lead.objects.bulk_create(
        [
            Lead(
                person=p,
                company_id=p.company_id,
                channel=channel,
                source="import",
                product_interest=r[10],
                created_at=now,
                stage="new",
            )
            for p, r in zip(persons, rows, strict=True)
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    febrl = sub.add_parser("febrl")
    febrl.add_argument("--repeat", type=int, default=3)
    dedup = sub.add_parser("dedup")
    dedup.add_argument("--people", type=int, default=1_000_000)
    dedup.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    imp = sub.add_parser("import")
    imp.add_argument("--rows", type=int, default=1_000_000)
    imp.add_argument("--chunk", type=int, default=2000)
    imp.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    args = parser.parse_args()
    {"febrl": cmd_febrl, "dedup": cmd_dedup, "import": cmd_import}[args.cmd](args)


if __name__ == "__main__":
    main()
