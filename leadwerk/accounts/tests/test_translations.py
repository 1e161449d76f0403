"""German and English: the pages speak the reader's language (German by default), the German
catalog is complete and in step with the source, and the committed .mo is the compiled .po.

The catalog checks read the .po with a small parser of their own, so they need no gettext
tools (fresh machines may lack them): the .mo is compared with the .po through Python's
``gettext`` module, and the source is scanned the way ``makemessages`` scans it (Python
calls of the gettext functions; templates through Django's own ``templatize``).
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation.template import templatize

from leadwerk.accounts.choices import Role
from leadwerk.activities.choices import ActivityType
from leadwerk.leads.choices import LeadSource, Stage
from leadwerk.leads.intake import LeadIn
from leadwerk.leads.services import lead_intake, lead_transition, lead_update
from leadwerk.tests_support.factories import PASSWORD, LeadFactory, UserFactory

ROOT = Path(settings.BASE_DIR).parent
CATALOG = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES"
PO, MO = CATALOG / "django.po", CATALOG / "django.mo"


# --- a small .po reader -----------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str
    line: int
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    def where(self) -> str:
        return f"django.po line {self.line}: {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str, line: int) -> str:
    def escape(match):
        if match.group(1) not in _ESCAPES:
            raise ValueError(f"django.po line {line}: unknown escape \\{match.group(1)}")
        return _ESCAPES[match.group(1)]

    return re.sub(r"\\(.)", escape, text)


def read_po(path: Path) -> list[Entry]:
    """Every entry of a .po file, the header (msgid "") included, in file order."""
    entries: list[Entry] = []
    entry: Entry | None = None
    flags: set[str] = set()
    obsolete = False
    target = None  # (attribute, plural index) the next continuation line extends

    def finish():
        nonlocal entry
        if entry is not None:
            entries.append(entry)
        entry = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#~"):
            obsolete, line = True, line[2:].strip()
        elif line.startswith("#,"):
            finish()
            flags = {f.strip() for f in line[2:].split(",")}
            continue
        elif line.startswith("#") or not line:
            if not line:
                finish()
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, text = match.groups()
            text = _unquote(text, number)
            if keyword in ("msgctxt", "msgid") and (
                entry is None or entry.msgstr or keyword == "msgctxt"
            ):
                if entry is None or entry.msgid or entry.msgctxt is not None or entry.msgstr:
                    finish()
                entry = Entry(msgid="", line=number, flags=flags, obsolete=obsolete)
                flags, obsolete = set(), False
            if keyword.startswith("msgstr"):
                key = int(index) if index is not None else 0
                entry.msgstr[key] = text
                target = ("msgstr", key)
            else:
                setattr(entry, keyword, text)
                target = (keyword, None)
        elif line.startswith('"') and line.endswith('"') and entry is not None:
            text = _unquote(line[1:-1], number)
            attribute, key = target
            if attribute == "msgstr":
                entry.msgstr[key] += text
            else:
                setattr(entry, attribute, getattr(entry, attribute) + text)
        else:
            raise ValueError(f"django.po line {number}: cannot read {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return read_po(PO)


@pytest.fixture(scope="module")
def messages(po_entries) -> list[Entry]:
    """The translatable entries (everything but the header)."""
    return [e for e in po_entries if e.msgid]


# --- the catalog --------------------------------------------------------------------------------


def test_the_po_reader_reads_plurals_contexts_flags_and_continuation_lines(tmp_path):
    sample = tmp_path / "sample.po"
    sample.write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n\n'
        '#, python-format\nmsgid "%(n)s lead"\nmsgid_plural "%(n)s leads"\n'
        'msgstr[0] "%(n)s Lead"\nmsgstr[1] ""\n"%(n)s Leads"\n\n'
        'msgctxt "month"\nmsgid "May"\nmsgstr "Mai"\n\n'
        '#, fuzzy\nmsgid "Say \\"hi\\""\nmsgstr "Sag \\"hallo\\""\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Weg"\n',
        encoding="utf-8",
    )
    header, plural, context, fuzzy, gone = read_po(sample)
    assert (header.msgid, header.msgstr) == ("", {0: "Language: de\n"})
    assert (plural.msgid_plural, plural.msgstr, plural.flags) == (
        "%(n)s leads",
        {0: "%(n)s Lead", 1: "%(n)s Leads"},
        {"python-format"},
    )
    assert (context.msgctxt, context.msgid, context.msgstr) == ("month", "May", {0: "Mai"})
    assert (fuzzy.msgid, fuzzy.msgstr, fuzzy.flags) == ('Say "hi"', {0: 'Sag "hallo"'}, {"fuzzy"})
    assert gone.obsolete and gone.msgid == "Gone"


def test_the_german_catalog_declares_its_language_and_plural_rule(po_entries):
    header = po_entries[0]
    assert header.msgid == "" and "fuzzy" not in header.flags
    text = header.msgstr[0]
    assert "Language: de\n" in text
    assert "Content-Type: text/plain; charset=UTF-8\n" in text
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in text


def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(messages):
    problems = []
    for entry in messages:
        forms = 2 if entry.msgid_plural is not None else 1
        if "fuzzy" in entry.flags:
            problems.append(f"{entry.where()} is fuzzy")
        if entry.obsolete:
            problems.append(f"{entry.where()} is obsolete (#~)")
        if sorted(entry.msgstr) != list(range(forms)):
            problems.append(f"{entry.where()} has forms {sorted(entry.msgstr)}, needs {forms}")
        elif not all(entry.msgstr.values()):
            problems.append(f"{entry.where()} is not translated")
    assert len(messages) > 300
    assert problems == []


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")
_TAG = re.compile(r"</?[a-z]+[^>]*>")


def test_translations_keep_every_placeholder_and_html_tag(messages):
    problems = []
    for entry in messages:
        for index, text in entry.msgstr.items():
            source = entry.msgid_plural if index and entry.msgid_plural else entry.msgid
            if sorted(_PLACEHOLDER.findall(text)) != sorted(_PLACEHOLDER.findall(source)):
                problems.append(f"{entry.where()} [{index}] changes the placeholders: {text!r}")
            if sorted(_TAG.findall(text)) != sorted(_TAG.findall(source)):
                problems.append(f"{entry.where()} [{index}] changes the HTML tags: {text!r}")
    assert problems == []


def _mo_string_count(path: Path) -> int:
    """The number of strings a .mo holds (the header included), from its file header."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    return struct.unpack(order + "I", data[8:12])[0]


