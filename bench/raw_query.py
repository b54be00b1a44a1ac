"""The naive alternative: the scoreboard's dossier numbers straight from the raw events table.

An integrator without the aggregator would keep every event (`bench.dataset.raw_events_table_sql`)
and fold it at query time. This is that fold written as one SQL query, with the methodology of
2.1 spelled out as the fact rows' measures spell it (only the events up to the cutoff; on time
at the end of processing, or at the cutoff while open; supplement time taken off, only within
receipt to that end; a second supplement request makes a dossier late): it must give the
numbers the API gives from the facts. It covers the dossier count, 2.1 (numerator and
denominator), 1.4 (synced) and 3.3 (online): a small part of what one scoreboard request
computes (22 indicators over four tables), so its ratio to the API flatters the raw approach.
"""

from __future__ import annotations

from datetime import datetime

from bench.dataset import EVENT_TYPE, RAW_EVENTS_TABLE
from tthc.expr import sql_literal
from tthc.periods import Period


def _t(fact: str) -> str:
    return sql_literal(EVENT_TYPE.format(fact))


def raw_scoreboard_sql(units: frozenset[str], period: Period, cutoff: datetime) -> str:
    received = _t("received")
    ends = ", ".join(_t(f) for f in ("processed", "result_returned", "stopped", "withdrawn"))
    ended = "(ended_at IS NOT NULL AND ended_at <= cutoff)"
    return f"""
WITH {sql_literal(cutoff)} AS cutoff
SELECT
  countIf(counted) AS dossiers,
  countIf(counted AND on_time) AS on_time,
  countIf(counted AND synced_at IS NOT NULL AND synced_at <= cutoff) AS synced,
  countIf(counted AND channel = 2) AS online
FROM (
  SELECT *,
    supplement_requests < 2 AND (due_at IS NULL OR clock_end <= addSeconds(due_at, paused_seconds))
      AS on_time
  FROM (
  SELECT *,
    if({ended}, assumeNotNull(ended_at), cutoff) AS clock_end,
    -- the k-th answer closes the k-th request (an unanswered one runs to the clock's end),
    -- only the part inside receipt to the clock's end counts
    arraySum(arrayMap(i -> greatest(0, dateDiff('second',
        greatest(asks[i], assumeNotNull(received_at)),
        least(if(i <= length(answers), answers[i], clock_end), clock_end))),
      range(1, length(asks) + 1))) AS paused_seconds
  FROM (
    SELECT
      subject,
      anyIf(unit, type = {received}) AS unit_code,
      anyIf(parseDateTimeBestEffortOrNull(JSONExtractString(payload, 'received_at')),
            type = {received}) AS received_at,
      anyIf(JSONExtractInt(payload, 'channel'), type = {received}) AS channel,
      countIf(type = {received}) > 0 AND countIf(type = {_t("refused")}) = 0 AS counted,
      if(countIf(type = {_t("due_date_changed")}) > 0,
         argMaxIf(parseDateTimeBestEffortOrNull(JSONExtractString(payload, 'due_at')),
                  event_time, type = {_t("due_date_changed")}),
         anyIf(parseDateTimeBestEffortOrNull(JSONExtractString(payload, 'due_at')),
               type = {received})) AS due_at,
      arraySort(groupArrayIf(toDateTime(event_time), type = {_t("supplement_requested")}))
        AS asks,
      arraySort(groupArrayIf(toDateTime(event_time), type = {_t("supplement_received")}))
        AS answers,
      length(asks) AS supplement_requests,
      minIfOrNull(toDateTime(event_time), type IN ({ends})) AS ended_at,
      minIfOrNull(toDateTime(event_time), type = {_t("synced_to_portal")}) AS synced_at
    FROM {RAW_EVENTS_TABLE}
    WHERE event_time <= cutoff  -- judged with what had happened by the cutoff
    GROUP BY subject
  ))
  WHERE unit_code IN {sql_literal(units)}
    AND received_at >= {sql_literal(period.start)} AND received_at < {sql_literal(period.end)}
)
SETTINGS max_threads = 2"""


# The measure behind each number, and the profile's indicator that shows it.
RAW_NUMBERS = {
    "dossiers": ("2.1", "denominator"),
    "on_time": ("2.1", "numerator"),
    "synced": ("1.4", "numerator"),
    "online": ("3.3", "numerator"),
}
