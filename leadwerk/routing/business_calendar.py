"""Business-time arithmetic: working hours in a time zone, public holidays of a region (from
the ``holidays`` package) and company holidays.

"Respond within one business day" must mean a real German Werktag: a lead that arrives on
Friday at 15:00 in Munich is due on Monday at 15:00, one that arrives on the Saturday before
Easter is due at the end of Tuesday. All instants going in and coming out are timezone-aware;
working hours are wall-clock times in the calendar's zone, so daylight-saving changes shift
UTC, not the working day. Arithmetic happens in UTC, so a working interval that spans a
change is as long as it really is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

# A calendar without a working minute in this many days is broken (e.g. no hours at all).
SEARCH_DAYS = 800


class CalendarError(ValueError):
    """The calendar cannot answer: no working time ahead, unknown zone or region."""


@lru_cache(maxsize=1)
def supported_regions() -> dict[str, tuple[str, ...]]:
    """Country code -> its subdivisions, as far as the ``holidays`` package knows them."""
    return {code: tuple(subs) for code, subs in holidays.list_supported_countries().items()}


def region_problem(country: str, subdivision: str) -> str | None:
    """Why (country, subdivision) is not a region we know public holidays for, or None."""
    regions = supported_regions()
    if country not in regions:
        return f"no public holidays known for country '{country}'"
    if subdivision and subdivision not in regions[country]:
        known = ", ".join(s for s in regions[country] if s.isupper())
        return f"unknown region '{subdivision}' for {country}; known: {known}"
    return None


def zone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone '{name}'"
    return None


@lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str, year: int) -> dict[date, str]:
    """The public holidays of a region in one year (German names where available)."""
    try:
        found = holidays.country_holidays(
            country, subdiv=subdivision or None, years=year, language="de"
        )
    except NotImplementedError as exc:  # unknown country or region
        raise CalendarError(str(exc)) from exc
    return dict(found.items())


@dataclass(frozen=True)
class CalendarSpec:
    """Everything the arithmetic needs, detached from the database."""

    time_zone: str = "Europe/Berlin"
    # weekday (0 = Monday) -> sorted (start, end) wall-clock intervals; end time(0) = midnight
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    country: str = "DE"
    subdivision: str = ""
    company_holidays: frozenset[date] = frozenset()


class BusinessClock:
    """Answers "is it business time?" and "what instant is N business minutes later?"."""

    def __init__(self, spec: CalendarSpec):
        problem = zone_problem(spec.time_zone)
        if problem:
            raise CalendarError(problem)
        if spec.country:
            problem = region_problem(spec.country, spec.subdivision)
            if problem:
                raise CalendarError(problem)
        self.spec = spec
        self.zone = ZoneInfo(spec.time_zone)
        self._days: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    # --- days -------------------------------------------------------------------------------
    def holiday_name(self, day: date) -> str | None:
        if day in self.spec.company_holidays:
            return "company holiday"
        if not self.spec.country:
            return None
        return public_holidays(self.spec.country, self.spec.subdivision, day.year).get(day)

    def is_business_day(self, day: date) -> bool:
        return bool(self.intervals(day))

    def intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working intervals of one local day as UTC instants (empty on days off)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        result: list[tuple[datetime, datetime]] = []
        slots = self.spec.hours.get(day.weekday(), ())
        if slots and self.holiday_name(day) is None:
            for start, end in slots:
                a = datetime.combine(day, start, tzinfo=self.zone)
                b = (
                    datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
                    if end == time(0)
                    else datetime.combine(day, end, tzinfo=self.zone)
                )
                a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
                if b_utc > a_utc:
                    result.append((a_utc, b_utc))
        value = tuple(result)
        self._days[day] = value
        return value

    def _local_date(self, at: datetime) -> date:
        _aware(at)
        return at.astimezone(self.zone).date()

    def _intervals_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals that end after ``at``, in order (the day before included, for
        intervals running past midnight in UTC terms)."""
        day = self._local_date(at) - timedelta(days=1)
        for _ in range(SEARCH_DAYS):
            for a, b in self.intervals(day):
                if b > at:
                    yield a, b
            day += timedelta(days=1)
        raise CalendarError(f"no working time within {SEARCH_DAYS} days after {at.isoformat()}")

    # --- instants ---------------------------------------------------------------------------
    def is_open(self, at: datetime) -> bool:
        _aware(at)
        return any(a <= at < b for a, b in self.intervals(self._local_date(at)))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself during working time, else the start of the next working interval."""
        for a, _b in self._intervals_from(at):
            return max(a, at).astimezone(UTC)
        raise AssertionError("unreachable")  # pragma: no cover - _intervals_from raises

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The instant ``minutes`` of business time after ``start``. Landing exactly on the
        end of a working interval gives that end (Friday 17:00, not Monday 08:00)."""
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        remaining = timedelta(minutes=minutes)
        at = start.astimezone(UTC)
        for a, b in self._intervals_from(at):
            s = max(a, at)
            available = b - s
            if remaining <= available:
                return s + remaining
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def add_days(self, start: datetime, days: int) -> datetime:
        """``days`` business days after ``start``: the same point of the working day that many
        business days later (clamped to that day's end). A lead arriving outside working
        hours starts the clock at the next opening, so one business day then means the end
        of that next business day."""
        if days < 1:
            raise ValueError("days must be at least 1")
        begin = self.next_open(start)
        day = self._local_date(begin)
        today = self.intervals(day)
        offset = self.minutes_between(today[0][0], begin)
        if offset == 0:
            target = self._nth_business_day(day, days - 1)
            return self.intervals(target)[-1][1]
        target = self._nth_business_day(day, days)
        target_intervals = self.intervals(target)
        total = self.minutes_between(target_intervals[0][0], target_intervals[-1][1])
        if offset >= total:
            return target_intervals[-1][1]
        return self.add_minutes(target_intervals[0][0], offset)

    def _nth_business_day(self, day: date, n: int) -> date:
        """The n-th business day after ``day`` (n = 0: ``day`` itself, a business day)."""
        for _ in range(SEARCH_DAYS):
            if n == 0 and self.is_business_day(day):
                return day
            day += timedelta(days=1)
            if self.is_business_day(day):
                n -= 1
                if n == 0:
                    return day
        raise CalendarError(f"no business day within {SEARCH_DAYS} days after {day}")

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes in [start, end); 0 when end is not after start."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return 0.0
        total = timedelta()
        day = self._local_date(start) - timedelta(days=1)
        last = self._local_date(end) + timedelta(days=1)
        while day <= last:
            for a, b in self.intervals(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def due(self, start: datetime, value: int, unit: str) -> datetime:
        """The deadline ``value`` ``unit`` (minutes, hours, days) of business time after start."""
        if unit == "days":
            return self.add_days(start, value)
        if unit == "hours":
            return self.add_minutes(self.next_open(start), value * 60)
        if unit == "minutes":
            return self.add_minutes(self.next_open(start), value)
        raise ValueError(f"unknown unit '{unit}'")


def _aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business time needs timezone-aware datetimes")


# Monday to Friday, 08:00–17:00: the default working week.
OFFICE_HOURS: dict[int, tuple[tuple[time, time], ...]] = {
    d: ((time(8), time(17)),) for d in range(5)
}
