"""What an episode leaves for this host to do itself once its checkpoint is written."""

from __future__ import annotations

from datetime import datetime

from host.durable.engine.activities import WorkItem
from host.durable.taskhub.messages import TaskMessage


class Handover:
    """Work produced by an episode that this host does itself once the checkpoint is written."""

    def __init__(self) -> None:
        self.activities: list[WorkItem] = []
        self.local_messages: list[TaskMessage] = []
        self.timers: list[tuple[datetime, TaskMessage]] = []
