"""What the durable HTTP API needs: the :class:`~host.durable.management.Management` of a task hub.

A :class:`BackendResolver` picks the management of a ``taskHub``/``connection`` pair (a binding or a
query string may name a second hub or a second storage account). The host's implementation is
:class:`host.durable.api.resolver.ManagementResolver`; tests and the CLI pass a resolver fixed on
one hub, hence the protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from host.errors import DurableError

if TYPE_CHECKING:
    from host.durable.management import Management


class TaskHubNotFoundError(DurableError):
    """A request names a task hub that does not exist (and would not create it): 404."""


class BackendResolver(Protocol):
    """The management of a task hub and connection (``None`` = the host's defaults).

    Only with ``create`` (starting an orchestration, signalling an entity) may a hub that does not
    exist yet be created; otherwise that is :class:`TaskHubNotFoundError`.
    """

    async def __call__(
        self, task_hub: str | None, connection: str | None, *, create: bool = False
    ) -> Management: ...
