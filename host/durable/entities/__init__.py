"""Durable entities: ids, request messages, scheduler state, batches and their runner."""
