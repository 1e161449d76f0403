"""Routing-rule conditions: their one validated shape, and the matcher.

A rule's conditions are a JSON object, one key per condition; all given conditions must hold
(AND), a list means any of its values (OR). The matcher reads a lead only through its facts
(``lead_facts``), so it is tested with facts passed in and knows nothing of the database.
A condition on a fact that is unknown for a lead (no company, no score yet) does not hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from leadwerk.contacts.choices import EmployeeBand, FederalState

from .choices import FitGrade, Label

_POSTAL_RANGE = re.compile(r"^\s*([0-9A-Za-z]{2,10})\s*(?:-|–|\.\.)\s*([0-9A-Za-z]{2,10})\s*$")
_POSTAL_SINGLE = re.compile(r"^\s*([0-9A-Za-z]{2,10})\s*$")

Slug = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Word = Annotated[str, Field(min_length=1, max_length=100)]


class PostalRange(BaseModel):
    """A postal-code range, both ends included: "80000-87999"; one code matches itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str
    end: str

    def contains(self, code: str) -> bool:
        code = code.strip().upper()
        if len(code) != len(self.start):
            return False
        return self.start <= code <= self.end

    def __str__(self) -> str:
        return self.start if self.start == self.end else f"{self.start}-{self.end}"


@lru_cache(maxsize=4096)
def parse_postal_range(text: str) -> PostalRange:
    """ "80000-87999" or "80331" (one code); the ends must have the same length."""
    m = _POSTAL_RANGE.match(text)
    if m:
        start, end = m.group(1).upper(), m.group(2).upper()
    else:
        m = _POSTAL_SINGLE.match(text)
        if not m:
            raise ValueError(f"'{text}' is not a postal code or a range like 80000-87999")
        start = end = m.group(1).upper()
    if len(start) != len(end):
        raise ValueError(f"'{text}': both ends of a range need the same number of characters")
    if start > end:
        raise ValueError(f"'{text}': the range ends before it starts")
    return PostalRange(start=start, end=end)


