"""The aggregator: folds events per entity and keeps the facts tables of ClickHouse current."""
