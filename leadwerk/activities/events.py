"""The behaviour event contract for POST /api/v1/events: one event, or a batch of up to 1,000.

Plain pydantic models (not ninja's Schema, whose ORM-friendly root validator costs more than
all checks of an event together): batches of 1,000 are parsed in one go."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadwerk.contacts.normalization import InvalidEmail, email_clean
from leadwerk.leads.intake import Line

from .choices import EVENT_TYPES

MAX_BATCH = 1000
MAX_PROPERTIES = 50
MAX_PROPERTY_TEXT = 2000
MAX_LIST = 50
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _check_scalar(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, float) and value != value:  # NaN
            raise ValueError(f"{where}: NaN is not a value")
        return
    if isinstance(value, str):
        if len(value) > MAX_PROPERTY_TEXT:
            raise ValueError(f"{where}: at most {MAX_PROPERTY_TEXT} characters")
        if "\x00" in value:
            raise ValueError(f"{where}: must not contain NUL characters")
        return
    raise ValueError(f"{where}: must be a text, number, true/false or null")


# Plain ASCII addresses only need a syntax check to be looked up (by their case-folded key);
# anything else goes through the full validator (IDNA), as does every address that would
# create a new person.
_ASCII_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@lru_cache(maxsize=8192)
def _email_clean(value: str) -> str:
    return email_clean(value)


class EventPersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Line = Field(..., min_length=1, max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if _ASCII_EMAIL.match(value) and ".." not in value:
            return value
        try:
            return _email_clean(value)
        except InvalidEmail as exc:
            raise ValueError(f"not a valid e-mail address: {exc}") from None


class EventIn(BaseModel):
    """One thing a person did. Identify the person by ``person.email`` or ``person_id``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    person: EventPersonIn | None = Field(None, description='{"email": "..."}')
    person_id: UUID | None = Field(None, description="A person's id, instead of person.email")
    type: str = Field(..., max_length=30, description="One of: " + ", ".join(EVENT_TYPES))
    occurred_at: datetime | None = Field(
        None, description="When it happened, with a time zone; default: now"
    )
    subject: Line = Field("", max_length=300, description="A short description")
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Flat details: texts, numbers, true/false, null or lists of these "
        f"(at most {MAX_PROPERTIES} keys). web_visit takes url, path, title, referrer.",
    )
    visitor_id: UUID | None = Field(
        None, description="The tracking snippet's visitor id: joins that visitor to the person"
    )

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"unknown event type '{value}'; use one of {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("give a time zone, e.g. 2026-03-01T10:15:00+01:00 or …Z")
        if value < _EARLIEST:
            raise ValueError("must not be before the year 2000")
        return value

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > MAX_PROPERTIES:
            raise ValueError(f"at most {MAX_PROPERTIES} properties")
        for key, item in value.items():
            if not _KEY.match(key):
                raise ValueError(
                    f"property name '{key[:80]}' must start with a letter or _ and contain "
                    "only letters, digits, _ . - (at most 64 characters)"
                )
            if isinstance(item, list):
                if len(item) > MAX_LIST:
                    raise ValueError(f"{key}: at most {MAX_LIST} entries")
                for n, entry in enumerate(item):
                    _check_scalar(entry, f"{key}[{n}]")
            elif isinstance(item, dict):
                raise ValueError(f"{key}: nested objects are not supported; flatten them")
            else:
                _check_scalar(item, key)
        for key in ("url", "path", "title", "referrer"):
            if key in value and value[key] is not None and not isinstance(value[key], str):
                raise ValueError(f"{key}: must be a text")
        url = value.get("url")
        if url and not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
            raise ValueError("url: must be an absolute http(s) URL")
        path = value.get("path")
        if path and not path.startswith("/"):
            raise ValueError("path: must start with /")
        return value

    @model_validator(mode="after")
    def _one_person(self) -> EventIn:
        if (self.person is None) == (self.person_id is None):
            raise ValueError("identify the person by person.email or by person_id (one of them)")
        return self


class EventBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(..., min_length=1, max_length=MAX_BATCH)