class RuleConditions(BaseModel):
    """The conditions a routing rule may have. Unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    countries: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] | None = Field(
        None, description="ISO 3166-1 alpha-2 codes, e.g. DE, AT, CH"
    )
    federal_states: list[str] | None = Field(None, description="German federal states: BY, BE…")
    postal_codes: list[str] | None = Field(
        None, description='Ranges like "80000-87999" or single codes'
    )
    industries: list[Word] | None = Field(None, description="Industry names (case-insensitive)")
    company_sizes: list[str] | None = Field(None, description="Employee bands: 1-9, 10-49, …")
    employees_min: int | None = Field(None, ge=0)
    employees_max: int | None = Field(None, ge=0)
    product_interests: list[Word] | None = Field(
        None, description="Words the product interest contains (case-insensitive)"
    )
    channels: list[Slug] | None = Field(None, description="Channel slugs")
    campaigns: list[Slug] | None = Field(None, description="Campaign slugs")
    fit_grades: list[str] | None = Field(None, description="Fit grades A–D (from scoring)")
    labels: list[str] | None = Field(None, description="cold, warm, hot (from scoring)")
    existing_customer: bool | None = Field(None, description="true: only existing customers")

    @field_validator(
        "countries",
        "federal_states",
        "postal_codes",
        "industries",
        "company_sizes",
        "product_interests",
        "channels",
        "campaigns",
        "fit_grades",
        "labels",
    )
    @classmethod
    def _not_empty(cls, value: list | None) -> list | None:
        if value is not None and not value:
            raise ValueError("give at least one value, or leave the condition out")
        return value

    @field_validator("countries", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.strip().upper() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("federal_states")
    @classmethod
    def _states(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        known = [s for s in FederalState.values if s]
        for item in value:
            if item.upper() not in known:
                raise ValueError(f"unknown federal state '{item}'; known: {', '.join(known)}")
        return [v.upper() for v in value]

    @field_validator("postal_codes")
    @classmethod
    def _postal(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        return [str(parse_postal_range(item)) for item in value]

    @field_validator("company_sizes")
    @classmethod
    def _sizes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        known = [b for b in EmployeeBand.values if b]
        for item in value:
            if item not in known:
                raise ValueError(f"unknown company size '{item}'; known: {', '.join(known)}")
        return value

    @field_validator("fit_grades")
    @classmethod
    def _grades(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        for item in value:
            if item.upper() not in FitGrade.values:
                raise ValueError(f"unknown fit grade '{item}'; known: A, B, C, D")
        return [v.upper() for v in value]

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        for item in value:
            if item.lower() not in Label.values:
                raise ValueError(f"unknown label '{item}'; known: cold, warm, hot")
        return [v.lower() for v in value]

    @model_validator(mode="after")
    def _employee_bounds(self) -> RuleConditions:
        if (
            self.employees_min is not None
            and self.employees_max is not None
            and self.employees_min > self.employees_max
        ):
            raise ValueError("employees_min must not be above employees_max")
        return self

    def stored(self) -> dict:
        """The JSON kept on the rule: only the conditions that are set."""
        return self.model_dump(exclude_none=True)


CONDITION_FIELDS = tuple(RuleConditions.model_fields)


def conditions_parse(data: dict | None) -> RuleConditions:
    """Validate stored or submitted conditions (raises pydantic's ValidationError)."""
    return RuleConditions.model_validate(data or {})


def conditions_errors(exc: ValidationError) -> list[tuple[tuple, str]]:
    """(location, message) pairs, with pydantic's prefixes removed."""
    result = []
    for e in exc.errors():
        msg = e.get("msg", "").removeprefix("Value error, ")
        if e.get("type") == "extra_forbidden":
            msg = f"unknown condition; known: {', '.join(CONDITION_FIELDS)}"
        result.append((tuple(e.get("loc", ())), msg))
    return result


@dataclass
class ConditionResult:
    field: str
    expected: Any
    actual: Any
    ok: bool


def _fold(value: Any) -> str:
    return str(value or "").strip().casefold()


def _check(name: str, expected: Any, facts: dict) -> ConditionResult:
    """One condition against the facts."""
    if name == "countries":
        actual = facts.get("country") or None
        ok = actual is not None and actual.upper() in expected
    elif name == "federal_states":
        actual = facts.get("federal_state") or None
        ok = actual is not None and actual.upper() in expected
    elif name == "postal_codes":
        actual = facts.get("postal_code") or None
        ok = actual is not None and any(
            parse_postal_range(r).contains(str(actual)) for r in expected
        )
    elif name == "industries":
        actual = facts.get("industry") or None
        ok = actual is not None and _fold(actual) in {_fold(v) for v in expected}
    elif name == "company_sizes":
        actual = facts.get("employee_band") or None
        ok = actual is not None and actual in expected
    elif name == "employees_min":
        actual = facts.get("employees")
        ok = actual is not None and actual >= expected
    elif name == "employees_max":
        actual = facts.get("employees")
        ok = actual is not None and actual <= expected
    elif name == "product_interests":
        actual = facts.get("product_interest") or None
        ok = actual is not None and any(_fold(v) in _fold(actual) for v in expected)
    elif name == "channels":
        actual = facts.get("channel") or None
        ok = actual in expected
    elif name == "campaigns":
        actual = facts.get("campaign") or None
        ok = actual is not None and actual in expected
    elif name == "fit_grades":
        actual = facts.get("fit_grade") or None
        ok = actual is not None and str(actual).upper() in expected
    elif name == "labels":
        actual = facts.get("label") or None
        ok = actual is not None and str(actual).lower() in expected
    elif name == "existing_customer":
        actual = bool(facts.get("existing_customer"))
        ok = actual == expected
    else:  # pragma: no cover - RuleConditions forbids other keys
        raise KeyError(name)
    return ConditionResult(name, expected, actual, ok)


def conditions_explain(conditions: dict, facts: dict) -> list[ConditionResult]:
    """Each condition of a rule with the lead's value and whether it holds."""
    return [_check(name, expected, facts) for name, expected in conditions.items()]


def conditions_match(conditions: dict, facts: dict) -> bool:
    """Whether every condition holds for the facts (no conditions: always)."""
    return all(_check(name, expected, facts).ok for name, expected in conditions.items())
