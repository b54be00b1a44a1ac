"""A province's year of dossiers made straight inside ClickHouse: fact rows and raw events.

`INSERT … SELECT … FROM numbers(N)` builds N dossiers in seconds (10M in a minute or two on
2 cores), where generating and replaying events through the pipeline would take hours. One plan
(`plan_sql`) decides everything about dossier `n` from hashes of `n`: its unit (communes and
departments weighted as a province's are: a department receives about three times a commune's
dossiers, communes differ by an order of magnitude), its procedure, channel, times, supplements,
refusal, withdrawal, lateness, sync, fee and rating. Two tables are read off the same plan:

- `dossier_facts`: the aggregator's fact rows (what the API reads);
- `raw_events`: what a naive integrator would keep instead, one row per event with its type,
  subject, unit, times and the JSON payload, and recompute everything from.

Both therefore describe the same dossiers, and the raw query's numbers must equal the API's.
Procedures, communes and feedback are small and written as facts too, so every indicator has
something to count.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.storage.clickhouse import Client, VersionedFacts, insert_facts, migrate
from services.storage.schema import SINGLE_NODE, TABLES, Layout
from tthc.calendar import VN_TZ
from tthc.events import OnlineService
from tthc.expr import sql_literal
from tthc.facts import CommuneFacts, ProcedureFacts
from tthc.measures import Subject
from tthc.units import UnitLevel, UnitTree

RAW_EVENTS_TABLE = "raw_events"
EVENT_TYPE = "vn.tthc.dossier.{}.v1"

# The API's clock during the latency figures: the last day of the year, at noon in Vietnam. The
# refresher then keeps the year's snapshot, and `period=<year>` is judged at this instant.
DEFAULT_YEAR = 2025


def bench_clock(year: int = DEFAULT_YEAR) -> datetime:
    return datetime(year, 12, 31, 12, 0, tzinfo=VN_TZ)


@dataclass(frozen=True)
class Procedure:
    code: str
    level: UnitLevel
    days: int  # processing time limit, in working days
    online: OnlineService
    fee: int
    full_online_eligible: bool
    returns_result_document: bool


@dataclass(frozen=True)
class Plan:
    """What the dossiers are drawn from: weighted units, procedures, the year's days."""

    dossiers: int
    unit_slots: tuple[str, ...]  # a unit per slot; a unit's share of slots is its weight
    commune_slot: tuple[int, ...]  # 1 where the slot's unit is a commune
    procedures: tuple[Procedure, ...]
    first_day: date
    days: int  # received_at falls on one of the `days` days from `first_day`
    clock: datetime  # nothing happens after this instant

    @property
    def province_procedures(self) -> list[int]:
        """1-based indexes into `procedures` of the department-level ones."""
        return [i + 1 for i, p in enumerate(self.procedures) if p.level is UnitLevel.province]

    @property
    def commune_procedures(self) -> list[int]:
        return [i + 1 for i, p in enumerate(self.procedures) if p.level is UnitLevel.commune]


def make_plan(tree: UnitTree, dossiers: int, *, seed: int = 766, year: int = DEFAULT_YEAR) -> Plan:
    rng = random.Random(seed)
    slots: list[str] = []
    communes: list[int] = []
    for unit in tree.current_units():
        if unit.level is UnitLevel.department:
            weight = 30
        elif unit.level is UnitLevel.commune:
            # a lognormal spread: a few big communes (a town centre), many small ones
            weight = max(2, min(60, round(10 * rng.lognormvariate(0, 0.7))))
        else:
            continue  # the province itself receives through its departments
        slots += [unit.code] * weight
        communes += [int(unit.level is UnitLevel.commune)] * weight
    procedures = []
    for level, prefix in ((UnitLevel.province, "1"), (UnitLevel.commune, "2")):
        for n in range(12):
            online = rng.choices(list(OnlineService), weights=[2, 5, 4])[0]
            procedures.append(
                Procedure(
                    code=f"{prefix}.{n + 1:06d}.000.00.00.H19",
                    level=level,
                    days=rng.choice([1, 3, 5, 10, 15]),
                    online=online,
                    fee=rng.choice([0, 0, 20_000, 50_000, 100_000]),
                    full_online_eligible=online is OnlineService.full or rng.random() < 0.3,
                    returns_result_document=rng.random() < 0.9,
                )
            )
    clock = bench_clock(year)
    first_day = date(year, 1, 1)
    return Plan(
        dossiers=dossiers,
        unit_slots=tuple(slots),
        commune_slot=tuple(communes),
        procedures=tuple(procedures),
        first_day=first_day,
        days=(clock.date() - first_day).days,  # up to the day before the clock's
        clock=clock,
    )


