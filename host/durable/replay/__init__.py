"""The pure replay core: history events, the SDK's orchestrator handle, one episode at a time."""
