"""``#merge <ticket>``: another ticket of the same customer (or account) joins this one: its
thread, people and open dates move here (the old dates superseded, so the ledger keeps both), it
is resolved as merged, and the customer is told the one reference to use."""

from __future__ import annotations

import re

from gateway.commands.base import Acting, Command
from gateway.core.models import MailKind
from gateway.mail.mime import customer_envelope
from gateway.mail.templating import Template
from gateway.pipeline import handover
from gateway.promise import ledger
from gateway.store import participants, tickets

_KEY = re.compile(r"^\[?([A-Za-z][A-Za-z0-9]*-\d{1,9})\]?$")


def syntax(arg: str) -> tuple[str, str]:
    m = _KEY.match(arg.strip())
    if m is None:
        return arg, "write #merge <ticket>, e.g. #merge SUP-1042"
    return m.group(1).upper(), ""


def check(a: Acting, key: str) -> str:
    t = a.ticket
    other = tickets.by_key(a.db, key)
    if other is None:
        return f"there is no ticket {key}"
    if other.id == t.id:
        return f"{key} is this ticket"
    if other.merged_into is not None:
        return f"{key} was already merged into {tickets.current(a.db, other).key}"
    same = (t.account and t.account == other.account) or (
        t.customer_address.lower() == other.customer_address.lower()
    )
    if not same:
        return f"{key} is another customer's ticket ({other.customer_address})"
    return ""


def run(a: Acting, key: str) -> None:
    t = a.ticket
    other = tickets.by_key(a.db, key)
    assert other is not None  # checked before acting
    moved = ledger.merge(a.db, t, other, a.now, a.sender)
    a.mails.append(
        a.s.composer.build(
            MailKind.MERGE_NOTICE,
            Template.MERGE_NOTICE,
            t,
            customer_envelope(t, participants.of(a.db, t.id)),
            {
                "customer_name": t.customer_name or t.customer_address,
                "merged": other,
                "se_name": a.s.directory.name_of(a.sender),
                "dates": handover.open_dates(a.s, a.db, t),
            },
        )
    )
    a.done.append(
        f"{other.key} merged into {t.key}: {len(moved)} open date(s) and its people moved;"
        f" the customer was told to use [{t.key}]"
    )


COMMAND = Command("merge", "#merge <ticket>", run, needs_arg=True, syntax=syntax, check=check)