def _u(salt: int) -> str:
    """A uniform number in [0, 1) drawn from the dossier number and a salt."""
    return f"(cityHash64(number, {salt}) % 1000000) / 1000000.0"


def plan_sql(plan: Plan) -> str:
    """One row per dossier with everything the facts and the events are read from.

    Times are DateTime('UTC'); a NULL time is something that did not happen (yet).
    """
    p = plan.procedures
    arrays = {
        "_slots": sql_literal(list(plan.unit_slots)),
        "_commune": sql_literal(list(plan.commune_slot)),
        "_codes": sql_literal([x.code for x in p]),
        "_days": sql_literal([x.days for x in p]),
        "_online": sql_literal([x.online.value for x in p]),
        "_fee": sql_literal([x.fee for x in p]),
        "_full_eligible": sql_literal([int(x.full_online_eligible) for x in p]),
        "_returns_doc": sql_literal([int(x.returns_result_document) for x in p]),
        "_province_procs": sql_literal(plan.province_procedures),
        "_commune_procs": sql_literal(plan.commune_procedures),
    }
    first = datetime(plan.first_day.year, plan.first_day.month, plan.first_day.day, tzinfo=UTC)
    with_clause = ",\n  ".join(f"{value} AS {name}" for name, value in arrays.items())
    clock = sql_literal(plan.clock)
    # Stages as nested subqueries: each adds the columns the next one reads.
    return f"""
WITH
  {with_clause}
SELECT *,
  -- the end: processed (late ones past the due date, with the supplement time on top),
  -- unless refused, withdrawn, or waiting for the applicant's supplement
  if(refused OR withdrawn OR paused_since IS NOT NULL, NULL,
     addSeconds(received_at, toInt64(budget * if({_u(10)} < 0.08, 1.3, 0.2 + 0.75 * {_u(11)}))
                + paused_seconds)) AS processed_raw,
  if(processed_raw > {clock}, NULL, processed_raw) AS processed_at,
  if(processed_at IS NULL, NULL,
     if(addSeconds(processed_at, toInt64(14400 * {_u(12)})) > {clock}, NULL,
        addSeconds(processed_at, toInt64(14400 * {_u(12)})))) AS returned_at,
  if(returned_at IS NOT NULL AND {_u(13)} < 0.35,
     if(addSeconds(returned_at, 3600) > {clock}, NULL, addSeconds(returned_at, 3600)),
     NULL) AS rated_at,
  {_u(14)} < 0.05 AS dissatisfied,
  {_u(15)} < 0.95 AS result_electronic,
  {_u(16)} < 0.3 AS pushed_to_data_store
FROM (
  SELECT *,
    if(withdrawn, addSeconds(received_at, toInt64(budget * 0.5)), NULL) AS withdrawn_at,
    if(supplement_requests >= 1, addSeconds(received_at, toInt64(budget * 0.3)), NULL)
      AS asked_at,
    if(supplement_requests = 1 AND {_u(9)} < 0.9,
       addSeconds(asked_at, 86400 + toInt64(5 * 86400 * {_u(17)})), NULL) AS answered_at,
    if(answered_at IS NULL, 0, dateDiff('second', asked_at, answered_at)) AS paused_seconds,
    multiIf(supplement_requests = 2, addSeconds(asked_at, 10800),
            supplement_requests = 1 AND answered_at IS NULL, asked_at,
            NULL) AS paused_since
  FROM (
    SELECT *,
      addSeconds(received_at, toInt64(days * 1.4 * 86400)) AS first_due_at,
      if(due_changed, addSeconds(first_due_at, 5 * 86400), first_due_at) AS due_at,
      dateDiff('second', received_at, due_at) AS budget,
      if(online_service != 'none' AND {_u(4)} < 0.65, 2, if({_u(5)} < 0.9, 1, 3)) AS channel,
      {_u(6)} < 0.03 AS refused,
      multiIf({_u(7)} < 0.02, 2, {_u(7)} < 0.10, 1, 0) AS supplement_requests,
      {_u(8)} < 0.03 AS due_changed,
      NOT refused AND {_u(18)} < 0.02 AS withdrawn,
      if({_u(19)} < 0.985, addSeconds(received_at, 300), NULL) AS synced_at,
      fee > 0 AND channel = 2 AND {_u(20)} < 0.85 AS paid_online,
      if({_u(21)} < 0.97, 3, 0) AS digitized_components,
      if(digitized_components > 0 AND {_u(22)} < 0.8, 1 + cityHash64(number, 23) % 3, 0)
        AS reused_components,
      if(digitized_components > 0 AND {_u(24)} < 0.4, 1, 0) AS data_store_components,
      {_u(25)} < 0.5 AS population_data_used,
      {_u(26)} < 0.01 AS complaint
    FROM (
      SELECT *,
        _codes[procedure_index] AS procedure,
        _days[procedure_index] AS days,
        _online[procedure_index] AS online_service,
        _fee[procedure_index] AS fee,
        _full_eligible[procedure_index] = 1 AS full_online_eligible,
        _returns_doc[procedure_index] = 1 AS returns_result_document,
        concat(unit, '-', formatDateTime(received_at, '%y%m%d'), '-',
               leftPad(toString(number), 8, '0')) AS code
      FROM (
        SELECT number,
          _slots[slot] AS unit,
          if(_commune[slot] = 1,
             _commune_procs[1 + cityHash64(number, 2) % length(_commune_procs)],
             _province_procs[1 + cityHash64(number, 2) % length(_province_procs)])
            AS procedure_index,
          -- a working day (a weekend day moves to the Friday before), office hours in Vietnam
          toDate({sql_literal(plan.first_day)}) + cityHash64(number, 3) % {plan.days} AS day0,
          day0 - multiIf(toDayOfWeek(day0) = 6, 1, toDayOfWeek(day0) = 7, 2, 0) AS day,
          addSeconds(toDateTime(day, 'UTC'),
                     1800 + toInt64(32400 * {_u(27)})) AS received_at
        FROM (
          SELECT number, 1 + cityHash64(number, 1) % length(_slots) AS slot
          FROM numbers({plan.dossiers})
        )
        WHERE received_at >= {sql_literal(first)}
      )
    )
  )
)"""


