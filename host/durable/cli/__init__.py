"""`python -m host durable ...`: manage instances against a running host or a task hub."""
