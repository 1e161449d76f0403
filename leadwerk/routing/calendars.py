"""Loading business calendars from the database into :class:`BusinessClock` objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from .business_calendar import OFFICE_HOURS, BusinessClock, CalendarSpec
from .models import BusinessCalendar, TeamCalendar

_OFFICE = BusinessClock(CalendarSpec(hours=OFFICE_HOURS))


def calendar_default() -> BusinessCalendar | None:
    return BusinessCalendar.objects.filter(is_default=True).first()


def _spec(calendar: BusinessCalendar, hours, holidays) -> CalendarSpec:
    by_day: dict[int, list] = defaultdict(list)
    for h in hours:
        by_day[h.weekday].append((h.starts_at, h.ends_at))
    return CalendarSpec(
        time_zone=calendar.time_zone,
        hours={d: tuple(sorted(v)) for d, v in by_day.items()},
        country=calendar.country,
        subdivision=calendar.subdivision,
        company_holidays=frozenset(h.date for h in holidays),
    )


# Clocks per process, keyed by calendar and version: a calendar's hours and holidays change
# only through ``calendar_save``, which bumps ``updated_at``, so a stale clock is never used.
_CLOCKS: dict[tuple[int, datetime], BusinessClock] = {}
_CLOCKS_MAX = 256


def calendar_clocks(calendar_ids: Iterable[int]) -> dict[int, BusinessClock]:
    """Clocks for several calendars: one query, three more for calendars not seen before."""
    ids = {i for i in calendar_ids if i is not None}
    if not ids:
        return {}
    versions = dict(BusinessCalendar.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
    missing = [pk for pk, version in versions.items() if (pk, version) not in _CLOCKS]
    if missing:
        if len(_CLOCKS) > _CLOCKS_MAX:
            _CLOCKS.clear()
        calendars = BusinessCalendar.objects.filter(pk__in=missing).prefetch_related(
            "hours", "company_holidays"
        )
        for c in calendars:
            _CLOCKS[(c.pk, c.updated_at)] = BusinessClock(
                _spec(c, c.hours.all(), c.company_holidays.all())
            )
    return {
        pk: _CLOCKS[(pk, version)] for pk, version in versions.items() if (pk, version) in _CLOCKS
    }


def calendar_clock(calendar: BusinessCalendar | None) -> BusinessClock:
    """The clock of ``calendar``; of the default calendar when None; Monday to Friday 8–17
    with Germany's nationwide holidays when there is no calendar at all."""
    if calendar is None:
        calendar = calendar_default()
    if calendar is None:
        return _OFFICE
    return calendar_clocks([calendar.pk]).get(calendar.pk) or _OFFICE


def team_calendar_id(team_id: int | None) -> int | None:
    if team_id is None:
        return None
    return (
        TeamCalendar.objects.filter(team_id=team_id).values_list("calendar_id", flat=True).first()
    )


def calendar_id_for(*, pool=None, user=None) -> int | None:
    """The calendar that applies: the pool's, else the user's team's, else the pool team's,
    else the default calendar (None: there is no calendar at all)."""
    if pool is not None and pool.calendar_id:
        return pool.calendar_id
    teams = [t for t in (getattr(user, "team_id", None), getattr(pool, "team_id", None)) if t]
    if teams:
        found = dict(
            TeamCalendar.objects.filter(team_id__in=teams).values_list("team_id", "calendar_id")
        )
        for team_id in teams:
            if team_id in found:
                return found[team_id]
    return BusinessCalendar.objects.filter(is_default=True).values_list("pk", flat=True).first()


def clock_for_id(calendar_id: int | None) -> BusinessClock:
    if calendar_id is None:
        return _OFFICE
    return calendar_clocks([calendar_id]).get(calendar_id) or _OFFICE


def local(at: datetime, clock: BusinessClock) -> datetime:
    return at.astimezone(clock.zone)