def _dossier_facts_sql(plan: Plan) -> str:
    columns = {
        "code": "code",
        "unit": "unit",
        "procedure": "procedure",
        "counted": "NOT refused",
        "channel": "channel",
        "received_at": "received_at",
        "due_at": "due_at",
        "ended_at": "if(withdrawn, withdrawn_at, processed_at)",
        "withdrawn": "withdrawn",
        "supplement_requests": "supplement_requests",
        "paused_seconds": "paused_seconds",
        "supplement_seconds": "paused_seconds",  # no due date is re-set in this data
        "paused_since": "paused_since",
        "returned_at": "returned_at",
        "result_electronic": "returned_at IS NOT NULL AND result_electronic",
        "result_digitized": "false",
        "result_pushed_to_data_store": "returned_at IS NOT NULL AND pushed_to_data_store",
        "synced_at": "synced_at",
        "sync_due_at": "NULL",
        "fee": "fee",
        "paid_online": "paid_online",
        "digitized_components": "digitized_components",
        "reused_components": "reused_components",
        "data_store_components": "data_store_components",
        "population_data_used": "population_data_used",
        "dissatisfied": "rated_at IS NOT NULL AND dissatisfied",
        "complaint": "returned_at IS NOT NULL AND complaint",
        "online_service": "online_service",
        "full_online_eligible": "full_online_eligible",
        "returns_result_document": "returns_result_document",
        # when each thing happened (migration 7), as the fold of the raw events below has it
        "refused_at": "if(refused, addSeconds(received_at, 3600), NULL)",
        "withdrawn_at": "withdrawn_at",
        "due_changed_at": "if(due_changed, [received_at, addSeconds(received_at, 10800)],"
        " [received_at])",
        "due_values": "if(due_changed, [first_due_at, due_at], [first_due_at])",
        "supplement_requested_at": "multiIf(supplement_requests = 2,"
        " [assumeNotNull(asked_at), addSeconds(assumeNotNull(asked_at), 10800)],"
        " supplement_requests = 1, [assumeNotNull(asked_at)], [])",
        "supplement_answered_at": "CAST(multiIf(supplement_requests = 2, [NULL, NULL],"
        " supplement_requests = 1, [answered_at], []), 'Array(Nullable(DateTime))')",
        "supplement_due_reset": "arrayResize(CAST([], 'Array(Bool)'), supplement_requests)",
        "fee_changed_at": "if(fee > 0, [received_at], [])",
        "fee_values": "if(fee > 0, [toInt64(fee)], CAST([], 'Array(Int64)'))",
        "paid_online_at": "if(paid_online, addSeconds(received_at, 7200), NULL)",
        "result_electronic_at": "if(result_electronic, returned_at, NULL)",
        "result_pushed_at": "if(pushed_to_data_store, returned_at, NULL)",
        "result_digitized_at": "NULL",
        "digitized_at": "if(digitized_components > 0, addSeconds(received_at, 600), NULL)",
        "reused_at": "if(reused_components > 0, addSeconds(received_at, 600), NULL)",
        "data_store_at": "if(data_store_components > 0, addSeconds(received_at, 600), NULL)",
        "identity_verified_at": "if(population_data_used, received_at, NULL)",
        "rated_at": "if(rated_at IS NULL, [], [assumeNotNull(rated_at)])",
        "rated_dissatisfied": "if(rated_at IS NULL, CAST([], 'Array(Bool)'), [dissatisfied])",
        "complaint_at": "if(returned_at IS NOT NULL AND complaint, returned_at, NULL)",
        "version": "1",
    }
    names = ", ".join(f"`{c}`" for c in columns)
    # positional, without aliases: an alias named like a plan column would shadow it
    values = ",\n  ".join(columns.values())
    return (
        f"INSERT INTO {TABLES.dossier} ({names})\n"
        f"SELECT\n  {values}\nFROM ({plan_sql(plan)})\nSETTINGS max_threads = 2, "
        "max_insert_threads = 2"
    )


