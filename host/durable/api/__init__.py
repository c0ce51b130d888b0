"""The durable client binding and the HTTP API under /runtime/webhooks/durabletask."""
