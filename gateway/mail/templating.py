"""The mail templates: the built-in set shipped inside the package, the operator's overrides, and
the check that every one of them renders before the daemon relies on it.

The built-in templates are package data (``gateway/templates``, a link to the repository's
top-level ``templates/``), read through :mod:`importlib.resources`, so a wheel, an sdist build,
an editable install and a checkout all find the same files. A template that fails to render is
our fault, never the customer's: ``check-config`` and ``run`` refuse such a set up front
(:func:`problems`), and a reload keeps the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from gateway.core.models import Ticket, TicketState
from gateway.text.speech import ENGLISH, Greeting, Speech, speak


class Template(StrEnum):
    """Every template the gateway renders; each is a ``.txt.j2`` and an ``.html.j2`` file."""

    ACK = "ack"
    ASSIGNED = "assigned"
    BOUNCE_ALERT = "bounce_alert"
    CAPACITY_ALERT = "capacity_alert"
    DEAD_LETTER_ALERT = "dead_letter_alert"
    DONE_SUMMARY = "done_summary"
    ETA_UPDATE = "eta_update"
    FOLLOW_UP_ACK = "follow_up_ack"
    FORWARD_QUERY = "forward_query"  # on no ticket: templates get ``ticket`` None
    MERGE_NOTICE = "merge_notice"
    MISSED_ALERT = "missed_alert"
    NOTE = "note"
    RELAY_REPLY = "relay_reply"
    REVISED_ETA = "revised_eta"
    SE_CONFIRM = "se_confirm"
    SE_COPY = "se_copy"
    SE_ERROR = "se_error"
    SECURITY_ALERT = "security_alert"
    STATUS_UPDATE = "status_update"


PARTS = ("txt", "html")
UNFILED = frozenset({Template.FORWARD_QUERY})  # mail about no ticket
# Mail the customer reads: written in the ticket's language when we have templates for it
# (``templates/<lang>/``); everything else is for our own people, in English.
CUSTOMER = frozenset(
    {
        Template.ACK,
        Template.FOLLOW_UP_ACK,
        Template.ETA_UPDATE,
        Template.MERGE_NOTICE,
        Template.RELAY_REPLY,
        Template.REVISED_ETA,
        Template.STATUS_UPDATE,
    }
)


def builtin_templates() -> Traversable:
    """The package's own template directory."""
    return files("gateway") / "templates"


class PackageTemplates(BaseLoader):
    """Jinja loader over the package's templates (works wherever the package is installed)."""

    def __init__(self, root: Traversable | None = None) -> None:
        self.root = root if root is not None else builtin_templates()

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        node = self.root
        for part in template.split("/"):
            if part in ("", ".", ".."):
                raise TemplateNotFound(template)
            node = node / part
        if not node.is_file():
            raise TemplateNotFound(template)
        return node.read_text(encoding="utf-8"), None, lambda: True  # package data never changes

    def list_templates(self) -> list[str]:
        return sorted(n.name for n in self.root.iterdir() if n.name.endswith(".j2"))


