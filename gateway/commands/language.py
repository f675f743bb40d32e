"""``#language <code>``: the customer's mail on this ticket is written in that language from
this mail on (its own reply included): for when the gateway guessed wrong, or the customer asked.
Only a language we have templates for (``templates/<lang>/``)."""

from __future__ import annotations

from gateway.commands.base import Acting, Command, Stage
from gateway.store import tickets
from gateway.text.speech import known, language_name


def syntax(arg: str) -> tuple[str, str]:
    code = arg.strip().replace("-", "_")
    code = code.lower() if "_" not in code else code
    if not code or not known(code):
        return code, f"{arg.strip() or 'nothing'} is not a language code (e.g. en, de, es)"
    return code, ""


def check(a: Acting, code: str) -> str:
    ours = a.s.composer.speeches
    if code in ours:
        return ""
    have = ", ".join(sorted(map(language_name, ours)))
    return f"we have no templates in {language_name(code)}: we write {have}"


def run(a: Acting, code: str) -> None:
    tickets.set_language(a.db, a.ticket.id, code)
    a.fresh()  # this mail's own reply is written in it too
    a.done.append(f"the customer's mail is now written in {language_name(code)}")


COMMAND = Command(
    "language",
    "#language <code>",
    run,
    stage=Stage.BEFORE_REPLY,
    needs_arg=True,
    syntax=syntax,
    check=check,
)
