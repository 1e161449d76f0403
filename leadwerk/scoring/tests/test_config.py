"""A model document is refused with every problem named where it is."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from leadwerk.errors import DomainValidationError
from leadwerk.scoring.config import model_config_dump, model_config_parse

DEFAULT = json.loads(
    (Path(__file__).resolve().parents[1] / "defaults" / "b2b_standard.json").read_text()
)


def doc(**changes) -> dict:
    data = copy.deepcopy(DEFAULT)
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = keys[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return data


def errors_of(document) -> list[tuple[tuple, str]]:
    with pytest.raises(DomainValidationError) as exc:
        model_config_parse(document)
    return [(tuple(e.loc), e.msg) for e in exc.value.errors]


def test_the_canonical_text_parses_back_to_the_same_model():
    cfg = model_config_parse(DEFAULT)
    assert model_config_parse(model_config_dump(cfg)) == cfg


def test_unknown_fit_field_is_named_with_the_known_ones():
    [(loc, msg)] = errors_of(doc(fit__rules__0__field="company.umsatz"))
    assert loc == ("fit", "rules", 0, "field")
    assert "unknown field 'company.umsatz'" in msg and "company.industry" in msg


def test_unknown_key_anywhere_is_refused():
    data = doc()
    data["engagement"]["rules"][2]["pointz"] = 5
    [(loc, msg)] = errors_of(data)
    assert loc == ("engagement", "rules", 2, "pointz")
    assert msg == "unknown field"


def test_wrong_types_are_refused_not_coerced():
    problems = dict(errors_of(doc(engagement__rules__0__points="10", fit__grades__A=True)))
    assert ("engagement", "rules", 0, "points") in problems
    assert ("fit", "grades", "A") in problems


def test_a_bad_regular_expression_is_refused_with_its_position():
    data = doc()
    data["engagement"]["rules"][1]["when"][0]["value"] = "^/(preise|pricing"
    [(loc, msg)] = errors_of(data)
    assert loc == ("engagement", "rules", 1, "when", 0, "value")
    assert msg.startswith("not a valid regular expression: missing ), unterminated subpattern")
    assert "position 2" in msg


def test_a_negative_or_zero_half_life_is_refused():
    [(loc, msg)] = errors_of(doc(engagement__groups__0__half_life_days=-14))
    assert loc == ("engagement", "groups", 0, "half_life_days")
    assert "greater than 0" in msg
    [(loc, _msg)] = errors_of(doc(engagement__groups__1__half_life_days=0))
    assert loc == ("engagement", "groups", 1, "half_life_days")


def test_rules_must_name_a_known_group_and_event_type():
    problems = dict(
        errors_of(doc(engagement__rules__0__group="socials", engagement__rules__1__event="tweet"))
    )
    assert "unknown group 'socials'" in problems[("engagement", "rules", 0, "group")]
    assert "unknown event type 'tweet'" in problems[("engagement", "rules", 1, "event")]


def test_operator_and_value_must_suit_the_field():
    problems = dict(
        errors_of(
            doc(
                fit__rules__1__value=[999, 50],
                fit__rules__2__op="matches",
                fit__rules__6__op="eq",
                fit__rules__0__value="DE",
            )
        )
    )
    assert "'from' (999) is greater than 'to' (50)" in problems[("fit", "rules", 1, "value")]
    assert "does not apply to the number field" in problems[("fit", "rules", 2, "op")]
    assert "'eq' does not apply to the bool field" in problems[("fit", "rules", 6, "op")]
    assert problems[("fit", "rules", 0, "value")] == "a non-empty list of texts"


def test_thresholds_must_be_ordered_and_the_floor_below_the_hand_off():
    problems = dict(
        errors_of(
            doc(
                fit__grades={"A": 30, "B": 35, "C": 15},
                engagement__bands=[60, 100, 30],
                recycle__below_engagement=60,
            )
        )
    )
    assert "fall from A to C" in problems[("fit", "grades")]
    assert "fall from band 1 to band 3" in problems[("engagement", "bands")]
    assert "must be below the hand-off threshold" in problems[("recycle", "below_engagement")]


def test_labels_name_real_cells_and_never_get_colder_with_more_engagement():
    problems = errors_of(doc(labels={"hot": ["A2", "E1"], "warm": ["A1"]}))
    assert (("labels", "hot", 1), "'E1' is not a matrix cell (A1 … D4)") in problems
    assert any("A2 is warmer than A1" in msg for _loc, msg in problems)


def test_duplicate_rule_ids_are_refused():
    data = doc()
    data["engagement"]["rules"][1]["id"] = data["engagement"]["rules"][0]["id"]
    [(loc, msg)] = errors_of(data)
    assert loc == ("engagement", "rules", 1, "id")
    assert "used twice" in msg


def test_more_groups_than_columns_are_refused():
    data = doc()
    data["engagement"]["groups"] += [
        {"key": f"extra{i}", "name": f"Extra {i}", "half_life_days": 10} for i in range(2)
    ]
    [(loc, msg)] = errors_of(data)
    assert loc == ("engagement", "groups")
    assert "at most 5" in msg


def test_malformed_json_text_is_refused():
    [(loc, msg)] = errors_of('{"name": "x",')
    assert loc == ()
    assert msg.startswith("not valid JSON")
