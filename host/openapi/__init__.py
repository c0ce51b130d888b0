"""The OpenAPI 3.1 document of the host's HTTP API (Durable HTTP API and admin endpoints)."""
