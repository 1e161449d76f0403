"""Page arithmetic shared by the API and the UI lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

PAGE_SIZES = (25, 50, 100)


@dataclass
class Page:
    items: list
    count: int
    number: int
    size: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.size))

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start_index(self) -> int:
        return 0 if self.count == 0 else (self.number - 1) * self.size + 1

    @property
    def end_index(self) -> int:
        return min(self.count, self.number * self.size)


def paginate(qs: QuerySet, *, page: int, size: int, clamp: bool = True) -> Page:
    """One page of ``qs`` with its total. With ``clamp`` an out-of-range page number gives
    the last page (for the UI); without, it gives an empty page (for the API)."""
    size = max(1, min(size, max(PAGE_SIZES)))
    count = qs.count()
    last = max(1, -(-count // size))
    number = min(max(1, page), last) if clamp else max(1, page)
    offset = (number - 1) * size
    return Page(list(qs[offset : offset + size]), count, number, size)
