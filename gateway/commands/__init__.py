"""The ``#commands`` an SE writes in a reply to a ticket's relay address: one module each, and
this table. The table's order is the order they run in within their stage (see
:mod:`gateway.commands.base`). A command may import the pipeline's work, mail, promise, store
and core."""

from __future__ import annotations

from gateway.commands import (
    answered,
    assign,
    away,
    cc,
    eta,
    language,
    merge,
    note,
    open_point,
    priority,
    resolved,
    waiting,
)
from gateway.commands.base import Acting, Command, Stage

TABLE: dict[str, Command] = {
    c.name: c
    for c in (
        cc.COMMAND,
        eta.COMMAND,
        language.COMMAND,
        note.COMMAND,
        priority.COMMAND,
        merge.COMMAND,
        assign.COMMAND,
        away.COMMAND,
        answered.COMMAND,
        open_point.COMMAND,
        waiting.COMMAND,
        resolved.COMMAND,
    )
}

__all__ = ["TABLE", "Acting", "Command", "Stage"]