def raw_events_table_sql() -> str:
    """The naive integrator's table: every event as it came, nothing derived."""
    return f"""CREATE TABLE IF NOT EXISTS {RAW_EVENTS_TABLE}
(
    event_id String,
    source LowCardinality(String),
    type LowCardinality(String),
    subject String,
    unit String,
    event_time DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC'),
    payload String
)
ENGINE = MergeTree
ORDER BY (subject, event_time)"""


def _iso(column: str) -> str:
    return f"formatDateTime({column}, '%Y-%m-%dT%H:%i:%SZ')"


def _json(**fields: str) -> str:
    """SQL building a JSON object from SQL expressions that give each value's JSON text."""
    pieces = []
    for i, (name, value) in enumerate(fields.items()):
        pieces += [sql_literal(("{" if i == 0 else ",") + f'"{name}":'), value]
    return "concat(" + ", ".join([*pieces, "'}'"]) + ")"


def _text(expr: str) -> str:
    return f"concat('\"', {expr}, '\"')"


def _time(column: str) -> str:
    return _text(_iso(f"ifNull({column}, toDateTime(0, 'UTC'))"))


def _flag(expr: str) -> str:
    return f"if({expr}, 'true', 'false')"


def _raw_events_sql(plan: Plan) -> str:
    def event(fact: str, at: str, payload: str, unit: str = "''") -> str:
        return (
            f"tuple({at} IS NOT NULL, '{EVENT_TYPE.format(fact)}', {unit}, "
            f"ifNull({at}, toDateTime(0, 'UTC')), {payload})"
        )

    refused_at = "if(refused, addSeconds(received_at, 3600), NULL)"
    second_ask = "if(supplement_requests = 2, addSeconds(asked_at, 10800), NULL)"
    changed_at = "if(due_changed, addSeconds(received_at, 10800), NULL)"
    events = [
        event(
            "received",
            "received_at",
            _json(
                unit=_text("unit"),
                procedure=_text("procedure"),
                channel="toString(channel)",
                received_at=_time("received_at"),
                due_at=_time("first_due_at"),
            ),
            "unit",
        ),
        event("refused", refused_at, _json(at=_time(refused_at))),
        event("synced_to_portal", "synced_at", _json(at=_time("synced_at"))),
        event("supplement_requested", "asked_at", _json(at=_time("asked_at"))),
        event("supplement_requested", second_ask, _json(at=_time(second_ask))),
        event("supplement_received", "answered_at", _json(at=_time("answered_at"))),
        event("due_date_changed", changed_at, _json(at=_time(changed_at), due_at=_time("due_at"))),
        event("withdrawn", "withdrawn_at", _json(at=_time("withdrawn_at"))),
        event("processed", "processed_at", _json(at=_time("processed_at"))),
        event(
            "result_returned",
            "returned_at",
            _json(
                at=_time("returned_at"),
                electronic=_flag("result_electronic"),
                pushed_to_data_store=_flag("pushed_to_data_store"),
            ),
        ),
        event(
            "rated", "rated_at", _json(at=_time("rated_at"), satisfied=_flag("NOT dissatisfied"))
        ),
    ]
    listed = ",\n  ".join(events)
    # positional, without aliases: an alias named like a plan column would shadow it
    return f"""INSERT INTO {RAW_EVENTS_TABLE}
SELECT
  concat(code, '/', splitByChar('.', e.2)[4], '/', toString(toUnixTimestamp(e.4))),
  'mot-cua',
  e.2,
  code,
  e.3,
  e.4,
  e.4,
  e.5
FROM ({plan_sql(plan)})
ARRAY JOIN arrayFilter(x -> x.1, [
  {listed}
]) AS e
SETTINGS max_threads = 2, max_insert_threads = 2"""


