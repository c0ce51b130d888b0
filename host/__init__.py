"""funchost: a pure-Python local host for Azure Functions apps that use Durable Functions."""

__version__ = "0.1.0"
