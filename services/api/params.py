"""Query parameters into domain values, with a 404 or 422 that says what was wrong."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from services.api.auth import Viewer, authorize
from services.api.errors import invalid, not_found, responses
from services.api.state import ApiState, State
from tthc.calendar import VN_TZ
from tthc.periods import Period, containing, date_range, parse_period
from tthc.profile import Indicator, Part
from tthc.units import Unit, UnitLevel

PERIOD_HELP = "2024-05 (month), 2024-Q2 (quarter), 2024-H1 (half-year) or 2024 (year to date)"
AS_OF_HELP = (
    "judge as of this instant (ISO 8601; without a zone, Vietnam time; a date alone means the "
    "end of that day); default now"
)

UnitParam = Annotated[str, Query(description="mã đơn vị, e.g. 75, 75.STP, 25264")]
CodeParam = Annotated[str, Path(description="mã đơn vị")]
ParentParam = Annotated[str | None, Query(description="default: the province")]
PeriodParam = Annotated[str | None, Query(description=PERIOD_HELP + "; default this quarter")]
FromParam = Annotated[str | None, Query(alias="from", description="first day (YYYY-MM-DD)")]
ToParam = Annotated[str | None, Query(description="last day, included (YYYY-MM-DD)")]
AsOfParam = Annotated[str | None, Query(description=AS_OF_HELP)]


def unit_of(state: ApiState, code: str, field: str = "unit") -> Unit:
    """Today's unit for a code (a merged unit's code leads to the unit that took it over)."""
    if code not in state.tree:
        raise not_found(field, f"unknown unit code {code!r}")
    return state.tree.get(state.tree.resolve(code))


def level_of(value: str) -> UnitLevel:
    try:
        return UnitLevel(value)
    except ValueError:
        known = ", ".join(level.value for level in UnitLevel)
        raise invalid("level", f"unknown level {value!r}; one of {known}") from None


def as_of_of(state: ApiState, value: str | None) -> datetime:
    if value is None:
        return state.clock()
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=VN_TZ)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(
            "as_of", f"{value!r} is not an ISO 8601 date or date-time, e.g. 2024-06-20T17:00+07:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=VN_TZ)


def _day(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise invalid(field, f"{value!r} is not a date (YYYY-MM-DD)") from None


def period_of(period: str | None, start: str | None, end: str | None, *, default: Period) -> Period:
    """`period=` or `from=`&`to=` (both days included), else the default."""
    if period is not None and (start is not None or end is not None):
        raise invalid("period", "give period= or from= and to=, not both")
    if period is not None:
        try:
            return parse_period(period)
        except ValueError as error:
            raise invalid("period", str(error)) from None
    if start is None and end is None:
        return default
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise invalid(missing, "a date range needs both from= and to= (YYYY-MM-DD)")
    first, last = _day("from", start), _day("to", end)
    try:
        return date_range(first, last)
    except ValueError as error:
        raise invalid("to", str(error)) from None


def current_quarter(now: datetime) -> Period:
    return containing("quarter", now.astimezone(VN_TZ).date())


def indicator_of(state: ApiState, code: str) -> Indicator:
    found = state.profile.by_code.get(code.strip())
    if found is None:
        raise not_found(
            "indicator",
            f"unknown indicator {code!r}; see GET /v1/indicators (e.g. 2.1, 3.3, 5.4)",
        )
    return found


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)?$")
_ISO_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, None: 3600}


def parts_of(indicator: Indicator, label: str | None) -> list[Part]:
    """The indicator's part named `label` (422 if it has none), or all its parts."""
    if label is None:
        return list(indicator.parts)
    parts = [p for p in indicator.parts if p.label == label]
    if not parts:
        labels = ", ".join(p.label for p in indicator.parts if p.label) or "none"
        raise invalid("part", f"indicator {indicator.code} has no part {label!r} ({labels})")
    return parts


