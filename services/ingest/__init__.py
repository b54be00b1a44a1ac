"""The ingest service: integrations POST CloudEvents; validated, authenticated, published to Kafka.

parse (bytes → JSON → domain event) → check (unit, procedure, scope, clock, duplicate)
→ publish (kafka-python, acks=all, idempotent) → answer (202 only once Kafka has it).
The app factory is ``services.ingest.app.create_app``.
"""
