"""The matching engine on its own: phonetic keys, blocking, comparison levels, scoring, EM."""

from __future__ import annotations

import numpy as np

from leadwerk.dedup import engine
from leadwerk.dedup.schemes import (
    COMPANY_FEATURES,
    COMPANY_SCHEME,
    PERSON_FEATURES,
    PERSON_SCHEME,
    company_features,
    person_features,
)


def _pair(a: dict, b: dict, *, company: bool = False) -> tuple[float, list[str]]:
    scheme, features, names = (
        (COMPANY_SCHEME, company_features, COMPANY_FEATURES)
        if company
        else (PERSON_SCHEME, person_features, PERSON_FEATURES)
    )
    f = engine.features_from_rows([features(a), features(b)], names)
    s = engine.score(scheme, f, np.array([0]), np.array([1]))
    return float(s.probability[0]), [r["reason"] for r in engine.reasons(scheme, s.levels[0])]


def test_cologne_phonetic_matches_german_spelling_variants():
    assert engine.cologne_phonetic("Wikipedia") == "3412"
    assert engine.cologne_phonetic("MUELLER") == engine.cologne_phonetic("MOELLER") == "657"
    assert engine.cologne_phonetic("Meier") == engine.cologne_phonetic("Mayer")
    assert engine.cologne_phonetic("") == ""


def test_umlaut_spelling_and_legal_form_do_not_hide_a_duplicate():
    p, reasons = _pair(
        {"first_name": "Jürgen", "last_name": "Müller", "company_name": "Weiß Bau GmbH"},
        {"first_name": "Juergen", "last_name": "Mueller", "company_name": "Weiss Bau KG"},
    )
    assert p > 0.9
    assert reasons == ["same first and last name", "same company name"]


def test_same_name_at_another_company_is_not_a_duplicate():
    p, reasons = _pair(
        {"first_name": "Thomas", "last_name": "Schmidt", "company_id": 1},
        {"first_name": "Thomas", "last_name": "Schmidt", "company_id": 2},
    )
    assert p < 0.2
    assert "different company" in reasons


def test_initial_and_e_mail_variant_at_the_same_domain():
    p, reasons = _pair(
        {"first_name": "J.", "last_name": "Müller", "email": "j.mueller@weiss-bau.de"},
        {"first_name": "Jürgen", "last_name": "Müller", "email": "juergen.mueller@weiss-bau.de"},
    )
    assert p > 0.99
    assert "same last name, first name abbreviated" in reasons
    assert "e-mail address fits the name at the same domain" in reasons


def test_titles_are_ignored_and_swapped_names_are_seen():
    p, _ = _pair(
        {"first_name": "Dr. Anna", "last_name": "Schulz", "phone": "+49891234567"},
        {"first_name": "Anna", "last_name": "SCHULZ", "phone": "+49891234567"},
    )
    assert p > 0.99
    p, reasons = _pair(
        {"first_name": "Schulz", "last_name": "Anna", "email": "a.schulz@x.de"},
        {"first_name": "Anna", "last_name": "Schulz", "email": "a.schulz@x.de"},
    )
    assert "first and last name swapped" in reasons and p > 0.999


def test_a_shared_switchboard_number_alone_does_not_make_colleagues_duplicates():
    p, _ = _pair(
        {"first_name": "Jürgen", "last_name": "Müller", "phone": "+49891234567", "company_id": 1},
        {"first_name": "Anna", "last_name": "Schmidt", "phone": "+49891234567", "company_id": 1},
    )
    assert p < 0.6


def test_company_matching_by_name_domain_and_address():
    base = {"name": "Weiß Bau GmbH", "postal_code": "80331", "city": "München"}
    p, reasons = _pair(
        base, {**base, "name": "Weiss-Bau GmbH & Co. KG", "city": "Muenchen"}, company=True
    )
    assert p > 0.99 and "same name" in reasons
    p, reasons = _pair(
        {**base, "website": "www.weiss-bau.de"},
        {"name": "Weiss Bau", "website": "https://weiss-bau.de/kontakt"},
        company=True,
    )
    assert p > 0.99 and "same web domain" in reasons
    p, _ = _pair(base, {**base, "name": "Müller Bau GmbH"}, company=True)
    assert p < 0.5


def test_blocking_finds_variants_and_caps_huge_blocks():
    rows = [
        {"first_name": "Jürgen", "last_name": "Müller"},
        {"first_name": "Juergen", "last_name": "Mueller"},
        {"first_name": "Anna", "last_name": "Schmidt", "email": "a@x.de"},
        {"first_name": "Berta", "last_name": "Schmitt", "email": "a@x.de"},
        {"first_name": "Carl", "last_name": "Zuse"},
    ]
    f = engine.features_from_rows([person_features(r) for r in rows], PERSON_FEATURES)
    i, j = engine.candidate_pairs(f, PERSON_SCHEME.blocking)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == {(0, 1), (2, 3)}
    # 500 people with the same key: sorted neighbourhood instead of 124,750 pairs
    many = [{"first_name": "Hans", "last_name": "Meier"} for _ in range(500)]
    f = engine.features_from_rows([person_features(r) for r in many], PERSON_FEATURES)
    i, _ = engine.candidate_pairs(f, PERSON_SCHEME.blocking, max_block=60, window=10)
    assert 0 < len(i) <= 500 * 9


def test_linking_two_sources_keeps_only_cross_pairs():
    rows = [{"first_name": "Jürgen", "last_name": "Müller"}] * 4
    f = engine.features_from_rows([person_features(r) for r in rows], PERSON_FEATURES)
    i, j = engine.candidate_pairs(f, PERSON_SCHEME.blocking, sources=np.array([0, 0, 1, 1]))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == {(0, 2), (0, 3), (1, 2), (1, 3)}


def test_em_separates_matches_from_non_matches_without_labels():
    rng = np.random.default_rng(1)
    matches = np.column_stack([rng.choice([0, 1], 200, p=[0.9, 0.1])] * 1)
    others = np.column_stack([rng.choice([0, 1], 2000, p=[0.05, 0.95])] * 1)
    levels = np.vstack([matches, others]).astype(np.int8)
    levels = np.column_stack([levels, levels[:, ::-1]])
    comp = engine.Exact(
        "x", (engine.Level("same", 0.6, 0.4), engine.Level("diff", 0.4, 0.6)), field="x"
    )
    scheme = engine.Scheme([comp, comp], [], prior=0.3)
    fitted = engine.estimate_m_u(scheme, levels, iterations=50)
    same = fitted.comparisons[0].levels[0]
    assert same.m > 0.8 and same.u < 0.1


def test_clusters_join_chains():
    groups = engine.clusters(6, np.array([0, 1, 4]), np.array([1, 2, 5]))
    assert sorted(sorted(g) for g in groups) == [[0, 1, 2], [4, 5]]
