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
