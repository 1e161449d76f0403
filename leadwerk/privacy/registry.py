"""What a data-subject export and an erasure cover. Each app that stores personal data about
a person registers a section here (in its AppConfig.ready or a module imported from there):

    from leadwerk.privacy.registry import register_section

    register_section("scores", export=scores_export, erase=scores_erase)

``export(person)`` returns JSON-able data about the person; ``erase(ctx)`` anonymises that
app's rows for ``ctx.person`` (keep rows needed for anonymous counts, drop or blank the
identifying values; ``ctx.scrub(text)`` removes the person's identifying values from free
text) and returns how many rows it changed. ``identifiers(person)`` (optional) names
further values that identify the person (an ID in another system, an old address): they
are removed everywhere too, the audit log included. Sections run in ``order``; the person record
itself runs last so that every other section can still read the values it must remove.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

REDACTED = "[erased]"


@dataclass
class ErasureContext:
    person: object
    actor: object = None
    values: list[str] = field(default_factory=list)  # identifying values, longest first
    addresses: list[str] = field(default_factory=list)  # IP addresses the person used

    @property
    def strong(self) -> list[str]:
        """The values that name this person alone (an e-mail address, a full name, a phone
        number), safe to remove from rows about other people too; a first or last name on
        its own is not."""
        return [v for v in self.values if "@" in v or " " in v or v.startswith("+")]

    def mentions(self, text: str) -> bool:
        """Whether ``text`` contains one of the strong values (case-insensitive)."""
        folded = text.casefold()
        return any(v.casefold() in folded for v in self.strong)

    def scrub(self, value):
        """Replace the identifying values in a string, or in strings nested in dicts/lists."""
        if isinstance(value, str):
            for needle in self.values:
                value = re.sub(re.escape(needle), REDACTED, value, flags=re.IGNORECASE)
            return value
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value


@dataclass(frozen=True)
class Section:
    name: str
    export: Callable[[object], object]
    erase: Callable[[ErasureContext], int]
    order: int = 100
    identifiers: Callable[[object], list[str]] | None = None


_SECTIONS: dict[str, Section] = {}


def register_section(
    name: str,
    *,
    export: Callable[[object], object],
    erase: Callable[[ErasureContext], int],
    order: int = 100,
    identifiers: Callable[[object], list[str]] | None = None,
) -> None:
    """Register (or replace, on re-import) the export and erasure of one kind of data."""
    _SECTIONS[name] = Section(
        name=name, export=export, erase=erase, order=order, identifiers=identifiers
    )


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))