def test_the_committed_mo_is_the_compiled_po(messages):
    """Fresh machines may lack msgfmt, so the .mo is committed: it must hold exactly what the
    .po says, nothing older and nothing more."""
    with MO.open("rb") as handle:
        catalog = gnu_gettext.GNUTranslations(handle)
    assert catalog.info()["language"] == "de"
    stale = []
    for entry in messages:
        if entry.msgid_plural is not None:
            assert entry.msgctxt is None, "no plural entries with context in Leadwerk"
            got = {
                0: catalog.ngettext(entry.msgid, entry.msgid_plural, 1),
                1: catalog.ngettext(entry.msgid, entry.msgid_plural, 2),
            }
        elif entry.msgctxt is not None:
            got = {0: catalog.pgettext(entry.msgctxt, entry.msgid)}
        else:
            got = {0: catalog.gettext(entry.msgid)}
        if got != entry.msgstr:
            stale.append(f"{entry.where()}: .mo has {got}, .po has {entry.msgstr}")
    assert stale == [], "run: leadwerk compilemessages --ignore '.venv/*'"
    assert _mo_string_count(MO) == len(messages) + 1  # + the header


# --- the catalog covers the source ----------------------------------------------------------

# The functions makemessages extracts (xgettext's Python defaults plus Django's keywords):
# name -> (index of msgctxt or None, index of msgid, index of msgid_plural or None).
_KEYWORDS = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}
_SKIP_DIRS = {".venv", "bench", "node_modules", "var", "build", "dist"}


def _source_files(suffixes: tuple[str, ...]):
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(suffixes):
                yield Path(folder) / name


