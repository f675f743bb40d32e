"""Sample data shaped like what the gateway passes each template (HTML-hostile on purpose), and
the check that renders every template file with it before the daemon relies on the set."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from jinja2 import Environment, TemplateNotFound

from gateway.mail.templating import (
    CUSTOMER,
    PARTS,
    SAMPLE_TICKET,
    UNFILED,
    Template,
    names_in,
    render,
    with_greeting,
)
from gateway.text.speech import ENGLISH, Speech

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


# A request the SC answers beside the SE's points (see steps/requests.py).
_SC_SHARE = {
    "sc_points": ["Could you send us a <b>quote</b> for 20 more licences?"],
    "sc_owner_name": "Casey Consultant",
    "sc_words": _WHEN,
}


def sample_contexts() -> dict[Template, dict[str, Any]]:
    """Data shaped like what the gateway passes each template (HTML-hostile on purpose)."""
    people = {"customer_name": "Jane <Customer>", "se_name": "Sam Engineer"}
    return {
        Template.ACK: people
        | _SC_SHARE
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
        | _SC_SHARE
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
        | _SC_SHARE
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
        Template.SC_COPY: {
            "writer_name": "Sam Engineer",
            "customer": "jane@acme.example",
            "sent_to": ["jane@acme.example", "support@example.com"],
            "sent_words": _WHEN,
            "mail_subject": "Re: Exports <fail>",
            "text": "Hi Jane,\n\n<b>Upgrade</b> to 4.2.1 & it works.",
            "met": 2,
        },
        Template.SC_DIGEST: {
            "accounts": ["Acme", "Globex <Corp>"],
            "day_words": _WHEN,
            "since_words": "Since your last digest, Monday 23 November, 09:00 EST",
            "sections": [
                {
                    "title": "New tickets",
                    "rows": [
                        {
                            "key": "SUP-1001",
                            "account": "Acme",
                            "customer": "jane@acme.example",
                            "subject": "Exports <fail>",
                            "detail": "with Sam Engineer",
                        }
                    ],
                }
            ],
        },
        Template.CUSTOMER_REPORT: {
            "customer_name": "Acme <Corp>",
            "account": "Acme <Corp>",
            "as_of": _WHEN,
            "sc_name": "Casey Consultant",
            "open": [
                {
                    "key": "SUP-1001",
                    "subject": "Exports <fail>",
                    "status": "in progress with Sam Engineer",
                    "what": "a reply",
                    "next": _WHEN,
                }
            ],
            "resolved": [{"key": "SUP-1000", "subject": "Imports <fail>", "resolved": _LATER}],
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
