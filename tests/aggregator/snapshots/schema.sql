CREATE TABLE IF NOT EXISTS schema_migrations
(
    `version` UInt32,
    `name` String,
    `applied_at` DateTime('UTC')
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version;

-- migration 1: facts tables

CREATE TABLE IF NOT EXISTS dossier_facts
(
    `code` String,
    `unit` String,
    `procedure` String,
    `counted` Bool,
    `channel` Int64,
    `received_at` DateTime('UTC'),
    `due_at` Nullable(DateTime('UTC')),
    `ended_at` Nullable(DateTime('UTC')),
    `withdrawn` Bool,
    `supplement_requests` Int64,
    `paused_seconds` Int64,
    `paused_since` Nullable(DateTime('UTC')),
    `returned_at` Nullable(DateTime('UTC')),
    `result_electronic` Bool,
    `result_digitized` Bool,
    `result_pushed_to_data_store` Bool,
    `synced_at` Nullable(DateTime('UTC')),
    `sync_due_at` Nullable(DateTime('UTC')),
    `fee` Int64,
    `paid_online` Bool,
    `digitized_components` Int64,
    `reused_components` Int64,
    `data_store_components` Int64,
    `population_data_used` Bool,
    `dissatisfied` Bool,
    `complaint` Bool,
    `online_service` String,
    `full_online_eligible` Bool,
    `returns_result_document` Bool,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY code;

CREATE TABLE IF NOT EXISTS feedback_facts
(
    `code` String,
    `unit` String,
    `received_at` DateTime('UTC'),
    `classified` Bool,
    `decided_at` Nullable(DateTime('UTC')),
    `decide_due_at` DateTime('UTC'),
    `info_requested_at` Nullable(DateTime('UTC')),
    `info_request_due_at` DateTime('UTC'),
    `ended_at` Nullable(DateTime('UTC')),
    `handle_due_at` DateTime('UTC'),
    `dissatisfied` Bool,
    `complained_again` Bool,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY code;

CREATE TABLE IF NOT EXISTS procedure_facts
(
    `code` String,
    `announcing_unit` String,
    `configured` Bool,
    `authority_levels` Array(String),
    `online_service` String,
    `full_online_eligible` Bool,
    `fee_bearing` Bool,
    `payment_integrated` Bool,
    `for_individuals` Bool,
    `uses_population_data` Bool,
    `first_announced_on` Nullable(Date),
    `announced_late` Bool,
    `publish_due_on` Nullable(Date),
    `first_published_on` Nullable(Date),
    `components_complete` Bool,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY code;

CREATE TABLE IF NOT EXISTS commune_facts
(
    `code` String,
    `certified_copy_offered_since` Nullable(Date),
    `first_certified_copy_at` Nullable(DateTime('UTC')),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY code;

-- migration 2: score snapshots

CREATE TABLE IF NOT EXISTS unit_scores
(
    `period` String,
    `period_kind` LowCardinality(String),
    `period_start` Date,
    `period_end` Date,
    `unit` String,
    `indicator` String,
    `level` LowCardinality(String),
    `parent` String,
    `unit_name` String,
    `group_number` UInt8,
    `group_name_vi` String,
    `name_vi` String,
    `assessed` Bool,
    `numerator` Float64,
    `denominator` Int64,
    `rate` Nullable(Float64),
    `points` Float64,
    `max_points` Float64,
    `lost` Float64,
    `total` Float64,
    `grade_vi` LowCardinality(String),
    `cutoff` DateTime('UTC'),
    `computed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (period, unit, indicator);

CREATE TABLE IF NOT EXISTS unit_score_history
(
    `period` String,
    `period_kind` LowCardinality(String),
    `period_start` Date,
    `period_end` Date,
    `unit` String,
    `indicator` String,
    `level` LowCardinality(String),
    `parent` String,
    `unit_name` String,
    `group_number` UInt8,
    `group_name_vi` String,
    `name_vi` String,
    `assessed` Bool,
    `numerator` Float64,
    `denominator` Int64,
    `rate` Nullable(Float64),
    `points` Float64,
    `max_points` Float64,
    `lost` Float64,
    `total` Float64,
    `grade_vi` LowCardinality(String),
    `cutoff` DateTime('UTC'),
    `computed_at` DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (unit, indicator, period, computed_at)
PARTITION BY toYYYYMM(computed_at);

-- migration 3: rolling windows

CREATE TABLE IF NOT EXISTS unit_day_tallies
(
    `generation` UInt64,
    `unit` String,
    `day` Date,
    `measure` LowCardinality(String),
    `numerator` Float64,
    `denominator` Int64
)
ENGINE = MergeTree
ORDER BY (unit, day, measure)
PARTITION BY generation;

CREATE TABLE IF NOT EXISTS unit_day_procedure_sets
(
    `generation` UInt64,
    `unit` String,
    `day` Date,
    `set_name` LowCardinality(String),
    `procedure` String
)
ENGINE = MergeTree
ORDER BY (set_name, unit, day, procedure)
PARTITION BY generation;

CREATE TABLE IF NOT EXISTS window_generations
(
    `generation` UInt64,
    `cutoff` DateTime('UTC'),
    `computed_at` DateTime64(3, 'UTC'),
    `complete` Bool
)
ENGINE = MergeTree
ORDER BY complete
PARTITION BY generation;

-- migration 4: all supplement time, for 2.2

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `supplement_seconds` Int64 AFTER `paused_seconds`;

-- migration 5: the day of the first late decision, for 1.1

ALTER TABLE procedure_facts ADD COLUMN IF NOT EXISTS `first_late_decision_on` Nullable(Date) AFTER `first_announced_on`;

-- migration 6: events refused by the aggregator

CREATE TABLE IF NOT EXISTS rejections
(
    `integration` LowCardinality(String),
    `source` String,
    `id` String,
    `type` LowCardinality(String),
    `subject` String,
    `reason` LowCardinality(String),
    `detail` String,
    `event_time` DateTime64(3, 'UTC'),
    `rejected_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rejected_at)
ORDER BY (integration, source, id, reason);

-- migration 7: when each thing happened, for scores exact at any instant

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `refused_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `withdrawn_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `due_changed_at` Array(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `due_values` Array(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `supplement_requested_at` Array(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `supplement_answered_at` Array(Nullable(DateTime('UTC')));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `supplement_due_reset` Array(Bool);

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `fee_changed_at` Array(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `fee_values` Array(Int64);

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `paid_online_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `result_electronic_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `result_pushed_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `result_digitized_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `digitized_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `reused_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `data_store_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `identity_verified_at` Nullable(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `rated_at` Array(DateTime('UTC'));

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `rated_dissatisfied` Array(Bool);

ALTER TABLE dossier_facts ADD COLUMN IF NOT EXISTS `complaint_at` Nullable(DateTime('UTC'));

ALTER TABLE feedback_facts ADD COLUMN IF NOT EXISTS `classified_at` Nullable(DateTime('UTC'));

ALTER TABLE feedback_facts ADD COLUMN IF NOT EXISTS `rated_at` Array(DateTime('UTC'));

ALTER TABLE feedback_facts ADD COLUMN IF NOT EXISTS `rated_dissatisfied` Array(Bool);

ALTER TABLE feedback_facts ADD COLUMN IF NOT EXISTS `complained_again_at` Nullable(DateTime('UTC'));

-- migration 8: pipeline watermarks

CREATE TABLE IF NOT EXISTS pipeline_watermarks
(
    `group` String,
    `topic` String,
    `partition` UInt32,
    `committed` Int64,
    `log_end` Int64,
    `event_time` Nullable(DateTime64(3, 'UTC')),
    `updated_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (`group`, topic, partition);

-- migration 9: no total for a unit with nothing to judge; each publication, for 1.3 at any day

ALTER TABLE unit_scores MODIFY COLUMN `total` Nullable(Float64);

ALTER TABLE unit_score_history MODIFY COLUMN `total` Nullable(Float64);

ALTER TABLE procedure_facts ADD COLUMN IF NOT EXISTS `published_on` Array(Date);

ALTER TABLE procedure_facts ADD COLUMN IF NOT EXISTS `published_complete` Array(Bool);

-- migration 10: procedure names, from the catalogue; the components a publication lacks, for 1.3

ALTER TABLE procedure_facts ADD COLUMN IF NOT EXISTS `name` String;

ALTER TABLE procedure_facts ADD COLUMN IF NOT EXISTS `missing_components` Array(String);

-- migration 11: rolling windows kept by the aggregator: facts by unit and day, and their windows

CREATE TABLE IF NOT EXISTS dossier_facts_by_day
(
    `code` String,
    `unit` String,
    `procedure` String,
    `counted` Bool,
    `channel` Int64,
    `received_at` DateTime('UTC'),
    `due_at` Nullable(DateTime('UTC')),
    `ended_at` Nullable(DateTime('UTC')),
    `withdrawn` Bool,
    `supplement_requests` Int64,
    `paused_seconds` Int64,
    `supplement_seconds` Int64,
    `paused_since` Nullable(DateTime('UTC')),
    `returned_at` Nullable(DateTime('UTC')),
    `result_electronic` Bool,
    `result_digitized` Bool,
    `result_pushed_to_data_store` Bool,
    `synced_at` Nullable(DateTime('UTC')),
    `sync_due_at` Nullable(DateTime('UTC')),
    `fee` Int64,
    `paid_online` Bool,
    `digitized_components` Int64,
    `reused_components` Int64,
    `data_store_components` Int64,
    `population_data_used` Bool,
    `dissatisfied` Bool,
    `complaint` Bool,
    `online_service` String,
    `full_online_eligible` Bool,
    `returns_result_document` Bool,
    `refused_at` Nullable(DateTime('UTC')),
    `withdrawn_at` Nullable(DateTime('UTC')),
    `due_changed_at` Array(DateTime('UTC')),
    `due_values` Array(DateTime('UTC')),
    `supplement_requested_at` Array(DateTime('UTC')),
    `supplement_answered_at` Array(Nullable(DateTime('UTC'))),
    `supplement_due_reset` Array(Bool),
    `fee_changed_at` Array(DateTime('UTC')),
    `fee_values` Array(Int64),
    `paid_online_at` Nullable(DateTime('UTC')),
    `result_electronic_at` Nullable(DateTime('UTC')),
    `result_pushed_at` Nullable(DateTime('UTC')),
    `result_digitized_at` Nullable(DateTime('UTC')),
    `digitized_at` Nullable(DateTime('UTC')),
    `reused_at` Nullable(DateTime('UTC')),
    `data_store_at` Nullable(DateTime('UTC')),
    `identity_verified_at` Nullable(DateTime('UTC')),
    `rated_at` Array(DateTime('UTC')),
    `rated_dissatisfied` Array(Bool),
    `complaint_at` Nullable(DateTime('UTC')),
    `day` Date,
    `is_deleted` UInt8,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (unit, day, code);

CREATE TABLE IF NOT EXISTS feedback_facts_by_day
(
    `code` String,
    `unit` String,
    `received_at` DateTime('UTC'),
    `classified` Bool,
    `decided_at` Nullable(DateTime('UTC')),
    `decide_due_at` DateTime('UTC'),
    `info_requested_at` Nullable(DateTime('UTC')),
    `info_request_due_at` DateTime('UTC'),
    `ended_at` Nullable(DateTime('UTC')),
    `handle_due_at` DateTime('UTC'),
    `dissatisfied` Bool,
    `complained_again` Bool,
    `classified_at` Nullable(DateTime('UTC')),
    `rated_at` Array(DateTime('UTC')),
    `rated_dissatisfied` Array(Bool),
    `complained_again_at` Nullable(DateTime('UTC')),
    `day` Date,
    `is_deleted` UInt8,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (unit, day, code);

CREATE TABLE IF NOT EXISTS unit_day_windows
(
    `unit` String,
    `day` Date,
    `subject` LowCardinality(String),
    `version` UInt64,
    `judged_at` DateTime64(3, 'UTC'),
    `measure` Array(LowCardinality(String)),
    `numerator` Array(Float64),
    `denominator` Array(Int64),
    `month_numerator` Array(Float64),
    `month_denominator` Array(Int64),
    `quarter_numerator` Array(Float64),
    `quarter_denominator` Array(Int64),
    `year_numerator` Array(Float64),
    `year_denominator` Array(Int64),
    `change_measure` Array(LowCardinality(String)),
    `change_at` Array(DateTime64(3, 'UTC')),
    `change_numerator` Array(Float64),
    `change_denominator` Array(Int64),
    `set_name` Array(LowCardinality(String)),
    `set_procedure` Array(String),
    `set_since` Array(DateTime('UTC')),
    `set_until` Array(Nullable(DateTime('UTC')))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (unit, day, subject);

-- migration 12: the unit tree, for scores computed in SQL

CREATE TABLE IF NOT EXISTS unit_tree
(
    `unit` String,
    `ancestor` String,
    `name` String,
    `level` LowCardinality(String),
    `parent` String,
    `today` String,
    `today_level` LowCardinality(String),
    `written_at` DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (ancestor, unit);

-- migration 13: month rows of the windows, for a year read in twelve rows per unit

CREATE TABLE IF NOT EXISTS unit_month_windows
(
    `unit` String,
    `day` Date,
    `subject` LowCardinality(String),
    `version` UInt64,
    `judged_at` DateTime64(3, 'UTC'),
    `measure` Array(LowCardinality(String)),
    `numerator` Array(Float64),
    `denominator` Array(Int64),
    `month_numerator` Array(Float64),
    `month_denominator` Array(Int64),
    `quarter_numerator` Array(Float64),
    `quarter_denominator` Array(Int64),
    `year_numerator` Array(Float64),
    `year_denominator` Array(Int64),
    `change_measure` Array(LowCardinality(String)),
    `change_at` Array(DateTime64(3, 'UTC')),
    `change_numerator` Array(Float64),
    `change_denominator` Array(Int64),
    `set_name` Array(LowCardinality(String)),
    `set_procedure` Array(String),
    `set_since` Array(DateTime('UTC')),
    `set_until` Array(Nullable(DateTime('UTC')))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (unit, day, subject);

INSERT INTO unit_month_windows (unit, day, subject, version, judged_at, measure, numerator, denominator, month_numerator, month_denominator, quarter_numerator, quarter_denominator, year_numerator, year_denominator, change_measure, change_at, change_numerator, change_denominator, set_name, set_procedure, set_since, set_until)
SELECT unit, _month, 'dossier', toUnixTimestamp64Micro(now64(6)), _judged, ['dossiers_synced', 'dossiers_on_time', 'average_processing_days', 'dossiers_online', 'dossiers_full_online', 'dossiers_paid_online', 'dossiers_electronic_result', 'dossiers_digitized', 'dossiers_reusing_data', 'dossiers_data_store', 'dossiers_population_data', 'dossier_satisfaction'], _n, _d, _month_numerator, _month_denominator, _quarter_numerator, _quarter_denominator, _year_numerator, _year_denominator, arrayMap(_k -> arrayElement(['dossiers_synced', 'dossiers_on_time', 'average_processing_days', 'dossiers_online', 'dossiers_full_online', 'dossiers_paid_online', 'dossiers_electronic_result', 'dossiers_digitized', 'dossiers_reusing_data', 'dossiers_data_store', 'dossiers_population_data', 'dossier_satisfaction'], intDiv(_k, 4294967296) + 1), _sums.1), arrayMap(_k -> toDateTime64(_k % 4294967296, 3, 'UTC'), _sums.1), _sums.2, _sums.3, arrayMap(_e -> _e.1, _sets), arrayMap(_e -> _e.2, _sets), arrayMap(_e -> _e.3, _sets), arrayMap(_e -> _e.4, _sets)
FROM (SELECT *, CAST(arrayConcat(arrayMap((_k, _s) -> (_k.1, _k.2, _s, CAST(NULL, 'Nullable(DateTime(''UTC''))')), _open.1, _open.2), arrayFilter(_e -> NOT (indexOf(_open.1, (_e.1, _e.2)) > 0 AND _open.2[indexOf(_open.1, (_e.1, _e.2))] <= _e.3), _endings)), 'Array(Tuple(String, String, DateTime(\'UTC\'), Nullable(DateTime(\'UTC\'))))') AS _sets FROM (SELECT unit, _month, any(_j) AS _judged, sumForEach(_n) AS _n, sumForEach(_d) AS _d, sumForEach(_month_numerator) AS _month_numerator, sumForEach(_month_denominator) AS _month_denominator, sumForEach(_quarter_numerator) AS _quarter_numerator, sumForEach(_quarter_denominator) AS _quarter_denominator, sumForEach(_year_numerator) AS _year_numerator, sumForEach(_year_denominator) AS _year_denominator, sumMap(arrayMap(_c -> toUInt64(_c.1 - 1) * 4294967296 + toUInt64(toUInt32(toDateTime(_c.2))), _later), arrayMap(_c -> _c.3, _later), arrayMap(_c -> _c.4, _later)) AS _sums, minMap(_open_keys, _open_since) AS _open, arrayDistinct(groupArrayArray(_ending)) AS _endings
FROM (SELECT *, arrayMap(_e -> (_e.1, _e.2), arrayFilter(_e -> _e.4 IS NULL, _set_entries)) AS _open_keys, arrayMap(_e -> _e.3, arrayFilter(_e -> _e.4 IS NULL, _set_entries)) AS _open_since, arrayFilter(_e -> _e.4 IS NOT NULL, _set_entries) AS _ending FROM (SELECT *, arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _j, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx)) AS _n, arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _j, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx)) AS _d, if(_month_end < _j, if(_month_end < judged_at, arrayMap(_i -> if(_i = 0, 0, month_numerator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _month_end, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx))), []) AS _month_numerator, if(_month_end < _j, if(_month_end < judged_at, arrayMap(_i -> if(_i = 0, 0, month_denominator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _month_end, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx))), []) AS _month_denominator, if(_quarter_end < _j, if(_quarter_end < judged_at, arrayMap(_i -> if(_i = 0, 0, quarter_numerator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _quarter_end, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx))), []) AS _quarter_numerator, if(_quarter_end < _j, if(_quarter_end < judged_at, arrayMap(_i -> if(_i = 0, 0, quarter_denominator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _quarter_end, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx))), []) AS _quarter_denominator, if(_year_end < _j, if(_year_end < judged_at, arrayMap(_i -> if(_i = 0, 0, year_numerator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _year_end, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx))), []) AS _year_numerator, if(_year_end < _j, if(_year_end < judged_at, arrayMap(_i -> if(_i = 0, 0, year_denominator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _year_end, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx))), []) AS _year_denominator, arrayFilter(_c -> _c.1 > 0 AND _c.2 > _j, arrayMap((_cm, _ca, _cn, _cd) -> (indexOf(_keys, _cm), _ca, _cn, _cd), change_measure, change_at, change_numerator, change_denominator)) AS _later, CAST(arrayMap((_n, _p, _s, _u) -> (_n, _p, _s, _u), set_name, set_procedure, set_since, set_until), 'Array(Tuple(String, String, DateTime(\'UTC\'), Nullable(DateTime(\'UTC\'))))') AS _set_entries FROM (SELECT *, max(judged_at) OVER (PARTITION BY unit, _month) AS _j, ['dossiers_synced', 'dossiers_on_time', 'average_processing_days', 'dossiers_online', 'dossiers_full_online', 'dossiers_paid_online', 'dossiers_electronic_result', 'dossiers_digitized', 'dossiers_reusing_data', 'dossiers_data_store', 'dossiers_population_data', 'dossier_satisfaction'] AS _keys, arrayMap(_k -> indexOf(measure, _k), _keys) AS _idx, (toDateTime(addMonths(toStartOfMonth(day), 1), 'Asia/Ho_Chi_Minh') - 1) AS _month_end, (toDateTime(addMonths(toStartOfQuarter(day), 3), 'Asia/Ho_Chi_Minh') - 1) AS _quarter_end, (toDateTime(addMonths(toStartOfYear(day), 12), 'Asia/Ho_Chi_Minh') - 1) AS _year_end FROM (SELECT *, toStartOfMonth(day) AS _month FROM unit_day_windows FINAL WHERE subject = 'dossier'))))
GROUP BY unit, _month));

INSERT INTO unit_month_windows (unit, day, subject, version, judged_at, measure, numerator, denominator, month_numerator, month_denominator, quarter_numerator, quarter_denominator, year_numerator, year_denominator, change_measure, change_at, change_numerator, change_denominator, set_name, set_procedure, set_since, set_until)
SELECT unit, _month, 'feedback', toUnixTimestamp64Micro(now64(6)), _judged, ['feedback_classified', 'feedback_on_time', 'feedback_satisfaction'], _n, _d, _month_numerator, _month_denominator, _quarter_numerator, _quarter_denominator, _year_numerator, _year_denominator, arrayMap(_k -> arrayElement(['feedback_classified', 'feedback_on_time', 'feedback_satisfaction'], intDiv(_k, 4294967296) + 1), _sums.1), arrayMap(_k -> toDateTime64(_k % 4294967296, 3, 'UTC'), _sums.1), _sums.2, _sums.3, arrayMap(_e -> _e.1, _sets), arrayMap(_e -> _e.2, _sets), arrayMap(_e -> _e.3, _sets), arrayMap(_e -> _e.4, _sets)
FROM (SELECT *, CAST(arrayConcat(arrayMap((_k, _s) -> (_k.1, _k.2, _s, CAST(NULL, 'Nullable(DateTime(''UTC''))')), _open.1, _open.2), arrayFilter(_e -> NOT (indexOf(_open.1, (_e.1, _e.2)) > 0 AND _open.2[indexOf(_open.1, (_e.1, _e.2))] <= _e.3), _endings)), 'Array(Tuple(String, String, DateTime(\'UTC\'), Nullable(DateTime(\'UTC\'))))') AS _sets FROM (SELECT unit, _month, any(_j) AS _judged, sumForEach(_n) AS _n, sumForEach(_d) AS _d, sumForEach(_month_numerator) AS _month_numerator, sumForEach(_month_denominator) AS _month_denominator, sumForEach(_quarter_numerator) AS _quarter_numerator, sumForEach(_quarter_denominator) AS _quarter_denominator, sumForEach(_year_numerator) AS _year_numerator, sumForEach(_year_denominator) AS _year_denominator, sumMap(arrayMap(_c -> toUInt64(_c.1 - 1) * 4294967296 + toUInt64(toUInt32(toDateTime(_c.2))), _later), arrayMap(_c -> _c.3, _later), arrayMap(_c -> _c.4, _later)) AS _sums, minMap(_open_keys, _open_since) AS _open, arrayDistinct(groupArrayArray(_ending)) AS _endings
FROM (SELECT *, arrayMap(_e -> (_e.1, _e.2), arrayFilter(_e -> _e.4 IS NULL, _set_entries)) AS _open_keys, arrayMap(_e -> _e.3, arrayFilter(_e -> _e.4 IS NULL, _set_entries)) AS _open_since, arrayFilter(_e -> _e.4 IS NOT NULL, _set_entries) AS _ending FROM (SELECT *, arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _j, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx)) AS _n, arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _j, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx)) AS _d, if(_month_end < _j, if(_month_end < judged_at, arrayMap(_i -> if(_i = 0, 0, month_numerator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _month_end, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx))), []) AS _month_numerator, if(_month_end < _j, if(_month_end < judged_at, arrayMap(_i -> if(_i = 0, 0, month_denominator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _month_end, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx))), []) AS _month_denominator, if(_quarter_end < _j, if(_quarter_end < judged_at, arrayMap(_i -> if(_i = 0, 0, quarter_numerator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _quarter_end, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx))), []) AS _quarter_numerator, if(_quarter_end < _j, if(_quarter_end < judged_at, arrayMap(_i -> if(_i = 0, 0, quarter_denominator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _quarter_end, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx))), []) AS _quarter_denominator, if(_year_end < _j, if(_year_end < judged_at, arrayMap(_i -> if(_i = 0, 0, year_numerator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _year_end, _cv, 0), change_measure, change_at, change_numerator)), _keys, arrayMap(_i -> if(_i = 0, 0, numerator[_i]), _idx))), []) AS _year_numerator, if(_year_end < _j, if(_year_end < judged_at, arrayMap(_i -> if(_i = 0, 0, year_denominator[_i]), _idx), arrayMap((_k, _t) -> _t + arraySum(arrayMap((_cm, _ca, _cv) -> if(_cm = _k AND _ca <= _year_end, _cv, 0), change_measure, change_at, change_denominator)), _keys, arrayMap(_i -> if(_i = 0, 0, denominator[_i]), _idx))), []) AS _year_denominator, arrayFilter(_c -> _c.1 > 0 AND _c.2 > _j, arrayMap((_cm, _ca, _cn, _cd) -> (indexOf(_keys, _cm), _ca, _cn, _cd), change_measure, change_at, change_numerator, change_denominator)) AS _later, CAST(arrayMap((_n, _p, _s, _u) -> (_n, _p, _s, _u), set_name, set_procedure, set_since, set_until), 'Array(Tuple(String, String, DateTime(\'UTC\'), Nullable(DateTime(\'UTC\'))))') AS _set_entries FROM (SELECT *, max(judged_at) OVER (PARTITION BY unit, _month) AS _j, ['feedback_classified', 'feedback_on_time', 'feedback_satisfaction'] AS _keys, arrayMap(_k -> indexOf(measure, _k), _keys) AS _idx, (toDateTime(addMonths(toStartOfMonth(day), 1), 'Asia/Ho_Chi_Minh') - 1) AS _month_end, (toDateTime(addMonths(toStartOfQuarter(day), 3), 'Asia/Ho_Chi_Minh') - 1) AS _quarter_end, (toDateTime(addMonths(toStartOfYear(day), 12), 'Asia/Ho_Chi_Minh') - 1) AS _year_end FROM (SELECT *, toStartOfMonth(day) AS _month FROM unit_day_windows FINAL WHERE subject = 'feedback'))))
GROUP BY unit, _month));
