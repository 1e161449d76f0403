"""The intake contract: one validated shape for a new lead, shared by the API, the public
web form, telesales entry and imports, so every door accepts and refuses the same things."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from stdnum.eu import vat as eu_vat

from leadwerk.contacts.choices import EmployeeBand, Language, Salutation
from leadwerk.contacts.countries import country_code
from leadwerk.contacts.normalization import InvalidEmail, email_clean

_SALUTATIONS = {
    "herr": Salutation.MR,
    "mr": Salutation.MR,
    "mr.": Salutation.MR,
    "frau": Salutation.MS,
    "ms": Salutation.MS,
    "ms.": Salutation.MS,
    "mrs": Salutation.MS,
    "mrs.": Salutation.MS,
    "divers": Salutation.DIVERSE,
    "mx": Salutation.DIVERSE,
    "mx.": Salutation.DIVERSE,
}


def _no_control_chars(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


_LINE_BREAKS = re.compile(r"[\r\n\t\x0b\x0c]")


def _single_line(value: str) -> str:
    if _LINE_BREAKS.search(value):
        raise ValueError("must be a single line")
    return value


Line = Annotated[str, AfterValidator(_no_control_chars), AfterValidator(_single_line)]
Text = Annotated[str, AfterValidator(_no_control_chars)]


class _In(BaseModel):
    # A plain pydantic model, not ninja's ``Schema``: ninja accepts it for bodies and builds
    # the same OpenAPI schema, while ``Schema``'s wrap validator validated every nested
    # model again (the e-mail check ran four times per lead).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: object) -> object:
        """Optional text fields accept null and mean the same as an empty string."""
        if isinstance(data, dict):
            empty = {n for n, f in cls.model_fields.items() if f.default == ""}
            return {k: "" if v is None and k in empty else v for k, v in data.items()}
        return data


class PersonIn(_In):
    """The person behind the lead. E-mail is the matching key."""

    salutation: Line = Field("", max_length=10, description="Herr/Frau/divers or mr/ms/mx")
    title: Line = Field("", max_length=40, description="Academic title, e.g. Dr. or Prof.")
    first_name: Line = Field("", max_length=100)
    last_name: Line = Field("", max_length=100)
    email: Line = Field("", max_length=254)
    phone: Line = Field("", max_length=40)
    job_title: Line = Field("", max_length=150)
    language: Line = Field("", max_length=10, description="ISO 639-1 code, e.g. de or en")

    @field_validator("salutation")
    @classmethod
    def _salutation(cls, value: str) -> str:
        if not value:
            return ""
        try:
            return _SALUTATIONS[value.casefold()].value
        except KeyError:
            raise ValueError("use one of Herr, Frau, divers (or mr, ms, mx)") from None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value:
            return ""
        try:
            return email_clean(value)
        except InvalidEmail as exc:
            raise ValueError(f"not a valid e-mail address: {exc}") from None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if value and not re.search(r"\d", value):
            raise ValueError("a phone number needs digits")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not value:
            return ""
        code = value.replace("_", "-").split("-", 1)[0].lower()
        if code not in Language.values:
            allowed = ", ".join(v for v in Language.values if v)
            raise ValueError(f"unsupported language '{value}'; use one of {allowed}")
        return code

    @model_validator(mode="after")
    def _reachable(self) -> PersonIn:
        if not self.email and not self.phone:
            raise ValueError("a person needs an e-mail address or a phone number")
        if not self.email and not self.last_name:
            raise ValueError("a person without e-mail needs a last name")
        return self


class CompanyIn(_In):
    """The person's company. Matched by the domain of its website, else by its name."""

    name: Line = Field(..., min_length=1, max_length=200)
    legal_form: Line = Field("", max_length=40)
    website: Line = Field("", max_length=200)
    industry: Line = Field("", max_length=100)
    employees: int | str | None = Field(None, description="Head count, or a band such as '50-249'")
    country: Line = Field("", max_length=60, description="ISO code or name (German or English)")
    postal_code: Line = Field("", max_length=12)
    city: Line = Field("", max_length=100)
    vat_id: Line = Field("", max_length=20)

    @field_validator("employees", mode="before")
    @classmethod
    def _employees(cls, value: object) -> int | str | None:
        # Before pydantic's own coercion, which would take true for 1 and 12.7 for 12.
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("must be a number or an employee band such as '50-249'")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError("must be a whole number")
            value = int(value)
        if isinstance(value, int):
            if value < 0 or value > 10_000_000:
                raise ValueError("must be between 0 and 10,000,000")
            return value
        value = value.strip().replace("–", "-").replace(" ", "")
        if value.isdigit():
            return cls._employees(int(value))
        if value not in EmployeeBand.values:
            bands = ", ".join(b for b in EmployeeBand.values if b)
            raise ValueError(f"a number or one of the bands {bands}")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = country_code(value)
        if code is None:
            raise ValueError(f"unknown country '{value}'")
        return code

    @field_validator("vat_id")
    @classmethod
    def _vat(cls, value: str) -> str:
        if not value:
            return ""
        compact = re.sub(r"[\s.\-/]", "", value).upper()
        if compact[:2].lower() in eu_vat.MEMBER_STATES or compact[:2] == "EL":
            if not eu_vat.is_valid(compact):
                raise ValueError(f"'{value}' is not a valid EU VAT ID")
            return compact
        # Not an EU VAT ID (Swiss CHE-… MWST, British GB…): no check here, kept as given.
        return value

    @field_validator("postal_code")
    @classmethod
    def _postal_code(cls, value: str, info: ValidationInfo) -> str:
        # ``country`` is declared before ``postal_code``, so it is already validated here.
        if value and info.data.get("country") == "DE" and not re.fullmatch(r"\d{5}", value):
            raise ValueError("a German postal code has five digits")
        return value

    @property
    def employee_count(self) -> int | None:
        return self.employees if isinstance(self.employees, int) else None

    @property
    def employee_band(self) -> str:
        if isinstance(self.employees, str):
            return self.employees
        return EmployeeBand.for_count(self.employees).value


class LeadIn(_In):
    """A new lead: who, from where, interested in what."""

    person: PersonIn
    company: CompanyIn | None = None
    channel: Line = Field(..., min_length=1, max_length=50, description="Channel slug")
    campaign: Line = Field("", max_length=80, description="Campaign slug (optional)")
    product_interest: Line = Field("", max_length=200)
    message: Text = Field("", max_length=10_000)
    external_id: Line = Field("", max_length=100, description="The lead's ID in your system")