def _calls_in_python(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in _KEYWORDS:
            continue
        literals = [
            a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None
            for a in node.args
        ]
        ctx_at, id_at, _plural_at = _KEYWORDS[name]
        if len(literals) <= id_at or literals[id_at] is None:
            continue
        ctx = literals[ctx_at] if ctx_at is not None else None
        yield ctx, literals[id_at]


_STRING = r"""u?(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
_TEMPLATE_CALL = re.compile(rf"\b(_|gettext|ngettext|pgettext|npgettext)\(((?:{_STRING}(?:, )?)+)")
_LITERAL = re.compile(_STRING)


def _calls_in_template(text: str):
    for match in _TEMPLATE_CALL.finditer(templatize(text)):
        literals = [ast.literal_eval(s) for s in _LITERAL.findall(match.group(2))]
        ctx_at, id_at, _plural_at = _KEYWORDS[match.group(1)]
        yield (literals[ctx_at] if ctx_at is not None else None), literals[id_at]


def source_messages() -> dict[tuple[str | None, str], str]:
    """(msgctxt, msgid) of every translatable string in the source -> where it is."""
    found = {}
    for path in _source_files((".py",)):
        for key in _calls_in_python(ast.parse(path.read_text(encoding="utf-8"))):
            found.setdefault(key, str(path.relative_to(ROOT)))
    for path in _source_files((".html", ".txt")):
        for key in _calls_in_template(path.read_text(encoding="utf-8")):
            found.setdefault(key, str(path.relative_to(ROOT)))
    return found


def test_the_source_scanner_finds_python_and_template_strings():
    tree = ast.parse(
        "from django.utils import translation\n"
        "a = _('One')\nb = translation.gettext('Two')\n"
        "c = ngettext_lazy('%(n)s lead', '%(n)s leads', n)\nd = pgettext('month', 'May')\n"
        "e = _(f'not {a}')\nf = gettext(name)\n"
    )
    assert sorted(_calls_in_python(tree), key=str) == sorted(
        [(None, "One"), (None, "Two"), (None, "%(n)s lead"), ("month", "May")], key=str
    )
    template = (
        '{% load i18n %}{% translate "Log in" %}<p title="{% translate "It\'s" %}">'
        "{% blocktranslate trimmed with who=user count n=total %}\n  {{ who }}: {{ n }} lead"
        "\n{% plural %}\n  {{ who }}: {{ n }} leads\n{% endblocktranslate %}</p>"
    )
    assert list(_calls_in_template(template)) == [
        (None, "Log in"),
        (None, "It's"),
        (None, "%(who)s: %(n)s lead"),
    ]


def test_the_catalog_holds_exactly_the_strings_of_the_source(messages):
    """A string added to the code without running makemessages (or one left in the catalog
    after the code dropped it) fails here: run `leadwerk makemessages -l de --no-location
    --ignore ".venv/*" --ignore "bench/*"`, translate, then compilemessages."""
    in_source = source_messages()
    in_catalog = {(e.msgctxt, e.msgid) for e in messages}
    missing = sorted(
        f"{where}: {key[1]!r}" for key, where in in_source.items() if key not in in_catalog
    )
    unused = sorted(repr(key[1]) for key in in_catalog - set(in_source))
    assert missing == []
    assert unused == []


# --- the pages ---------------------------------------------------------------------------------


def browser(language: str | None) -> Client:
    return Client(headers={"Accept-Language": language} if language else {})


def signed_in(user, language: str | None) -> Client:
    client = browser(language)
    client.force_login(user)
    return client


def text_of(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [None, "de-DE,de;q=0.9", "fr-FR,fr;q=0.9"])
def test_the_login_page_speaks_german_by_default(accept):
    html = text_of(browser(accept).get("/accounts/login/"))
    assert '<html lang="de">' in html
    assert "<h1>Bei Leadwerk anmelden</h1>" in html
    assert ">Benutzername</label>" in html and ">Passwort</label>" in html
    assert ">Anmelden</button>" in html
    assert "Log in" not in html and "Password" not in html


@pytest.mark.django_db
def test_the_login_page_speaks_english_to_an_english_browser():
    html = text_of(browser("en-GB,en;q=0.9").get("/accounts/login/"))
    assert '<html lang="en">' in html
    assert "<h1>Log in to Leadwerk</h1>" in html
    assert ">Username</label>" in html and ">Log in</button>" in html
    assert "Anmelden" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "error"),
    [
        ("de", "Benutzername oder Passwort ist falsch. Bitte versuchen Sie es erneut."),
        ("en", "Wrong username or password. Please try again."),
    ],
)
def test_a_wrong_password_is_explained_in_the_readers_language(admin_user, language, error):
    response = browser(language).post(
        "/accounts/login/", {"username": "admin", "password": "not-" + PASSWORD}
    )
    assert error in text_of(response)


@pytest.fixture
def leads_in_every_stage(channel, rep):
    leads = {stage: LeadFactory(channel=channel, stage=stage) for stage in Stage.values}
    leads[Stage.SQL].owner = rep
    leads[Stage.SQL].save(update_fields=["owner"])
    return leads


GERMAN_STAGES = [
    "Neu",
    "MQL",
    "SAL",
    "SQL",
    "Verkaufschance",
    "Gewonnen",
    "Verloren",
    "Recycelt",
    "Disqualifiziert",
]
ENGLISH_STAGES = ["New", "MQL", "SAL", "SQL", "Opportunity", "Won", "Lost", "Recycled"]


@pytest.mark.django_db
def test_the_inbox_in_german_shows_german_navigation_filters_and_stages(
    admin_user, leads_in_every_stage
):
    html = text_of(signed_in(admin_user, "de").get("/leads/"))
    assert '<html lang="de">' in html
    for label in ("Lead-Eingang", "Neuer Lead", "Personen", "Unternehmen", "Webformulare"):
        assert f">{label}</a>" in html
    assert '<button type="submit" class="link">Abmelden</button>' in html
    for code, label in zip(Stage.values, GERMAN_STAGES, strict=True):
        assert f'<span class="badge stage-{code}">{label}</span>' in html
        assert f'<option value="{code}" >{label}</option>' in html
    assert ">Zuständig</a>" in html and ">Phase</a>" in html and ">Kanal</a>" in html
    assert '<span class="muted">niemand</span>' in html
    assert f"<td>{leads_in_every_stage[Stage.SQL].owner}</td>" in html
    assert '<option value="-created" selected>neueste zuerst</option>' in html
    for english in ("Log out", "Opportunity", "Owner", "unassigned", "newest first"):
        assert english not in html


@pytest.mark.django_db
def test_the_inbox_in_english_shows_english_labels(admin_user, leads_in_every_stage):
    html = text_of(signed_in(admin_user, "en").get("/leads/"))
    assert '<html lang="en">' in html
    assert '<button type="submit" class="link">Log out</button>' in html
    for code, label in zip(Stage.values, [*ENGLISH_STAGES, "Disqualified"], strict=True):
        assert f'<span class="badge stage-{code}">{label}</span>' in html
    assert ">Owner</a>" in html and '<span class="muted">unassigned</span>' in html
    for german in ("Abmelden", "Verkaufschance", "Zuständig", "niemand"):
        assert german not in html


@pytest.mark.django_db
def test_the_language_cookie_wins_over_the_browser(admin_user, leads_in_every_stage):
    client = signed_in(admin_user, "en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    html = text_of(client.get("/leads/"))
    assert "Abmelden" in html and "Verkaufschance" in html

    client = signed_in(admin_user, "de")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = text_of(client.get("/leads/"))
    assert "Log out" in html and "Opportunity" in html


@pytest.mark.django_db
def test_a_stage_change_is_confirmed_and_shown_in_the_readers_language(admin_user, channel):
    lead = LeadFactory(channel=channel, stage=Stage.SQL)
    german = signed_in(admin_user, "de")

    response = german.post(
        reverse("leads:transition", args=[lead.uuid]), {"to": Stage.OPPORTUNITY}, follow=True
    )

    html = text_of(response)
    assert "Phase auf Verkaufschance geändert." in html
    assert "<b>Phasenwechsel</b>: <bdi>SQL → Verkaufschance</bdi>" in html
    # The same timeline entry, read by someone working in English:
    english = text_of(signed_in(admin_user, "en").get(lead.get_absolute_url()))
    assert "<b>Stage change</b>: <bdi>SQL → Opportunity</bdi>" in english
    assert "Verkaufschance" not in english


@pytest.mark.django_db
def test_a_refused_stage_change_explains_itself_in_german(admin_user, channel):
    lead = LeadFactory(channel=channel, stage=Stage.SQL)
    response = signed_in(admin_user, "de").post(
        reverse("leads:transition", args=[lead.uuid]),
        {"to": Stage.LOST},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Für den Wechsel nach Verloren ist eine Begründung nötig." in text_of(response)


@pytest.mark.django_db
def test_timeline_entries_written_by_leadwerk_follow_the_readers_language(admin_user, rep, channel):
    """Assignments, changed fields and differing submitted values are stored once but read
    in either language."""
    lead = LeadFactory(channel=channel, stage=Stage.NEW)
    with translation.override("en"):  # written by someone working in English
        lead_update(lead=lead, actor=admin_user, changes={"owner": rep})
        lead_update(lead=lead, actor=admin_user, changes={"owner": None})
        lead_update(lead=lead, actor=admin_user, changes={"product_interest": "ERP"})
        lead_transition(lead=lead, to_stage=Stage.MQL, actor=admin_user)

    german = text_of(signed_in(admin_user, "de").get(lead.get_absolute_url()))
    assert "<b>Zuweisung</b>: <bdi>Niemand zuständig</bdi>" in german
    assert f"<b>Zuweisung</b>: <bdi>{rep}</bdi>" in german
    assert "<b>Daten geändert</b>: <bdi>Produktinteresse</bdi>" in german
    assert "<b>Phasenwechsel</b>: <bdi>Neu → MQL</bdi>" in german

    english = text_of(signed_in(admin_user, "en").get(lead.get_absolute_url()))
    assert "<b>Assignment</b>: <bdi>Unassigned</bdi>" in english
    assert "<b>Data changed</b>: <bdi>product interest</bdi>" in english
    assert "<b>Stage change</b>: <bdi>New → MQL</bdi>" in english


@pytest.mark.django_db
def test_differing_submitted_values_are_named_by_their_field_label(admin_user, channel):
    person = {"first_name": "Jörg", "last_name": "Groß", "email": "joerg.gross@beispiel.de"}
    lead_intake(
        data=LeadIn.model_validate({"person": person, "channel": "website"}), source=LeadSource.API
    )
    second = lead_intake(
        data=LeadIn.model_validate(
            {"person": {**person, "last_name": "Gross-Meier"}, "channel": "website"}
        ),
        source=LeadSource.API,
    ).lead
    assert second.activities.get().type == ActivityType.API_INTAKE

    german = text_of(signed_in(admin_user, "de").get(second.get_absolute_url()))
    assert "Nachname: „Gross-Meier“ (gespeichert: „Groß“)" in german
    english = text_of(signed_in(admin_user, "en").get(second.get_absolute_url()))
    assert "Last name: „Gross-Meier“ (stored: „Groß“)" in english
    assert "last_name" not in german and "last_name" not in english


@pytest.mark.django_db
@pytest.mark.parametrize(("leads", "count"), [(1, "(1 Lead)"), (2, "(2 Leads)")])
def test_the_duplicate_warning_uses_the_german_plural(admin_user, channel, leads, count):
    first = LeadFactory(channel=channel)
    for _ in range(leads - 1):
        LeadFactory(channel=channel, person=first.person)
    html = text_of(
        signed_in(admin_user, "de").get(
            reverse("contacts:email_check"), {"email": first.person.email}
        )
    )
    assert "Bekannte E-Mail-Adresse." in html
    assert f"Sie gehört zu {first.person.full_name} {count}." in html
    assert "Der neue Lead wird dieser Person zugeordnet." in html


@pytest.mark.django_db
def test_the_telesales_entry_form_reports_errors_in_german(channel):
    telesales = UserFactory(username="telesales", roles=[Role.INSIDE_SALES])
    response = signed_in(telesales, "de").post(
        reverse("leads:entry"), {"email": "kein-at-zeichen", "channel": ""}
    )
    html = text_of(response)
    assert response.status_code == 422
    assert "Der Lead wurde nicht gespeichert. Bitte korrigieren Sie die markierten Felder." in html
    assert "Geben Sie eine gültige E-Mail-Adresse ein, z. B. name@example.com." in html
    assert "Dieses Feld ist zwingend erforderlich." in html  # Django's own German catalog
    assert ">Speichern und weiter <kbd>Strg+Enter</kbd></button>" in html