def _procedure_rows(plan: Plan) -> list[VersionedFacts]:
    rng = random.Random(plan.dossiers)
    announced = plan.first_day - timedelta(days=40)
    rows = []
    for p in plan.procedures:
        published = rng.random() < 0.9
        rows.append(
            VersionedFacts(
                ProcedureFacts(
                    code=p.code,
                    announcing_unit="75",
                    configured=True,
                    authority_levels=[p.level.value],
                    online_service=p.online.value,
                    full_online_eligible=p.full_online_eligible,
                    fee_bearing=p.fee > 0,
                    payment_integrated=p.fee > 0 and rng.random() < 0.85,
                    for_individuals=rng.random() < 0.7,
                    uses_population_data=rng.random() < 0.6,
                    first_announced_on=announced,
                    first_late_decision_on=announced if rng.random() < 0.2 else None,
                    publish_due_on=announced + timedelta(days=7),
                    first_published_on=(
                        day := announced + timedelta(days=rng.choice([1, 3, 5, 12]))
                    )
                    if published
                    else None,
                    components_complete=(complete := rng.random() < 0.85),
                    published_on=[day] if published else [],
                    published_complete=[complete] if published else [],
                ),
                1,
            )
        )
    return rows


def _commune_rows(tree: UnitTree, plan: Plan) -> list[VersionedFacts]:
    rng = random.Random(plan.dossiers + 1)
    rows = []
    for commune in tree.units_at_level(UnitLevel.commune):
        offered = rng.random() < 0.9
        first_copy = datetime(plan.first_day.year, 1, 1, 3, tzinfo=UTC) + timedelta(
            days=rng.randrange(200)
        )
        rows.append(
            VersionedFacts(
                CommuneFacts(
                    code=commune.code,
                    certified_copy_offered_since=plan.first_day - timedelta(days=30)
                    if offered
                    else None,
                    first_certified_copy_at=first_copy if offered and rng.random() < 0.8 else None,
                ),
                1,
            )
        )
    return rows