def environment(templates_dir: str = "") -> Environment:
    """The templates as the composer uses them: ``templates_dir`` first, then the built-ins."""
    loaders: list[BaseLoader] = [FileSystemLoader(templates_dir)] if templates_dir else []
    return Environment(
        loader=ChoiceLoader([*loaders, PackageTemplates()]),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def file_names(template: Template) -> tuple[str, ...]:
    return tuple(f"{template.value}.{part}.j2" for part in PARTS)


def names_in(template: Template, part: str, language: str) -> list[str]:
    """Where ``template``'s ``part`` is looked for in ``language``: its own directory first,
    then English (a language may translate only some of the customer's mail)."""
    name = f"{template}.{part}.j2"
    if language == ENGLISH or template not in CUSTOMER:
        return [name]
    return [f"{language}/{name}", name]


def render(
    env: Environment, template: Template, part: str, context: dict[str, Any], speech: Speech
) -> str:
    """One part of ``template`` in ``speech``'s language (our own people's mail: English)."""
    # Every date said in the reader's words: the customer's language, or ours for staff.
    context = speak(context, speech if template in CUSTOMER else speech.staff)
    return env.select_template(names_in(template, part, speech.language)).render(context)


# -- the render check -----------------------------------------------------------------------------

SAMPLE_TICKET = Ticket(
    id=1,
    key="SUP-1001",
    subject='Exports fail <since> "this" morning & more',
    customer_address="jane@acme.example",
    customer_name="Jane Customer",
    customer_utc_offset=60,
    account="Acme",
    se="sam@example.com",
    sc="casey@example.com",
    state=TicketState.NEW,
    received_at=datetime(2026, 11, 23, 15, 15, tzinfo=UTC),
    last_customer_message_id="<sample@acme.example>",
    references=("<sample@acme.example>",),
    product="exports",
)
_WHEN = "Tuesday 24 November, 10:15 EST (16:15 your time, UTC+01:00)"
_LATER = "Thursday 26 November, 10:15 EST"
_POINTS = ["Why does the export fail?", "Is <4.2> affected?"]
_REVISION = {
    "kind": "actionable",
    "kind_words": "a reply",
    "old_words": _WHEN,
    "passed": False,
    "new_words": _LATER,
}


def sample_contexts() -> dict[Template, dict[str, Any]]:
    """Data shaped like what the gateway passes each template (HTML-hostile on purpose)."""
    people = {"customer_name": "Jane <Customer>", "se_name": "Sam Engineer"}
    return {
        Template.ACK: people
        | {
            "sc_name": "Casey Consultant",
            "received_words": _WHEN,
            "actionable_words": _WHEN,
            "resolution_words": _LATER,
            "late_intake": True,
            "missed_words": _WHEN,
            "points": _POINTS,
            "problem": "Our <nightly> export fails with error E42 & more.",
            "asks": ["which version of <exports> you are running", "when it started"],
            "resolution_promised": False,
            "articles": [{"title": "Export errors", "url": "https://example.com/kb/1"}],
            "reopened": False,
            "forwarded": {"by": "Casey <Consultant>", "written_words": _WHEN},
            "concern": "We are <very> disappointed & worried.",
            "concern_told": "sc",
        },
        Template.CAPACITY_ALERT: people
        | {
            "policy_words": _WHEN,
            "actionable_words": _LATER,
            "estimates": [
                "Sam <Engineer>: 14 replies owed by then at 8 a day, likely " + _LATER,
                "Lee Lead: 9 replies owed by then at 4 a day, likely " + _LATER,
            ],
        },
        Template.FOLLOW_UP_ACK: people
        | {
            "concern": "We are very disappointed.",
            "concern_told": "sc",
            "sc_name": "Casey Consultant",
            "received_words": _WHEN,
            "actionable_words": _LATER,
            "resolution_words": "",
            "points": _POINTS,
        },
        Template.FORWARD_QUERY: {
            "forwarder": "Casey <Consultant>",
            "subject": "Fwd: Exports fail <since> this morning",
            "found_name": "Jane <Customer>",
            "why": "its From line names no address",
        },
        Template.ASSIGNED: {
            "by": "Lee Lead",
            "cover_reason": "Sam <Engineer> is away today; you are the backup for exports",
            "customer_name": "Jane <Customer>",
            "ticket_question": "Our nightly export fails with error E42.",
            "participants": ["jane@acme.example", "r.payne@acme.example"],
            "open_dates": [
                {"kind_words": "an answer to a point", "point": _POINTS[1], "words": _WHEN}
            ],
            "story": [
                {"when": _WHEN, "who": "Jane <Customer>", "what": "wrote", "text": "<b>Why?</b>"}
            ],
            "story_total": 7,
        },
        Template.BOUNCE_ALERT: {
            "failed": ["jane@acme.example"],
            "diagnostic": "550 5.1.1 <jane@acme.example>: user unknown",
            "until_words": _LATER,
        },
        Template.DEAD_LETTER_ALERT: {
            "customer_name": "Jane <Customer>",
            "what": "the acknowledgement",
            "recipients": ["jane@acme.example"],
            "error": "554 5.6.0 Message refused: <header too long>",
        },
        Template.DONE_SUMMARY: {
            "customer_name": "Jane <Customer>",
            "question": "Our nightly export fails with error E42.",
            "answered_by": "Sam Engineer",
            "received_words": _WHEN,
            "responded_words": _WHEN,
            "resolved_words": _LATER,
            "business_hours": 12.5,
            "missed": 1,
            "dates_given": 3,
            "target_missed": True,
            "asked": ["Our <nightly> export fails.", _POINTS[0]],
        },
        Template.ETA_UPDATE: people | {"eta_words": _LATER, "resolve_words": _LATER},
        Template.MISSED_ALERT: people
        | {
            "sc_name": "Casey Consultant",
            "revisions": [_REVISION],
            "internal": [_REVISION | {"kind": "resolution", "kind_words": "a resolution"}],
            "misses": 2,
            "escalated": True,
        },
        Template.NOTE: {"author": "Sam Engineer", "note": "Customer called: <urgent>."},
        Template.RELAY_REPLY: {
            "text": "Hello Jane,\n\nA bad index: fixed in 4.2.1.",
            "text_html": None,
            "answers": [(_POINTS[0], "A bad index.")],
            "still_open": [(_POINTS[1], _LATER)],
            "eta_words": _LATER,
            "resolve_words": _LATER,
            "se_name": "Sam Engineer",
            "inline_images": ["shot1@sam<x>"],
            "left_out": [("big <dump>.zip", "30.2 MB")],
        },
        Template.REVISED_ETA: people | {"revisions": [_REVISION]},
        Template.MERGE_NOTICE: people
        | {
            "merged": replace(SAMPLE_TICKET, key="SUP-1000", subject="Imports <also> fail"),
            "dates": [{"kind_words": "a reply", "point": "", "words": _WHEN}],
        },
        Template.SE_CONFIRM: {"actor": "Sam Engineer", "done": ["resolved SUP-1001"]},
        Template.SE_COPY: people
        | {
            "sc_name": "Casey Consultant",
            "received_words": _WHEN,
            "actionable_words": _WHEN,
            "resolution_words": _LATER,
            "follow_up": False,
            "route_reason": "account Acme",
            "customer_text": "Hello,\n\n<b>Why</b> does the export fail?",
            "points": _POINTS,
            "triage": False,
            "sender_address": "jane@acme.example",
            "participants": ["jane@acme.example", "r.payne@acme.example"],
            "mentions": "SUP-1000",
            "mentions_why": "resolved on 2026-10-01, more than 30 days ago: a new ticket",
            "reopened": False,
            "new_points": _POINTS[:1],
            "new_points_words": _LATER,
            "owner_name": "Sam Engineer",
            "priority": "normal",
            "language_name": "German",
            "product": "exports",
            "capacity_note": "",
            "at_risk": "We are <very> disappointed & worried.",
            "at_risk_told": "Casey Consultant, Lee Lead",
            "urgent": "URGENT: <production> is down",
            "urgent_applied": True,
            "pending": ["eve@evil.example"],
            "deadline_words": "Friday 27 November, 17:00 EST",
            "deadline_said": "We need it <before> our launch on Friday.",
            "deadline_after": ["the resolution target, Monday 30 November, 10:15 EST"],
            "files": [("export <log>.txt", "14 KB")],
            "original_left_out": "30.2 MB",
            "inbox_id": 42,
            "forwarded": {
                "by": "Casey <Consultant>",
                "written_words": _WHEN,
                "how": "attached message",
                "note": "Key account: <please> be quick.",
            },
        },
        Template.SE_ERROR: {"actor": "Sam Engineer", "errors": ["#eta: no date in 'soon'"]},
        Template.SECURITY_ALERT: {
            "sender": "eve@evil.example",
            "subject": "Re: <script>",
            "message_id": "<x@evil.example>",
            "problem": "relay token did not match",
        },
        Template.STATUS_UPDATE: people
        | {
            "status_words": "in progress with Sam Engineer",
            "dates": [
                {"words": _WHEN, "what": "an answer to \u201cWhy <E42>?\u201d", "target": ""},
                {"words": _LATER, "what": "", "target": "yes"},
            ],
            "next_words": _LATER,
        },
    }


def with_greeting(context: dict[str, Any]) -> dict[str, Any]:
    """``greeting`` ("Dear Richard," / "Hello,") for a mail to ``customer_name``, unless given."""
    if "greeting" in context or "customer_name" not in context:
        return context
    return {**context, "greeting": Greeting(str(context["customer_name"]))}


def common_context(support_name: str, support_address: str, our_color: str) -> dict[str, Any]:
    """What every template gets besides its own data (see :meth:`Composer.build`)."""
    return {
        "ticket": SAMPLE_TICKET,
        "support_name": support_name,
        "support_address": support_address,
        "our_color": our_color,
    }


def _exists(env: Environment, name: str) -> bool:
    try:
        env.get_template(name)
    except TemplateNotFound:
        return False
    except Exception:  # there, but broken: rendering it says how
        return True
    return True


def problems(
    env: Environment, common: dict[str, Any], speeches: dict[str, Speech]
) -> Iterator[tuple[str, str]]:
    """Render every template file, in every language, with sample data; yield (file name, what
    went wrong) for each that fails: missing, a syntax error, an unknown variable, a phrase its
    language's words.toml lacks, anything it raises."""
    samples = sample_contexts()
    for language, speech in sorted(speeches.items()):
        for template in Template:
            if language != ENGLISH and template not in CUSTOMER:
                continue
            for part in PARTS:
                name = names_in(template, part, language)[0]
                if language != ENGLISH and not _exists(env, name):
                    continue  # English's, checked as English
                unfiled = {"ticket": None} if template in UNFILED else {}
                context = with_greeting({**common, **samples[template], **unfiled})
                try:
                    render(env, template, part, context, speech)
                except Exception as exc:  # the operator needs every failure, whatever it is
                    where = getattr(exc, "lineno", None)
                    at = f" (line {where})" if where else ""
                    yield name, f"{type(exc).__name__}{at}: {exc}"