def horizon_of(value: str | None, default: timedelta) -> timedelta:
    """'48h', '3d', '90m', '2w', a number of hours, or ISO 8601 ('PT48H', 'P3D')."""
    if value is None:
        return default
    text = value.strip()
    seconds: float | None = None
    if match := _DURATION.match(text.lower()):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    elif (match := _ISO_DURATION.match(text.upper())) and any(match.groups()):
        days, hours, minutes = (int(g or 0) for g in match.groups())
        seconds = days * 86_400 + hours * 3600 + minutes * 60
    if seconds is None:
        raise invalid("horizon", f"{value!r} is not a duration like 24h, 3d, 90m or PT48H")
    if not 0 < seconds <= 366 * 86_400:
        raise invalid("horizon", "the horizon must be more than 0 and at most a year")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Asked:
    """What every unit route is asked, checked: the unit (its viewer allowed to see it), the
    instant to judge as of, and the period (parsed when the route gives its default)."""

    unit: Unit
    as_of: datetime
    given_as_of: bool
    _period: tuple[str | None, str | None, str | None]

    def period(self, default: Period | None = None) -> Period:
        """`period=` or `from=`&`to=`, else `default` (the quarter of `as_of`); a period that
        has not started by `as_of` has nothing to judge (422, saying so)."""
        period, start, end = self._period
        chosen = period_of(period, start, end, default=default or current_quarter(self.as_of))
        if chosen.start > self.as_of:
            raise invalid(
                "period" if start is None else "from",
                f"kỳ {chosen.label} chưa bắt đầu / the period {chosen.label} has not started: "
                f"it begins on {chosen.start_date.isoformat()}, after the instant judged "
                f"({self.as_of.astimezone(VN_TZ):%Y-%m-%d %H:%M} Vietnam time)",
            )
        return chosen


def _unit_in_query(unit: UnitParam) -> tuple[str, str | None]:
    return "unit", unit


def _unit_in_path(code: CodeParam) -> tuple[str, str | None]:
    return "code", code


def _parent_in_query(parent: ParentParam = None) -> tuple[str, str | None]:
    return "parent", parent  # None: the province


def _asked(named: Callable[..., tuple[str, str | None]], *, dossiers: bool) -> Any:
    """The dependency of the routes whose unit comes from `named` (the field that names it and
    its code), for dossier lists or for aggregate scores (see `authorize`)."""

    # `named` as a default, not in the annotation: annotations are strings here, resolved
    # in the module's globals, where this closure's `named` is not.
    def asked(
        state: State,
        viewer: Viewer,
        period: PeriodParam = None,
        start: FromParam = None,
        to: ToParam = None,
        as_of: AsOfParam = None,
        unit: tuple[str, str | None] = Depends(named),  # noqa: B008
    ) -> Asked:
        field, code = unit
        chosen = state.tree.root if code is None else unit_of(state, code, field)
        authorize(state, viewer, chosen.code, dossiers=dossiers)
        return Asked(chosen, as_of_of(state, as_of), as_of is not None, (period, start, to))

    return Depends(asked)


def unit_router(tag: str) -> APIRouter:
    """The router of routes asked about a unit: each may answer what `Asked` refuses."""
    return APIRouter(tags=[tag], responses=responses(401, 403, 404, 422))


# The unit in `unit=`, in the path's `{code}`, or in `parent=` (default the province).
ScoresOfUnit = Annotated[Asked, _asked(_unit_in_query, dossiers=False)]
DossiersOfUnit = Annotated[Asked, _asked(_unit_in_query, dossiers=True)]
ScoresOfCode = Annotated[Asked, _asked(_unit_in_path, dossiers=False)]
DossiersOfCode = Annotated[Asked, _asked(_unit_in_path, dossiers=True)]
ScoresUnder = Annotated[Asked, _asked(_parent_in_query, dossiers=False)]


@dataclass(frozen=True)
class Page:
    """`limit=` and `offset=` of a listing, the limit within the setting's page size."""

    limit: int
    offset: int

    def next_offset(self, shown: int, total: int) -> int | None:
        following = self.offset + shown
        return following if following < total else None


def _page(
    state: State,
    limit: Annotated[int, Query(ge=1, description="page size")] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page:
    if limit > state.settings.max_page_size:
        raise invalid("limit", f"at most {state.settings.max_page_size} per page")
    return Page(limit, offset)


PageParams = Annotated[Page, Depends(_page)]


def _indicator(
    state: State, indicator: Annotated[str, Query(description="e.g. 2.1, 2.2, 3.6, 5.4")]
) -> Indicator:
    return indicator_of(state, indicator)


def _optional_indicator(
    state: State,
    indicator: Annotated[str | None, Query(description="e.g. 2.1; default: the total")] = None,
) -> Indicator | None:
    return indicator_of(state, indicator) if indicator is not None else None


ChosenIndicator = Annotated[Indicator, Depends(_indicator)]  # `indicator=`, known or 404
IndicatorOrTotal = Annotated[Indicator | None, Depends(_optional_indicator)]  # None: the total
PartParam = Annotated[str | None, Query(description="for an indicator of several parts")]
