"""``#cc add|remove <address>``: a person on the customer's side joins or leaves the ticket's
people, in CC of every customer-facing mail from this one on. Runs before the reply is relayed,
so this very answer already goes to the new set."""

from __future__ import annotations

from gateway.commands.base import Acting, Command, Stage
from gateway.mail.inbound import addresses_in
from gateway.store import participants

VERBS = ("add", "remove")


def syntax(arg: str) -> tuple[str, str]:
    words = arg.split()
    if len(words) != 2 or words[0].lower() not in VERBS:
        return arg, "write #cc add <address> or #cc remove <address>"
    written = addresses_in(words[1])
    if len(written) != 1:
        return arg, f"{words[1]} is not an address"
    return f"{words[0].lower()} {written[0]}", ""


def check(a: Acting, arg: str) -> str:
    address = arg.split()[1]
    if a.s.ours.owns(address) or a.s.directory.is_staff(address):
        return f"{address} is one of us, not the customer's side"
    return ""


def run(a: Acting, arg: str) -> None:
    verb, address = arg.split()
    t = a.ticket
    if verb == "remove":
        removed = participants.remove(a.db, t.id, address)
        a.done.append(
            f"{address} removed: no more mail on this ticket goes to them"
            if removed
            else f"{address} was not on the ticket"
        )
        return
    cap = a.s.config.safety.max_participants
    if participants.confirm(a.db, t.id, address):
        a.done.append(f"{address} confirmed: in CC of every mail to the customer from now on")
    elif participants.add(
        a.db, participants.read(a.db, t.id), [("", address)], a.now, a.sender, cap
    ):
        a.done.append(f"{address} added: in CC of every mail to the customer from now on")
    elif participants.includes(a.db, t.id, address):
        a.done.append(f"{address} was already on the ticket")
    else:
        a.done.append(
            f"{address} not added: the ticket already has {cap} people on the customer side"
        )


COMMAND = Command(
    "cc",
    "#cc add|remove <address>",
    run,
    stage=Stage.BEFORE_REPLY,
    needs_arg=True,
    syntax=syntax,
    check=check,
    sc_may=True,
)
