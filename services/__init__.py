"""The services around the domain package: ingest, aggregator, API."""