def _feedback_sql(plan: Plan, tree: UnitTree) -> str:
    units = [u.code for u in tree.current_units() if u.level is not UnitLevel.province]
    count = max(1, plan.dossiers // 200)
    first = datetime(plan.first_day.year, plan.first_day.month, plan.first_day.day, tzinfo=UTC)
    # ratings (arrays) are left empty: the data is for timing, and an array built here
    # trips chDB's insert through the Distributed table
    return f"""INSERT INTO {TABLES.feedback} (code, unit, received_at, classified, decided_at,
  decide_due_at, info_requested_at, info_request_due_at, ended_at, handle_due_at, dissatisfied,
  complained_again, classified_at, complained_again_at, version)
SELECT
  concat('PAKN-', unit, '-', leftPad(toString(number), 8, '0')) AS code,
  unit,
  received_at,
  {_u(2)} < 0.8 AS classified,
  addSeconds(received_at, toInt64(86400 * (1 + 3 * {_u(3)}))) AS decided_at,
  addSeconds(received_at, 3 * 86400) AS decide_due_at,
  NULL AS info_requested_at,
  addSeconds(received_at, 5 * 86400) AS info_request_due_at,
  if(addSeconds(received_at, toInt64(86400 * 28 * {_u(4)})) > {sql_literal(plan.clock)}, NULL,
     addSeconds(received_at, toInt64(86400 * 28 * {_u(4)}))) AS ended_at,
  addSeconds(received_at, 14 * 86400) AS handle_due_at,
  {_u(5)} < 0.1 AS dissatisfied,
  {_u(6)} < 0.05 AS complained_again,
  if(classified, addSeconds(received_at, 3600), NULL) AS classified_at,
  if(complained_again AND ended_at IS NOT NULL, ended_at, NULL) AS complained_again_at,
  1 AS version
FROM (
  SELECT number,
    {sql_literal(units)}[1 + cityHash64(number, 1) % {len(units)}] AS unit,
    addSeconds({sql_literal(first)}, toInt64({plan.days} * 86400 * {_u(7)})) AS received_at
  FROM numbers({count})
)"""


@dataclass(frozen=True)
class Built:
    dossiers: int
    raw_events: int
    facts_seconds: float
    raw_seconds: float


def build(
    client: Client,
    tree: UnitTree,
    dossiers: int,
    *,
    raw: bool = True,
    seed: int = 766,
    layout: Layout = SINGLE_NODE,
) -> Built:
    """Create the schema and fill it with `dossiers` dossiers (and their raw events)."""
    import time

    migrate(client, layout)
    plan = make_plan(tree, dossiers, seed=seed)
    started = time.perf_counter()
    insert_facts(
        client,
        {Subject.procedure: _procedure_rows(plan), Subject.commune: _commune_rows(tree, plan)},
    )
    client.command(_feedback_sql(plan, tree))
    client.command(_dossier_facts_sql(plan))
    facts_seconds = time.perf_counter() - started
    raw_events = 0
    raw_seconds = 0.0
    if raw:
        started = time.perf_counter()
        client.command(raw_events_table_sql())
        client.command(_raw_events_sql(plan))
        raw_seconds = time.perf_counter() - started
        raw_events = int(client.command(f"SELECT count() FROM {RAW_EVENTS_TABLE}"))
    count = int(client.command(f"SELECT count() FROM {TABLES.dossier}"))
    return Built(count, raw_events, facts_seconds, raw_seconds)
