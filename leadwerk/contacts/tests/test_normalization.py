"""Normalisers: what they make of typical messy values, and that normalising twice changes
nothing (property tests with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadwerk.contacts.countries import country_code
from leadwerk.contacts.normalization import (
    InvalidEmail,
    _plz_ranges,
    cell_clean,
    company_name_key,
    company_name_split,
    domain_from_website,
    email_clean,
    email_local_key,
    federal_state_for,
    legal_form_clean,
    name_clean,
    postal_code_clean,
    title_clean,
    title_split,
    transliterate,
    vat_id_clean,
)
from leadwerk.contacts.phone import phone_normalize

# Text like the cells of a real list: letters with umlauts and accents, punctuation that
# names and companies use, odd spaces.
_PIECES = list("abcxyzABCXYZäöüÄÖÜßéèçñıİ-'&.,()+/@ 0123456789") + [
    "\u00a0",
    "\t",
    "GmbH",
    " & Co. KG",
    "Dr. ",
    "von ",
    "Mc",
    "e.K.",
    " AG",
    " UG",
    "Aktiengesellschaft",
]
messy_text = st.lists(st.sampled_from(_PIECES), max_size=15).map("".join)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0049 (0)89/123-45", "+498912345"),
        ("+49 (0) 89 1234567", "+49891234567"),
        ("089 / 123 45-0", "+4989123450"),
        ("(089) 1234567", "+49891234567"),
        ('="08912345678"', "+498912345678"),
        ("0171 1234567", "+491711234567"),
        ("089 1234567 Durchwahl 12", "+49891234567"),
    ],
)
def test_german_phone_formats_become_e164(raw, expected):
    assert phone_normalize(raw, region="DE") == (expected, True)


def test_phone_without_country_code_uses_the_given_region():
    assert phone_normalize("01 5331234", region="AT") == ("+4315331234", True)
    assert phone_normalize("044 668 18 00", region="CH") == ("+41446681800", True)


def test_invalid_phone_is_kept_as_typed_and_flagged():
    assert phone_normalize("  bitte   anrufen ", region="DE") == ("bitte anrufen", False)
    assert phone_normalize("123", region="DE") == ("123", False)


@pytest.mark.parametrize(
    "raw, code",
    [
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("DEU", "DE"),
        ("Österreich", "AT"),
        ("Oesterreich", "AT"),
        ("Schweiz", "CH"),
        ("Switzerland", "CH"),
        ("Vereinigtes Königreich", "GB"),
        ("Niederlande", "NL"),
        ("Tschechien", "CZ"),
        ("Czech Republic", "CZ"),
        ("Russland", "RU"),
        ("Turkey", "TR"),
        ("", ""),
    ],
)
def test_country_names_in_german_and_english(raw, code):
    assert country_code(raw) == code


def test_unknown_country_is_none():
    assert country_code("Dschermany") is None


@pytest.mark.parametrize(
    "raw, name, form",
    [
        ("Müller GmbH", "Müller", "GmbH"),
        ("Weiß Bau GmbH & Co KG", "Weiß Bau", "GmbH & Co. KG"),
        ("Weiß Bau GmbH&Co.KG", "Weiß Bau", "GmbH & Co. KG"),
        ("Weiß Bau GmbH und Co. KG", "Weiß Bau", "GmbH & Co. KG"),
        ("Muster UG (haftungsbeschränkt)", "Muster", "UG (haftungsbeschränkt)"),
        ("Blumen Meier e.K.", "Blumen Meier", "e.K."),
        ("Siemens Aktiengesellschaft", "Siemens", "AG"),
        ("Volksbank Mittelhessen eG", "Volksbank Mittelhessen", "eG"),
        ("ACME Inc", "ACME", "Inc."),
        ("AG", "AG", ""),
        ("Haus am See", "Haus am See", ""),
    ],
)
def test_legal_form_is_split_from_the_company_name(raw, name, form):
    assert company_name_split(raw) == (name, form)


def test_company_name_key_ignores_legal_form_umlaut_spelling_and_punctuation():
    assert company_name_key("Müller & Söhne GmbH") == company_name_key("Mueller und Soehne KG")
    assert company_name_key("Weiß-Bau GmbH & Co. KG") == "weiss bau"


def test_legal_form_clean_finds_the_canonical_spelling():
    assert legal_form_clean("gmbh & co kg") == "GmbH & Co. KG"
    assert legal_form_clean("Freiberufler") == "Freiberufler"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("MÜLLER-LÜDENSCHEIDT", "Müller-Lüdenscheidt"),
        ("von der leyen", "von der Leyen"),
        ("VAN DER BERG", "van der Berg"),
        ("MCDONALD", "McDonald"),
        ("O'BRIEN", "O'Brien"),
        ("  hans   peter ", "Hans Peter"),
        ("van Gogh", "van Gogh"),
        ("McDonald", "McDonald"),
        ("DiCaprio", "DiCaprio"),
        ("de Vries", "de Vries"),
    ],
)
def test_names_get_sensible_capitals_without_breaking_particles(raw, expected):
    assert name_clean(raw) == expected


def test_titles_are_split_from_names():
    assert title_split("Dr. Jürgen") == ("Dr.", "Jürgen")
    assert title_split("Prof. Dr. med. Anna") == ("Prof. Dr. med.", "Anna")
    assert title_split("Drake") == ("", "Drake")
    assert title_clean("prof dr") == "Prof. Dr."


def test_german_postal_codes_and_federal_states():
    assert postal_code_clean("80331", "DE").value == "80331"
    restored = postal_code_clean("1067", "DE")
    assert (restored.value, restored.valid) == ("01067", True)
    assert restored.note == "leading zero restored"
    assert postal_code_clean("D-80331", "DE").value == "80331"
    bad = postal_code_clean("12345x", "DE")
    assert (bad.value, bad.valid) == ("12345X", False)
    assert postal_code_clean("1010", "AT").valid
    assert not postal_code_clean("10100", "AT").valid
    cases = {
        "80331": "BY",
        "01067": "SN",
        "10117": "BE",
        "14052": "BE",  # Berlin-Westend, inside the Brandenburg Leitregion 14
        "14467": "BB",
        "20095": "HH",
        "22844": "SH",  # Norderstedt, next to Hamburg
        "28195": "HB",
        "27568": "HB",  # Bremerhaven
        "63739": "BY",  # Aschaffenburg, inside the Hessian 63
        "68519": "HE",  # Viernheim, inside the Baden 68
        "89231": "BY",  # Neu-Ulm, across the river from Ulm (BW)
        "89073": "BW",
        "66482": "RP",  # Zweibrücken, inside the Saarland 66
        "99084": "TH",
        "12345X": "",
        "": "",
    }
    assert {plz: federal_state_for(plz) for plz in cases} == cases


def test_postal_code_table_has_no_overlapping_ranges():
    _, rows = _plz_ranges()
    for (a_from, a_to, _), (b_from, _b_to, _) in zip(rows, rows[1:], strict=False):
        assert a_from <= a_to < b_from


def test_vat_ids_are_compacted_and_checked():
    assert vat_id_clean("DE 136 695 976") == ("DE136695976", True)
    assert vat_id_clean("de136695976") == ("DE136695976", True)
    assert vat_id_clean("DE123456789") == ("DE123456789", False)
    assert vat_id_clean("CHE-123.456.789") == ("CHE123456789", True)


def test_email_clean_and_local_part_key():
    assert email_clean(" Jürgen.Müller@Example.DE ") == "Jürgen.Müller@example.de"
    assert email_clean("mailto:a@b.de") == "a@b.de"
    assert email_local_key("Juergen.Mueller+messe@x.de") == email_local_key("jürgen_müller@x.de")


def test_spreadsheet_quirks_are_undone():
    assert cell_clean('="0815"') == "0815"
    assert cell_clean("'0049 89 1234") == "0049 89 1234"
    assert cell_clean("\u00a0Müller\u200b ") == "Müller"


def test_domain_from_website():
    assert domain_from_website("https://www.Example.de/kontakt?x=1") == "example.de"
    assert domain_from_website("kein Web") == ""


# --- normalising twice changes nothing ---------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_name_clean_is_idempotent(value):
    assert name_clean(name_clean(value)) == name_clean(value)


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_company_name_split_is_idempotent(value):
    name, form = company_name_split(value)
    assert company_name_split(name)[0] == name
    assert legal_form_clean(legal_form_clean(form)) == legal_form_clean(form)


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_company_name_key_is_idempotent(value):
    assert company_name_key(company_name_key(value)) == company_name_key(value)


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_transliterate_and_title_clean_are_idempotent(value):
    assert transliterate(transliterate(value)) == transliterate(value)
    assert title_clean(title_clean(value)) == title_clean(value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 +()-/=\"'.xDdurchwal")), max_size=30))
def test_phone_normalize_is_idempotent(value):
    once, _ = phone_normalize(value, region="DE")
    assert phone_normalize(once, region="DE")[0] == once


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("0123456789 -DAXabc")), max_size=8),
    st.sampled_from(["DE", "AT", "CH", "NL", "PL", "US", ""]),
)
def test_postal_code_clean_is_idempotent(value, country):
    once = postal_code_clean(value, country).value
    assert postal_code_clean(once, country).value == once


@pytest.mark.parametrize("value", ["A-A-", "D-D-80331", "D- 80331", "CH-A-"])
def test_repeated_country_prefixes_are_all_removed(value):
    once = postal_code_clean(value, "").value
    assert once in ("", "80331") and postal_code_clean(once, "").value == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("DEATdeat0123456789 .-/")), max_size=16))
def test_vat_id_clean_is_idempotent(value):
    once, _ = vat_id_clean(value)
    assert vat_id_clean(once)[0] == once


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_cell_clean_and_email_local_key_are_idempotent(value):
    assert cell_clean(cell_clean(value)) == cell_clean(value)
    assert email_local_key(email_local_key(value)) == email_local_key(value)


@settings(max_examples=200, deadline=None)
@given(st.emails())
def test_email_clean_is_idempotent(value):
    once = email_clean(value)
    assert email_clean(once) == once


@settings(max_examples=200, deadline=None)
@given(messy_text)
def test_country_code_of_a_code_is_the_code(value):
    code = country_code(value)
    if code:
        assert country_code(code) == code


@settings(max_examples=500, deadline=None)
@given(
    st.emails() | st.from_regex(r"[a-zA-Z0-9._%+\-']{1,20}@[a-zA-Z0-9.\-]{1,20}", fullmatch=True)
)
def test_email_fast_path_agrees_with_email_validator(value):
    from email_validator import EmailNotValidError, validate_email

    try:
        expected = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        got = email_clean(value)
    except InvalidEmail:
        got = None
    assert got == expected
