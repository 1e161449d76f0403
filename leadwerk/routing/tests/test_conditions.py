"""The rule matcher, tested with facts passed in (no database), and condition validation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadwerk.routing.conditions import (
    conditions_errors,
    conditions_explain,
    conditions_match,
    conditions_parse,
    parse_postal_range,
)

FACTS = {
    "country": "DE",
    "federal_state": "BY",
    "postal_code": "80331",
    "industry": "Maschinenbau",
    "employees": 420,
    "employee_band": "250-999",
    "product_interest": "Cloud-ERP für die Fertigung",
    "channel": "trade-fair",
    "campaign": "hannover-messe-2026",
    "existing_customer": False,
    "fit_grade": "A",
    "label": "hot",
}


def rule(**conditions) -> dict:
    return conditions_parse(conditions).stored()


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({}, True),
        ({"countries": ["de", "AT"]}, True),
        ({"countries": ["CH"]}, False),
        ({"federal_states": ["by", "BW"]}, True),
        ({"federal_states": ["BE"]}, False),
        ({"postal_codes": ["80000-87999"]}, True),
        ({"postal_codes": ["10000-14999", "90000-96999"]}, False),
        ({"postal_codes": ["80331"]}, True),
        ({"industries": ["maschinenbau"]}, True),
        ({"industries": ["Handel"]}, False),
        ({"company_sizes": ["250-999", "1000-4999"]}, True),
        ({"company_sizes": ["1-9"]}, False),
        ({"employees_min": 250, "employees_max": 999}, True),
        ({"employees_min": 500}, False),
        ({"product_interests": ["erp"]}, True),
        ({"product_interests": ["CRM"]}, False),
        ({"channels": ["trade-fair", "events"]}, True),
        ({"channels": ["website"]}, False),
        ({"campaigns": ["hannover-messe-2026"]}, True),
        ({"campaigns": ["it-sa-2025"]}, False),
        ({"fit_grades": ["a", "B"]}, True),
        ({"fit_grades": ["C", "D"]}, False),
        ({"labels": ["HOT"]}, True),
        ({"labels": ["cold", "warm"]}, False),
        ({"existing_customer": False}, True),
        ({"existing_customer": True}, False),
        ({"countries": ["DE"], "postal_codes": ["80000-87999"], "labels": ["hot"]}, True),
        ({"countries": ["DE"], "postal_codes": ["80000-87999"], "labels": ["cold"]}, False),
    ],
)
def test_each_condition_matches_exactly_its_leads(conditions, expected):
    assert conditions_match(rule(**conditions), FACTS) is expected


def test_conditions_on_unknown_facts_do_not_hold():
    # Without scoring there is no fit grade or label; without a company no location.
    bare = {"channel": "website", "product_interest": "", "existing_customer": False}
    for conditions in (
        {"fit_grades": ["A", "B", "C", "D"]},
        {"labels": ["cold", "warm", "hot"]},
        {"countries": ["DE"]},
        {"postal_codes": ["00000-99999"]},
        {"employees_max": 10_000},
        {"industries": ["Maschinenbau"]},
    ):
        assert not conditions_match(rule(**conditions), bare), conditions


def test_postal_ranges_compare_codes_of_the_same_length_only():
    r = parse_postal_range("01000 - 09999")
    assert r.contains("01067") and r.contains("09999")
    assert not r.contains("1067") and not r.contains("10115")
    assert str(parse_postal_range("8000..8999")) == "8000-8999"  # Austria, 4 digits


def test_explain_shows_each_condition_with_the_leads_value():
    result = conditions_explain(rule(countries=["AT"], labels=["hot"]), FACTS)
    assert [(r.field, r.actual, r.ok) for r in result] == [
        ("countries", "DE", False),
        ("labels", "hot", True),
    ]


@pytest.mark.parametrize(
    ("conditions", "loc", "message"),
    [
        ({"region": ["Süd"]}, ("region",), "unknown condition; known: countries"),
        ({"federal_states": ["XY"]}, ("federal_states",), "unknown federal state 'XY'"),
        ({"postal_codes": ["80000-8799"]}, ("postal_codes",), "same number of characters"),
        ({"postal_codes": ["89999-80000"]}, ("postal_codes",), "ends before it starts"),
        ({"postal_codes": ["80 000"]}, ("postal_codes",), "is not a postal code"),
        ({"company_sizes": ["huge"]}, ("company_sizes",), "unknown company size 'huge'"),
        ({"fit_grades": ["E"]}, ("fit_grades",), "unknown fit grade 'E'"),
        ({"labels": ["lukewarm"]}, ("labels",), "unknown label 'lukewarm'"),
        ({"channels": []}, ("channels",), "give at least one value"),
        ({"channels": ["Web Site"]}, ("channels", 0), "should match pattern"),
        ({"countries": ["Deutschland"]}, ("countries", 0), "should match pattern"),
        ({"employees_min": -1}, ("employees_min",), "greater than or equal to 0"),
        ({"employees_min": 50, "employees_max": 10}, (), "must not be above employees_max"),
        ({"existing_customer": "maybe"}, ("existing_customer",), "valid boolean"),
    ],
)
def test_bad_conditions_are_refused_naming_the_field(conditions, loc, message):
    with pytest.raises(ValidationError) as exc:
        conditions_parse(conditions)
    errors = conditions_errors(exc.value)
    assert any(found == loc and message in msg for found, msg in errors), errors


@given(
    code=st.text(alphabet="0123456789", min_size=5, max_size=5),
    lo=st.text(alphabet="0123456789", min_size=5, max_size=5),
    hi=st.text(alphabet="0123456789", min_size=5, max_size=5),
)
def test_a_postal_code_is_in_a_range_exactly_when_it_lies_between_the_ends(code, lo, hi):
    lo, hi = sorted((lo, hi))
    facts = {**FACTS, "postal_code": code}
    assert conditions_match(rule(postal_codes=[f"{lo}-{hi}"]), facts) is (lo <= code <= hi)
