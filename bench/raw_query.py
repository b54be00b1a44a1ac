"""The naive alternative: the scoreboard's dossier numbers straight from the raw events table.

An integrator without the aggregator would keep every event (`bench.dataset.raw_events_table_sql`)
and fold it at query time. This is that fold written as one SQL query, with the methodology of
2.1 (on time, supplement time taken off, a second supplement request makes a dossier late, open
dossiers judged at the cutoff) spelled out as the fact rows' measures spell it: it must give the
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
    effective_due = "addSeconds(due_at, paused_seconds)"
    ended = "(ended_at IS NOT NULL AND ended_at <= cutoff)"
    paused = "(paused_since IS NOT NULL AND paused_since <= cutoff)"
    return f"""
WITH {sql_literal(cutoff)} AS cutoff
SELECT
  countIf(counted) AS dossiers,
  countIf(counted AND on_time) AS on_time,
  countIf(counted AND synced_at IS NOT NULL AND synced_at <= cutoff) AS synced,
  countIf(counted AND channel = 2) AS online
FROM (
  SELECT *,
    supplement_requests < 2 AND (
      due_at IS NULL
      OR ({ended} AND ended_at <= {effective_due})
      OR (NOT {ended} AND {paused} AND paused_since <= {effective_due})
      OR (NOT {ended} AND NOT {paused} AND cutoff <= {effective_due})
    ) AS on_time
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
      -- the k-th answer closes the k-th request; an unanswered one pauses the clock
      arraySort(groupArrayIf(toDateTime(event_time), type = {_t("supplement_requested")}))
        AS asks,
      arraySort(groupArrayIf(toDateTime(event_time), type = {_t("supplement_received")}))
        AS answers,
      length(asks) AS supplement_requests,
      arraySum(arrayMap(i -> dateDiff('second', asks[i], answers[i]),
                        range(1, least(length(asks), length(answers)) + 1))) AS paused_seconds,
      if(length(asks) > length(answers), asks[length(answers) + 1], NULL) AS paused_since,
      minIfOrNull(toDateTime(event_time), type IN ({ends})) AS ended_at,
      minIfOrNull(toDateTime(event_time), type = {_t("synced_to_portal")}) AS synced_at
    FROM {RAW_EVENTS_TABLE}
    GROUP BY subject
  )
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
