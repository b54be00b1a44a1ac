"""What every indicator counts: a numerator and a denominator over fact rows, declared once.

A measure names the facts it counts (dossiers, feedback, procedures, communes), which rows form
its denominator, which of those are good (its numerator), and which column places a row in a
period. The same declaration is evaluated in Python (the reference) and compiled to ClickHouse
SQL (the aggregator and the API), so the two cannot drift apart.

- `catalog`: the measures (`MEASURES`), the expressions they share, the dossier sets;
- `evaluation`: scopes, and the reference count in Python (`tally`);
- `queries`: the same counts in ClickHouse SQL, for one scope, many, or many periods.

The rolling windows the aggregator keeps are compiled from the same measures in `tthc.windows`.

Everything public is importable from `tthc.measures`.
"""

from tthc.facts import Subject
from tthc.measures.catalog import (
    ANNOUNCED,
    ANNOUNCED_WORDS,
    CLOCK_END,
    COUNTED,
    COUNTED_WORDS,
    CUTOFF,
    CUTOFF_DATE,
    DISSATISFIED,
    DOSSIER_ON_TIME,
    DOSSIER_ON_TIME_WORDS,
    DOSSIER_SETS,
    DUE,
    EFFECTIVE_DUE,
    FEEDBACK_ON_TIME,
    FEEDBACK_ON_TIME_WORDS,
    LEVELS,
    MEASURES,
    ON_TIME_RULES,
    ONLINE_SERVICE,
    PAUSED_SINCE,
    SUPPLEMENT_REQUESTS,
    UNDER_AUTHORITY,
    UNDER_AUTHORITY_WORDS,
    Measure,
    as_of_cutoff,
    by_cutoff,
    on_or_before,
)
from tthc.measures.evaluation import (
    FactTables,
    Scope,
    Tally,
    in_scope,
    reference_env,
    tally,
    tally_by_procedure,
)
from tthc.measures.queries import (
    GroupedQuery,
    TableNames,
    bucketed_sql,
    by_procedure_sql,
    grouped_sql,
    rollup,
    scope_sql,
    settings_sql,
    source_sql,
    sql_env,
    subject_sql,
)

__all__ = [
    "ANNOUNCED",
    "ANNOUNCED_WORDS",
    "CLOCK_END",
    "COUNTED",
    "COUNTED_WORDS",
    "CUTOFF",
    "CUTOFF_DATE",
    "DISSATISFIED",
    "DOSSIER_ON_TIME",
    "DOSSIER_ON_TIME_WORDS",
    "DOSSIER_SETS",
    "DUE",
    "EFFECTIVE_DUE",
    "FEEDBACK_ON_TIME",
    "FEEDBACK_ON_TIME_WORDS",
    "LEVELS",
    "MEASURES",
    "ON_TIME_RULES",
    "ONLINE_SERVICE",
    "PAUSED_SINCE",
    "SUPPLEMENT_REQUESTS",
    "UNDER_AUTHORITY",
    "UNDER_AUTHORITY_WORDS",
    "FactTables",
    "GroupedQuery",
    "Measure",
    "Scope",
    "Subject",
    "TableNames",
    "Tally",
    "as_of_cutoff",
    "bucketed_sql",
    "by_cutoff",
    "by_procedure_sql",
    "grouped_sql",
    "in_scope",
    "on_or_before",
    "reference_env",
    "rollup",
    "scope_sql",
    "settings_sql",
    "source_sql",
    "sql_env",
    "subject_sql",
    "tally",
    "tally_by_procedure",
]
