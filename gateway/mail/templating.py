"""The mail templates: the built-in set shipped inside the package, the operator's overrides, and
the check that every one of them renders before the daemon relies on it.

The built-in templates are package data (``gateway/templates``, a link to the repository's
top-level ``templates/``), read through :mod:`importlib.resources`, so a wheel, an sdist build,
an editable install and a checkout all find the same files. A template that fails to render is
our fault, never the customer's: ``check-config`` and ``run`` refuse such a set up front
(:func:`problems`), and a reload keeps the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from jinja2 import (
    BaseLoader,
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.bccache import Bucket

from gateway.core.models import Ticket, TicketState
from gateway.text.speech import ENGLISH, Greeting, Speech, speak


class Template(StrEnum):
    """Every template the gateway renders; each is a ``.txt.j2`` and an ``.html.j2`` file."""

    ACK = "ack"
    ASSIGNED = "assigned"
    BOUNCE_ALERT = "bounce_alert"
    CAPACITY_ALERT = "capacity_alert"
    CUSTOMER_REPORT = "customer_report"  # on no ticket: an account's tickets
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
    SC_COPY = "sc_copy"
    SC_DIGEST = "sc_digest"  # on no ticket: an SC's accounts
    SE_CONFIRM = "se_confirm"
    SE_COPY = "se_copy"
    SE_ERROR = "se_error"
    SECURITY_ALERT = "security_alert"
    STATUS_UPDATE = "status_update"


PARTS = ("txt", "html")
# Mail about no ticket (one unfiled mail, an account, an SC's accounts).
UNFILED = frozenset({Template.FORWARD_QUERY, Template.CUSTOMER_REPORT, Template.SC_DIGEST})
# Mail the customer reads: written in the ticket's language when we have templates for it
# (``templates/<lang>/``); everything else is for our own people, in English.
CUSTOMER = frozenset(
    {
        Template.ACK,
        Template.CUSTOMER_REPORT,
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


class _Cache(FileSystemBytecodeCache):
    """A cache that cannot be read or written (a full or read-only disk) is no cache: the
    template compiles as it would without one, and no mail waits on it."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with suppress(OSError):
            super().dump_bytecode(bucket)


@cache
def _bytecode_cache() -> BytecodeCache | None:
    """Compiled templates kept between runs (every command and each start checks all of them: a
    third of a second to compile), in Jinja's own per-user directory (mode 0700, checked to be
    ours) under the temporary directory, keyed by each template's source. Without one (a
    read-only or foreign temporary directory), templates compile each time."""
    try:
        return _Cache()
    except (OSError, RuntimeError):
        return None


def environment(templates_dir: str = "") -> Environment:
    """The templates as the composer uses them: ``templates_dir`` first, then the built-ins."""
    loaders: list[BaseLoader] = [FileSystemLoader(templates_dir)] if templates_dir else []
    return Environment(
        loader=ChoiceLoader([*loaders, PackageTemplates()]),
        bytecode_cache=_bytecode_cache(),
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
    return _render(env, template, part, _said(template, context, speech), speech)


def render_parts(
    env: Environment, template: Template, context: dict[str, Any], speech: Speech
) -> tuple[str, str]:
    """The text and HTML parts of ``template``, as :func:`render` writes them (the context's
    phrases said once for both)."""
    said = _said(template, context, speech)
    text, html = (_render(env, template, part, said, speech) for part in PARTS)
    return text, html


def _said(template: Template, context: dict[str, Any], speech: Speech) -> dict[str, Any]:
    # Every date said in the reader's words: the customer's language, or ours for staff.
    said: dict[str, Any] = speak(context, speech if template in CUSTOMER else speech.staff)
    return said


def _render(
    env: Environment, template: Template, part: str, said: dict[str, Any], speech: Speech
) -> str:
    return env.select_template(names_in(template, part, speech.language)).render(said)


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
