"""The one exception hierarchy of the host.

Every error the host raises on purpose derives from :class:`HostError`; its message is
written for the person running the app (one line, naming the file, setting or resource).
"""

from __future__ import annotations


class HostError(Exception):
    """Base class of every error the host raises on purpose."""


class ConfigError(HostError):
    """host.json, local.settings.json, an app setting or a CLI option is invalid."""


class IndexingError(HostError):
    """The function app could not be indexed (syntax/import error, bad binding, duplicate name)."""


class StorageError(HostError):
    """A storage operation failed in a way the caller cannot handle locally."""


class StorageUnreachableError(StorageError):
    """The storage account (or Azurite) does not answer."""


class StorageBusyError(StorageError):
    """The storage service answered with a transient failure (408, 429, 500, 502, 503, 504) that
    outlasted the retries."""


class StorageAuthError(StorageError):
    """No credential could be obtained for an identity-based connection, or the storage account
    refused the request's credential (HTTP 401/403): retrying cannot succeed."""


class StorageCredentialError(StorageAuthError):
    """An identity-based connection has no usable token: its credential failed, or the token it
    gave is for another audience or already expired (the message names the setting)."""


class NotFoundError(StorageError):
    """A queue message, table entity, blob or container does not exist."""


class InvalidRequestError(StorageError):
    """The storage service refused a request as invalid (HTTP 400/413: a value or entity too large,
    a bad key): retrying the same request cannot succeed."""


class ConflictError(StorageError):
    """An entity or resource already exists (HTTP 409)."""


class PreconditionFailedError(StorageError):
    """An eTag or lease precondition did not hold (HTTP 412): somebody else wrote first."""


class AzuriteError(HostError):
    """Azurite could not be found, started or reached."""


class DurableError(HostError):
    """Base class of errors of the durable engine and client."""


class InstanceNotFoundError(DurableError):
    """No orchestration or entity instance has the given id."""


class InstanceAlreadyExistsError(DurableError):
    """An orchestration with that id is already running (or pending)."""


class InvalidInstanceStateError(DurableError):
    """The operation is not allowed in the instance's current state."""


class InvocationError(HostError):
    """A user function could not be invoked (bad arguments, unknown function)."""


class BindingInputError(InvocationError):
    """A binding expression resolved to a value the binding refuses (a blob path leaving its
    container): the request's input is bad, not the function (an HTTP trigger answers 400)."""
