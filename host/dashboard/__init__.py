"""The built-in dashboard: instances, one instance's timeline and actions, entities, task hub, functions.

Served by the host at ``/dashboard`` (:mod:`host.dashboard.component`), or standalone straight
from a task hub (``python -m host dashboard``, :mod:`host.dashboard.cli`). It reads and acts only
through :class:`host.durable.management.Management`, never through the engine.
"""
