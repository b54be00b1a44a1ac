"""`GET /v1/trends`: an indicator (or the total) by day, ISO week or month."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from services.api.errors import invalid
from services.api.models import PeriodRef, TrendPoint, TrendsOut, UnitRef
from services.api.params import IndicatorOrTotal, ScoresOfUnit, unit_router
from services.api.queries import tallies_by_bucket
from services.api.routers.scores import SourceParam, wanted_source
from services.api.state import ApiState, State
from services.api.windows import Used, Wanted, WindowsCannotAnswer, tallies_from_windows
from tthc.calendar import VN_TZ
from tthc.measures import MEASURES, Measure, Scope, Tally
from tthc.reference import scope_of
from tthc.scoring import IndicatorScore, Scorecard, profile_measures, score, score_indicator
from tthc.trends import Granularity, buckets, default_range

router = unit_router("scores")

# What a point shows of an indicator's score, or of the scorecard (the total).
_OF_INDICATOR: tuple[str, ...] = ("numerator", "denominator", "rate", "points", "max_points")
_OF_TOTAL: tuple[str, ...] = ("points", "max_points", "total")


@router.get(
    "/v1/trends",
    summary="Diễn biến theo thời gian / Trend",
    description="Each point is the indicator (or the total, without `indicator`) computed over "
    "one day, ISO week or month exactly as `/v1/scores` computes a period: dossiers received in "
    "it, judged at its end (or now). Default range: the last 30 days, 12 weeks or 12 months.",
)
def get_trends(
    state: State,
    asked: ScoresOfUnit,
    chosen_indicator: IndicatorOrTotal,
    granularity: Granularity = Granularity.month,
    source: SourceParam = "default",
) -> TrendsOut:
    u, moment = asked.unit, asked.as_of
    today = moment.astimezone(VN_TZ).date()
    span = asked.period(default_range(today, granularity))
    points = [b for b in buckets(span, granularity) if b.period.start <= moment]
    if len(points) > state.settings.max_trend_points:
        raise invalid(
            "granularity",
            f"{len(points)} {granularity.value}s in the range; at most "
            f"{state.settings.max_trend_points}: choose a coarser granularity or a shorter range",
        )
    if chosen_indicator is not None:
        measures = [MEASURES[p.measure] for p in chosen_indicator.parts]
    else:
        measures = profile_measures(state.profile)
    scopes = {b.label: scope_of(state.tree, u.code, b.period, moment) for b in points}
    tallied, used = _tallied(state, measures, scopes, granularity, wanted_source(asked, source))
    out = []
    for bucket in points:
        found = tallied[bucket.label]
        scored: IndicatorScore | Scorecard
        if chosen_indicator is not None:
            scored, shown = score_indicator(chosen_indicator, found, u.level), _OF_INDICATOR
        else:
            scored, shown = score(state.profile, found, u.level), _OF_TOTAL
        out.append(
            TrendPoint(
                label=bucket.label,
                first_day=bucket.period.start_date,
                last_day=bucket.period.end_date - timedelta(days=1),
                **{name: getattr(scored, name) for name in shown},
            )
        )
    return TrendsOut(
        unit=UnitRef.of(u),
        indicator=chosen_indicator.code if chosen_indicator else None,
        name_vi=chosen_indicator.name_vi if chosen_indicator else "Tổng điểm",
        granularity=granularity.value,
        period=PeriodRef.of(span, moment),
        points=out,
        source=used,
    )


def _tallied(
    state: ApiState,
    measures: Sequence[Measure],
    scopes: Mapping[str, Scope],
    granularity: Granularity,
    wanted: Wanted,
) -> tuple[dict[str, dict[str, Tally]], Used]:
    """From the windows when every bucket is a month they can judge (now, or at its end: a
    past day or week ends at no month's end), each bucket on its own; else the buckets at once
    from the facts."""
    if wanted != "facts" and granularity is Granularity.month:
        try:
            found = {
                label: tallies_from_windows(state.pool, measures, {label: scope}, "trends")[label]
                for label, scope in scopes.items()
            }
            return found, "windows"
        except WindowsCannotAnswer:
            pass
    return tallies_by_bucket(state.pool, measures, scopes, "trends"), "facts"
