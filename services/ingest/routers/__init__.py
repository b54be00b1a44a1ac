"""HTTP routes of the ingest, one module per resource."""
