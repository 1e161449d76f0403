"""The scoring model as marketing writes it: a JSON document, validated here.

``model_config_parse`` turns a document (dict or JSON text) into a ``ModelConfig`` or raises
``DomainValidationError`` naming every problem and where it is (``["engagement", "rules",
3, "when", 0, "value"]``: "not a valid regular expression: …"). ``model_config_dump``
writes the canonical JSON text that versions store, export and diff.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from leadwerk.activities.choices import SCORABLE_TYPES
from leadwerk.errors import DomainValidationError, FieldError

FORMAT = 1
MAX_GROUPS = 5  # LeadScore keeps one anchor per group in a column of its own
GRADES = ("A", "B", "C", "D")
BANDS = (1, 2, 3, 4)
CELLS = tuple(f"{g}{b}" for g in GRADES for b in BANDS)

# The person, company and lead facts fit rules can test, with their kind.
FIT_FIELDS: dict[str, str] = {
    "person.job_title": "text",
    "person.title": "text",
    "person.language": "text",
    "person.email_domain": "text",
    "person.freemail": "bool",
    "person.has_phone": "bool",
    "company.present": "bool",
    "company.name": "text",
    "company.industry": "text",
    "company.employees": "number",
    "company.employee_band": "text",
    "company.country": "text",
    "company.federal_state": "text",
    "company.postal_code": "text",
    "company.city": "text",
    "company.legal_form": "text",
    "company.domain": "text",
    "lead.channel": "text",
    "lead.campaign": "text",
    "lead.product_interest": "text",
    "lead.source": "text",
}
FIT_OPS: dict[str, tuple[str, ...]] = {
    "text": (
        "eq",
        "ne",
        "in",
        "not_in",
        "matches",
        "contains",
        "starts_with",
        "empty",
        "not_empty",
    ),
    "number": ("eq", "ne", "gte", "lte", "between", "empty", "not_empty"),
    "bool": ("is",),
}
CONDITION_OPS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "matches",
    "contains",
    "starts_with",
    "gte",
    "lte",
    "exists",
    "not_exists",
)
_NO_VALUE_OPS = {"empty", "not_empty", "exists", "not_exists"}
MAX_REGEX = 300

Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$"),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Scalar = str | int | float | bool
Points = Annotated[int, Field(ge=-1000, le=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Condition(_Strict):
    """A test on an event's properties (``subject`` is the event's subject line)."""

    property: Annotated[
        str,
        StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"),
    ]
    op: Literal[CONDITION_OPS]  # type: ignore[valid-type]
    value: Scalar | list[Scalar] | None = None


class Group(_Strict):
    key: Slug
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    half_life_days: float = Field(gt=0, le=3650, allow_inf_nan=False)


class EngagementRule(_Strict):
    id: Slug
    label: ShortText = ""
    group: Slug
    event: str
    when: list[Condition] = Field(default_factory=list, max_length=10)
    points: Points
    max_count: int | None = Field(None, ge=1, le=10_000)


class FitRule(_Strict):
    id: Slug
    label: ShortText = ""
    field: str
    op: str
    value: Any = None
    points: Points


class Grades(_Strict):
    """The minimum fit points for grades A, B and C; below C is D."""

    A: int = Field(ge=-10_000, le=10_000)
    B: int = Field(ge=-10_000, le=10_000)
    C: int = Field(ge=-10_000, le=10_000)


class Fit(_Strict):
    rules: list[FitRule] = Field(default_factory=list, max_length=200)
    grades: Grades


class Engagement(_Strict):
    groups: list[Group] = Field(min_length=1, max_length=MAX_GROUPS)
    rules: list[EngagementRule] = Field(default_factory=list, max_length=300)
    bands: list[float] = Field(
        min_length=3,
        max_length=3,
        description="Minimum engagement for bands 1, 2 and 3; below is band 4.",
    )


class Labels(_Strict):
    """Matrix cells (A1 … D4) labelled hot and warm; every other cell is cold."""

    hot: list[str] = Field(default_factory=list)
    warm: list[str] = Field(default_factory=list)


class Handoff(_Strict):
    min_grade: Literal[GRADES]  # type: ignore[valid-type]
    min_engagement: float = Field(ge=0.01, le=1_000_000, allow_inf_nan=False)


class Recycle(_Strict):
    enabled: bool = True
    below_engagement: float = Field(ge=0, le=1_000_000, allow_inf_nan=False)


class ModelConfig(_Strict):
    format: Literal[1] = FORMAT
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150)]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    fit: Fit
    engagement: Engagement
    labels: Labels
    handoff: Handoff
    recycle: Recycle


def _pydantic_errors(exc: PydanticValidationError) -> list[FieldError]:
    errors = []
    for e in exc.errors():
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "literal_error":
            msg = msg.replace("Input should be", "must be")
        errors.append(FieldError(tuple(e["loc"]), msg, e["type"]))
    return errors


def _regex_error(pattern: object) -> str | None:
    if not isinstance(pattern, str) or not pattern:
        return "a regular expression (text) is needed"
    if len(pattern) > MAX_REGEX:
        return f"at most {MAX_REGEX} characters"
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        return f"not a valid regular expression: {exc.msg}{where}"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fit_value_error(kind: str, op: str, value: object) -> str | None:
    if op in _NO_VALUE_OPS:
        return None if value is None else f"'{op}' takes no value"
    if op == "matches":
        return _regex_error(value)
    if kind == "bool":
        return None if isinstance(value, bool) else "true or false"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return "a non-empty list of texts"
        if len(value) > 500:
            return "at most 500 entries"
        if not all(isinstance(v, str) and v.strip() for v in value):
            return "every entry must be a non-empty text"
        return None
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            return "a list of two numbers [from, to]; use null for an open end"
        lo, hi = value
        if not all(v is None or _is_number(v) for v in value) or (lo is None and hi is None):
            return "a list of two numbers [from, to]; use null for an open end"
        if lo is not None and hi is not None and lo > hi:
            return f"'from' ({lo}) is greater than 'to' ({hi})"
        return None
    if kind == "number":
        return None if _is_number(value) else "a number"
    if not isinstance(value, str) or not value.strip():
        return "a non-empty text"
    return None


def _condition_value_error(op: str, value: object) -> str | None:
    if op in _NO_VALUE_OPS:
        return None if value is None else f"'{op}' takes no value"
    if op == "matches":
        return _regex_error(value)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return "a non-empty list"
        return None if len(value) <= 500 else "at most 500 entries"
    if op in ("gte", "lte"):
        return None if _is_number(value) else "a number"
    if op in ("contains", "starts_with"):
        return None if isinstance(value, str) and value else "a non-empty text"
    if value is None or isinstance(value, list):
        return "a single value"
    return None


def _semantic_errors(cfg: ModelConfig) -> list[FieldError]:
    errors: list[FieldError] = []

    def err(loc: tuple, msg: str, type_: str = "value_error") -> None:
        errors.append(FieldError(loc, msg, type_))

    # fit
    seen: set[str] = set()
    for i, rule in enumerate(cfg.fit.rules):
        loc = ("fit", "rules", i)
        if rule.id in seen:
            err((*loc, "id"), f"the id '{rule.id}' is used twice", "duplicate")
        seen.add(rule.id)
        kind = FIT_FIELDS.get(rule.field)
        if kind is None:
            err(
                (*loc, "field"),
                f"unknown field '{rule.field}'; known fields: {', '.join(FIT_FIELDS)}",
                "unknown",
            )
            continue
        if rule.op not in FIT_OPS[kind]:
            err(
                (*loc, "op"),
                f"'{rule.op}' does not apply to the {kind} field '{rule.field}'; "
                f"use one of {', '.join(FIT_OPS[kind])}",
                "unknown",
            )
            continue
        problem = _fit_value_error(kind, rule.op, rule.value)
        if problem:
            err((*loc, "value"), problem, "type_error")
    g = cfg.fit.grades
    if not g.A > g.B > g.C:
        err(
            ("fit", "grades"),
            f"the minimum points must fall from A to C (A {g.A} > B {g.B} > C {g.C})",
        )

    # engagement
    keys: set[str] = set()
    for i, group in enumerate(cfg.engagement.groups):
        if group.key in keys:
            err(("engagement", "groups", i, "key"), f"the key '{group.key}' is used twice")
        keys.add(group.key)
    seen = set()
    for i, rule in enumerate(cfg.engagement.rules):
        loc = ("engagement", "rules", i)
        if rule.id in seen:
            err((*loc, "id"), f"the id '{rule.id}' is used twice", "duplicate")
        seen.add(rule.id)
        if rule.group not in keys:
            err(
                (*loc, "group"),
                f"unknown group '{rule.group}'; groups: {', '.join(sorted(keys))}",
                "unknown",
            )
        if rule.event not in SCORABLE_TYPES:
            err(
                (*loc, "event"),
                f"unknown event type '{rule.event}'; use one of {', '.join(SCORABLE_TYPES)}",
                "unknown",
            )
        if rule.points == 0:
            err((*loc, "points"), "a rule must give points other than 0")
        for j, cond in enumerate(rule.when):
            problem = _condition_value_error(cond.op, cond.value)
            if problem:
                err((*loc, "when", j, "value"), problem, "type_error")
    b = cfg.engagement.bands
    if not (b[0] > b[1] > b[2] > 0):
        err(
            ("engagement", "bands"),
            f"the minimum engagement must fall from band 1 to band 3 and stay above 0 "
            f"({b[0]:g} > {b[1]:g} > {b[2]:g} > 0)",
        )

    # labels
    for name in ("hot", "warm"):
        for i, cell in enumerate(getattr(cfg.labels, name)):
            if cell not in CELLS:
                err(("labels", name, i), f"'{cell}' is not a matrix cell (A1 … D4)", "unknown")
    both = set(cfg.labels.hot) & set(cfg.labels.warm)
    if both:
        err(("labels",), f"cells cannot be hot and warm at once: {', '.join(sorted(both))}")
    rank = dict.fromkeys(cfg.labels.hot, 2) | dict.fromkeys(cfg.labels.warm, 1)
    for grade in GRADES:
        for band in (1, 2, 3):
            better, worse = f"{grade}{band}", f"{grade}{band + 1}"
            if rank.get(better, 0) < rank.get(worse, 0):
                err(
                    ("labels",),
                    f"more engagement must not make a lead colder: {worse} is warmer than {better}",
                )

    # hand-off and recycling
    if cfg.recycle.enabled and cfg.recycle.below_engagement >= cfg.handoff.min_engagement:
        err(
            ("recycle", "below_engagement"),
            f"the recycle floor ({cfg.recycle.below_engagement:g}) must be below the hand-off "
            f"threshold ({cfg.handoff.min_engagement:g}), or leads would bounce between MQL "
            "and recycled",
        )
    return errors


def model_config_parse(document: dict | str | bytes) -> ModelConfig:
    """Validate a scoring model document; raise DomainValidationError listing every problem."""
    if isinstance(document, bytes | str):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise DomainValidationError(
                [FieldError((), f"not valid JSON: {exc}", "json_invalid")]
            ) from None
    if not isinstance(document, dict):
        raise DomainValidationError([FieldError((), "a JSON object is needed", "type_error")])
    try:
        cfg = ModelConfig.model_validate(document)
    except PydanticValidationError as exc:
        raise DomainValidationError(_pydantic_errors(exc)) from None
    errors = _semantic_errors(cfg)
    if errors:
        raise DomainValidationError(errors)
    return cfg


def model_config_dump(cfg: ModelConfig) -> str:
    """Canonical JSON text: the form versions are stored, exported and diffed in."""
    data = cfg.model_dump(mode="json")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def model_config_data(cfg: ModelConfig) -> dict:
    return json.loads(model_config_dump(cfg))
