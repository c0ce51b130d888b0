"""Read-only views of a task hub for the dashboard and the admin endpoints (typed, no HTML).

``instances.py`` (the listing: filters, counts per status, pages by last update), ``entities.py``
(entities with state), ``health.py`` (partition leases, hosts, queue depths, stuck instances),
``snapshot.py`` (the listing's rows kept between polls, refreshed with what changed),
``inspector.py`` (:class:`HubInspector`: all of them bound to one hub).
"""
