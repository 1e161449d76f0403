"""Domain errors that services raise and every door (API, UI, CLI) turns into a clear answer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"

    def as_dict(self) -> dict:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


@dataclass
class DomainValidationError(Exception):
    """Input that is well-formed but not acceptable (unknown channel, bad reference, …)."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in self.errors)


class Conflict(Exception):  # noqa: N818 - reads better at the raise site
    """The request contradicts the current state (illegal transition, idempotency mismatch)."""

    def __init__(self, message: str, *, code: str = "conflict", extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
