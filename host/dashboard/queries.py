"""The instance list's query string, read into the task hub inspector's filter.

The list pages by keyset tokens (:class:`host.durable.inspect.inspector.HubInspector`):
``after`` carries the token of the next page, ``page`` only numbers it for the reader. A bad
value raises :class:`BadFilter` with a sentence naming it, shown instead of the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from host.durable.api.limits import MAX_KEY_BYTES, key_bytes
from host.durable.inspect.inspector import HubInspector
from host.durable.inspect.instances import InstanceFilter, InstancePage, ListingTokenError
from host.durable.replay.history import parse_timestamp
from host.durable.taskhub.rows import RUNTIME_STATUS_NAMES
from host.errors import DurableError

PAGE_SIZE = 50
STATUSES: tuple[str, ...] = tuple(s for s in RUNTIME_STATUS_NAMES if s != "ContinuedAsNew")
"""The statuses the list counts and filters by (in DTFx order)."""


class BadParameter(DurableError):
    """A query parameter or form field is missing or malformed (answered with 400)."""


class BadFilter(BadParameter):
    """A filter value of the instance list is not understood."""


def instance_id_param(value: str | None) -> str:
    """The instance id an ``id`` parameter names; :class:`BadParameter` when it is missing, blank
    or longer than any instance id can be (a table key of at most 1 KiB)."""
    if value is None or not value.strip():
        raise BadParameter("the instance id (parameter 'id') is missing")
    if key_bytes(value) > MAX_KEY_BYTES:
        raise BadParameter(
            f"the instance id (parameter 'id') is {len(value)} characters long: "
            f"no instance id is longer than a {MAX_KEY_BYTES}-byte table key"
        )
    return value


def _time(params: Mapping[str, str], key: str, label: str) -> datetime | None:
    text = (params.get(key) or "").strip()
    if not text:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        raise BadFilter(f"{label} '{text[:40]}' is not a date and time (e.g. 2026-12-06T09:30)") from None


@dataclass(frozen=True)
class ListQuery:
    """The instance list's filters and page, as the query string gives them."""

    statuses: tuple[str, ...] = ()
    name: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None
    prefix: str = ""
    after: str = ""
    """The token of this page (empty: the first)."""
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str], statuses: list[str]) -> ListQuery:
        """Parse ``status`` (repeated), ``name``, ``from``, ``to``, ``prefix``, ``after`` and ``page``."""
        wanted = tuple(s for s in statuses if s)
        unknown = [s for s in wanted if s not in RUNTIME_STATUS_NAMES]
        if unknown:
            raise BadFilter(f"unknown status '{unknown[0][:40]}' (one of {', '.join(STATUSES)})")
        page_text = params.get("page") or "1"
        if not page_text.isdigit() or int(page_text) < 1:
            raise BadFilter(f"page '{page_text[:20]}' is not a positive number")
        return cls(
            statuses=wanted,
            name=(params.get("name") or "").strip(),
            created_from=_time(params, "from", "created from"),
            created_to=_time(params, "to", "created to"),
            prefix=(params.get("prefix") or "").strip(),
            after=(params.get("after") or "").strip(),
            page=int(page_text),
        )

    def query(self, **changes: Any) -> str:
        """This query as a query string (``changes`` replace fields, e.g. ``after=…, page=2``)."""
        q = replace(self, **changes)
        pairs: list[tuple[str, str]] = [("status", s) for s in q.statuses]
        for key, value in (
            ("name", q.name),
            ("from", q.created_from.strftime("%Y-%m-%dT%H:%M") if q.created_from else ""),
            ("to", q.created_to.strftime("%Y-%m-%dT%H:%M") if q.created_to else ""),
            ("prefix", q.prefix),
            ("after", q.after),
            ("page", str(q.page) if q.page > 1 else ""),
        ):
            if value:
                pairs.append((key, value))
        return urlencode(pairs)

    def to_filter(self) -> InstanceFilter:
        """The inspector's filter of this query."""
        return InstanceFilter(
            statuses=frozenset(self.statuses),
            name=self.name or None,
            created_from=self.created_from,
            created_to=self.created_to,
            prefix=self.prefix or None,
        )


@dataclass(frozen=True)
class Listing:
    """One page of the instance list and the query that asked for it."""

    page: InstancePage
    query: ListQuery

    @property
    def counts(self) -> dict[str, int]:
        """Instances per status under the other filters (every status of :data:`STATUSES`)."""
        found = self.page.counts.by_status if self.page.counts is not None else {}
        return {s: found.get(s, 0) for s in STATUSES}

    @property
    def next_query(self) -> str | None:
        """The query string of the next page (``None`` on the last)."""
        token = self.page.continuation
        return self.query.query(after=token, page=self.query.page + 1) if token else None


async def list_instances(inspector: HubInspector, q: ListQuery, page_size: int = PAGE_SIZE) -> Listing:
    """The page of instances ``q`` asks for, newest update first, with the counts per status."""
    try:
        page = await inspector.list_instances(
            q.to_filter(), page_size=page_size, continuation=q.after or None
        )
    except ListingTokenError:
        raise BadFilter("this page's link is out of date: start over from the first page") from None
    return Listing(page, q)
