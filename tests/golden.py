"""The golden renderings: every template, in each kind and state it is sent in, rendered with
realistic data. The files in tests/golden/ are what a reviewer reads in a change (do they read
like a careful person wrote them?); tests/test_golden.py checks the templates still render
exactly them, and ``scripts/golden`` rewrites them after a deliberate change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from gateway.core.models import Ticket
from gateway.mail.templating import (
    CUSTOMER as CUSTOMER_TEMPLATES,
)
from gateway.mail.templating import (
    PARTS,
    SAMPLE_TICKET,
    Template,
    common_context,
    environment,
    with_greeting,
)
from gateway.mail.templating import (
    render as render_part,
)
from gateway.text.speech import ENGLISH, Ask, Kind, Owed, Status, When, languages

GOLDEN = Path(__file__).parent / "golden"

TICKET = replace(
    SAMPLE_TICKET,
    subject="Nightly export fails with E42",
    customer_name="Payne, Richard",
    customer_address="richard.payne@acme.example",
    customer_utc_offset=None,
)
NY = ZoneInfo("America/New_York")
# Dates as the gateway passes them: English text that each language says its own way.
REPLY = When(datetime(2026, 11, 24, 15, 15, tzinfo=UTC), NY)  # Tuesday 24 November, 10:15 EST
LATER = When(datetime(2026, 11, 26, 22, 0, tzinfo=UTC), NY)  # Thursday 26 November, 17:00 EST
TARGET = When(datetime(2026, 11, 27, 15, 15, tzinfo=UTC), NY)  # Friday 27 November, 10:15 EST
RECEIVED = When(datetime(2026, 11, 23, 15, 15, tzinfo=UTC), NY)  # Monday 23 November, 10:15
WHY = "Why does the nightly export fail with E42?"
AFFECTED = "Is version 4.2 affected too?"
IMPORT = "Does the nightly import have the same problem?"
PROBLEM = "Our nightly export has failed with error E42 since Monday morning."
CUSTOMER = {"customer_name": "Payne, Richard", "se_name": "Sam Engineer"}

ACK = CUSTOMER | {
    "concern": "",
    "concern_told": "",
    "sc_name": "Casey Consultant",
    "received_words": RECEIVED,
    "actionable_words": REPLY,
    "resolution_words": TARGET,
    "late_intake": False,
    "missed_words": "",
    "points": [WHY, AFFECTED],
    "problem": PROBLEM,
    "asks": [],
    "resolution_promised": False,
    "articles": [],
    "reopened": False,
    "forwarded": None,
    "sc_points": [],
    "sc_owner_name": "",
    "sc_words": "",
}
QUOTE = "Could you also send us a quote for 20 more licences?"
SC_REPLY = When(datetime(2026, 11, 23, 16, 15, tzinfo=UTC), NY)  # Monday 23 November, 11:15 EST
# A technical question and a request the SC owns: both owners, each with their date.
SC_SHARE = {"sc_points": [QUOTE], "sc_owner_name": "Casey Consultant", "sc_words": SC_REPLY}
# What a follow-up's acknowledgement is given (compose's follow_up_ack: tests/test_contexts.py).
FOLLOW_UP = {
    k: ACK[k]
    for k in (
        "customer_name",
        "se_name",
        "sc_name",
        "received_words",
        "actionable_words",
        "resolution_words",
        "points",
        "concern",
        "concern_told",
        "sc_points",
        "sc_owner_name",
        "sc_words",
    )
}
COPY = CUSTOMER | {
    "at_risk": "",
    "at_risk_told": "",
    "urgent": "",
    "urgent_applied": True,
    "deadline_words": "",
    "deadline_said": "",
    "deadline_after": [],
    "pending": [],
    "sc_name": "Casey Consultant",
    "received_words": "Monday 23 November, 10:15 EST",
    "actionable_words": REPLY,
    "resolution_words": TARGET,
    "follow_up": False,
    "reopened": False,
    "route_reason": "account Acme: its SE",
    "customer_text": f"Hello,\n\n{PROBLEM}\n\n{WHY} {AFFECTED}\n\nRichard",
    "points": [WHY, AFFECTED],
    "triage": False,
    "sender_address": "richard.payne@acme.example",
    "participants": ["richard.payne@acme.example"],
    "mentions": "",
    "mentions_why": "",
    "new_points": [],
    "new_points_words": "",
    "owner_name": "Sam Engineer",
    "priority": "normal",
    "language_name": "",
    "product": "exports",
    "capacity_note": "",
    "files": [],
    "original_left_out": "",
    "inbox_id": 42,
    "forwarded": None,
    "sc_points": [],
    "sc_owner_name": "",
    "sc_words": "",
}
REVISION = {
    "kind": "actionable",
    "kind_words": Kind("actionable"),
    "old_words": REPLY,
    "new_words": LATER,
    "passed": False,  # revised before it passes (sla.revise_before_minutes)
}
STORY = [
    {"when": "Monday 23 November, 14:00 EST", "who": "Sam Engineer (Example Support)",
     "what": "the answer", "text": "Hello Richard,\n\nA bad index: fixed in 4.2.1.\n\n-- \nSam"},
    {"when": "Monday 23 November, 10:15 EST", "who": "Payne, Richard <richard.payne@acme.example>",
     "what": "wrote (the first mail)", "text": f"{PROBLEM}\n\n{WHY}"},
]  # fmt: skip

# (file name, template, context, ticket): one row per kind and state a template is sent in.
CASES: list[tuple[str, Template, dict[str, Any], Ticket | None]] = [
    ("ack.new", Template.ACK, ACK, TICKET),
    ("ack.one-question", Template.ACK, ACK | {"points": [WHY], "problem": ""}, TICKET),
    ("ack.no-question", Template.ACK, ACK | {"points": [], "problem": "No view-only accounts"},
     TICKET),
    ("ack.no-first-name", Template.ACK, ACK | {"customer_name": "ACME IT Support Team"}, TICKET),
    ("ack.asking-for-details", Template.ACK, ACK | {"points": [], "problem":
     "The nightly export fails.",
     "asks": [Ask("version", "exports"), Ask("error"), Ask("since")]}, TICKET),
    ("ack.late", Template.ACK, ACK | {"late_intake": True}, TICKET),
    ("ack.reopened", Template.ACK, ACK | {"reopened": True, "points": [],
     "problem": "The export fails again tonight with E42."}, TICKET),
    ("ack.forwarded", Template.ACK, ACK | {"forwarded": {"by": "Casey Consultant",
     "written_words": When(datetime(2026, 11, 23, 14, 12, tzinfo=UTC), NY), "how": "inline",
     "note": ""}}, TICKET),
    ("ack.with-articles", Template.ACK, ACK | {"articles": [
        {"title": "Export errors explained", "url": "https://example.com/kb/exports"}]}, TICKET),
    ("ack.concern", Template.ACK, ACK | {"concern": "We are very disappointed with the"
     " support so far.", "concern_told": "sc"}, TICKET),
    ("ack.sc-request", Template.ACK, ACK | SC_SHARE | {"points": [WHY, QUOTE]}, TICKET),
    ("ack.sc-owned", Template.ACK, ACK | {"se_name": "Casey Consultant", "points":
     ["Could you send us a quote for 20 more licences?"], "problem": "",
     "actionable_words": SC_REPLY}, TICKET),
    ("follow_up_ack.sc-request", Template.FOLLOW_UP_ACK, FOLLOW_UP | SC_SHARE | {"points":
     [IMPORT, QUOTE], "actionable_words": LATER}, TICKET),
    ("follow_up_ack.one", Template.FOLLOW_UP_ACK, FOLLOW_UP | {"points": [IMPORT],
     "actionable_words": LATER}, TICKET),
    ("follow_up_ack.several", Template.FOLLOW_UP_ACK, FOLLOW_UP | {"points": [IMPORT, AFFECTED],
     "actionable_words": LATER}, TICKET),
    ("follow_up_ack.concern", Template.FOLLOW_UP_ACK, FOLLOW_UP | {"points": [AFFECTED],
     "actionable_words": LATER, "concern": "We are very disappointed.", "concern_told": "sc"},
     TICKET),
    ("follow_up_ack.statement", Template.FOLLOW_UP_ACK, FOLLOW_UP | {"points": [],
     "actionable_words": LATER}, TICKET),
    ("eta_update.next-step", Template.ETA_UPDATE, CUSTOMER | {"eta_words": LATER,
     "resolve_words": ""}, TICKET),
    ("eta_update.resolution", Template.ETA_UPDATE, CUSTOMER | {"eta_words": "",
     "resolve_words": TARGET}, TICKET),
    ("relay_reply.prose", Template.RELAY_REPLY, {"text": "Hello Richard,\n\nA bad index: it is "
     "fixed in 4.2.1, out today.", "text_html": None, "answers": [], "still_open": [],
     "eta_words": "", "resolve_words": "", "se_name": "Sam Engineer", "inline_images": [],
     "left_out": []}, TICKET),
    ("relay_reply.html", Template.RELAY_REPLY, {"text": "Hello Richard,\n\nA bad index: it is "
     "fixed in 4.2.1.\n\nUpgrade\nRestart", "text_html": Markup(
     "<p>Hello Richard,</p><p>A bad index: it is <b>fixed in 4.2.1</b>.</p><ol><li>Upgrade</li>"
     "<li>Restart</li></ol>"), "answers": [], "still_open": [], "eta_words": "",
     "resolve_words": "", "se_name": "Sam Engineer", "inline_images": [], "left_out": []},
     TICKET),
    ("relay_reply.inline-one-open", Template.RELAY_REPLY, {"text": "Hello Richard,",
     "text_html": None, "answers": [(WHY, "A bad index; 4.2.1 rebuilds it.")],
     "still_open": [(AFFECTED, LATER)],
     "eta_words": "", "resolve_words": TARGET, "se_name": "Sam Engineer",
     "inline_images": [], "left_out": [("export-dump.zip", "31.4 MB")]}, TICKET),
    ("revised_eta.reply", Template.REVISED_ETA, CUSTOMER | {"revisions": [REVISION]}, TICKET),
    ("revised_eta.point", Template.REVISED_ETA, CUSTOMER | {"revisions": [REVISION | {
     "kind": "point", "kind_words": Kind("point", IMPORT)}]}, TICKET),
    ("revised_eta.update", Template.REVISED_ETA, CUSTOMER | {"revisions": [REVISION | {
     "kind": "update", "kind_words": Kind("update")}]}, TICKET),
    ("revised_eta.resolution", Template.REVISED_ETA, CUSTOMER | {"revisions": [REVISION | {
     "kind": "resolution", "kind_words": Kind("resolution")}]}, TICKET),
    ("revised_eta.passed", Template.REVISED_ETA, CUSTOMER | {"revisions": [REVISION | {
     "passed": True}]}, TICKET),
    ("revised_eta.two-points", Template.REVISED_ETA, CUSTOMER | {"revisions": [REVISION | {
     "kind": "point", "kind_words": Kind("point", IMPORT)}, REVISION | {
     "kind": "point", "kind_words": Kind("point", AFFECTED)}]}, TICKET),
    ("status_update.new", Template.STATUS_UPDATE, CUSTOMER | {
     "status_words": Status("new", "Sam Engineer"),
     "dates": [{"words": REPLY, "what": Owed(["actionable"], [WHY, AFFECTED]), "target": ""},
               {"words": TARGET, "what": "", "target": "yes"}], "next_words": LATER},
     TICKET),
    ("status_update.in-progress", Template.STATUS_UPDATE, CUSTOMER | {
     "status_words": Status("answered", "Sam Engineer"),
     "dates": [{"words": LATER, "what": Owed(["update"], []), "target": ""}],
     "next_words": LATER}, TICKET),
    ("status_update.no-date-standing", Template.STATUS_UPDATE, CUSTOMER | {
     "status_words": Status("answered", "Sam Engineer"), "dates": [], "next_words": LATER},
     TICKET),
    ("merge_notice", Template.MERGE_NOTICE, CUSTOMER | {"merged": replace(
     TICKET, key="SUP-1002", subject="Nightly import fails too"),
     "dates": [{"kind_words": Kind("actionable"), "point": "", "words": REPLY},
               {"kind_words": Kind("point"), "point": AFFECTED, "words": LATER}]}, TICKET),
    ("se_copy.new", Template.SE_COPY, COPY, TICKET),
    ("se_copy.follow-up", Template.SE_COPY, COPY | {"follow_up": True, "actionable_words": "",
     "points": [WHY, IMPORT], "new_points": [IMPORT], "new_points_words": LATER}, TICKET),
    ("se_copy.later-date", Template.SE_COPY, COPY | {"actionable_words": LATER,
     "route_reason": "account Acme: its SE; Sam Engineer cannot keep the reply date, Dana Default"
     " is likely sooner", "se_name": "Dana Default",
     "capacity_note": "later than the policy's " + REPLY
     + ", which nobody in could likely keep (Dana Default: 9 replies owed by then at 8 a day,"
     " likely " + LATER + "); the lead is alerted"}, TICKET),
    ("capacity_alert", Template.CAPACITY_ALERT, CUSTOMER | {"se_name": "Dana Default",
     "policy_words": REPLY,
     "actionable_words": LATER, "estimates": [
         "Sam Engineer: 12 replies owed by then at 8 a day, likely Friday 27 November, 11:00 EST",
         "Dana Default: 9 replies owed by then at 8 a day, likely " + LATER]}, TICKET),
    ("se_copy.in-german", Template.SE_COPY, COPY | {"language_name": "German"}, TICKET),
    ("se_copy.urgent-at-risk", Template.SE_COPY, COPY | {"urgent": "URGENT: production is down",
     "at_risk": "We are very disappointed with the support so far.",
     "at_risk_told": "Casey Consultant, Lee Lead", "priority": "urgent"}, TICKET),
    ("se_copy.sc-request", Template.SE_COPY, COPY | SC_SHARE | {"points": [WHY, QUOTE]},
     TICKET),
    ("sc_copy", Template.SC_COPY, {"writer_name": "Sam Engineer",
     "customer": "richard.payne@acme.example",
     "sent_to": ["richard.payne@acme.example", "support@example.com"],
     "sent_words": "Monday 23 November, 14:02 EST", "mail_subject":
     "Re: Nightly export fails with E42 [SUP-1001]", "text": "Hello Richard,\n\nA bad index: "
     "fixed in 4.2.1, out today.\n\nSam", "met": 3}, TICKET),
    ("customer_report", Template.CUSTOMER_REPORT, {"customer_name": "", "account": "Acme",
     "as_of": When(datetime(2026, 11, 27, 13, 0, tzinfo=UTC), NY), "sc_name": "Casey Consultant",
     "open": [{"key": "SUP-1001", "subject": "Nightly export fails with E42",
               "status": Status("answered", "Sam Engineer"), "what": Kind("resolution"),
               "next": TARGET},
              {"key": "SUP-1004", "subject": "Quote for 20 more licences",
               "status": Status("new", "Casey Consultant"), "what": Kind("actionable"),
               "next": When(datetime(2026, 11, 27, 16, 0, tzinfo=UTC), NY)},
              {"key": "SUP-1003", "subject": "SSO login loops", "status": Status("waiting",
               "Dana Default"), "what": "", "next": ""}],
     "resolved": [{"key": "SUP-0998", "subject": "Imports slow since 4.1",
                   "resolved": When(datetime(2026, 11, 18, 20, 30, tzinfo=UTC), NY)}]},
     TICKET),  # the ticket gives only the language: a report is about an account
    ("customer_report.empty-resolved", Template.CUSTOMER_REPORT, {"customer_name": "",
     "account": "Acme", "as_of": When(datetime(2026, 11, 27, 13, 0, tzinfo=UTC), NY),
     "sc_name": "", "open": [{"key": "SUP-1001", "subject": "Nightly export fails with E42",
     "status": Status("new", "Sam Engineer"), "what": Kind("actionable"), "next": REPLY}],
     "resolved": []}, TICKET),
    ("sc_digest", Template.SC_DIGEST, {"accounts": ["Acme", "Globex"],
     "day_words": "Tuesday 24 November, 09:00 EST",
     "since_words": "Since your last digest, Monday 23 November, 09:00 EST", "sections": [
        {"title": "New tickets", "rows": [{"key": "SUP-1004", "account": "Acme",
         "customer": "richard.payne@acme.example", "subject": "Quote for 20 more licences",
         "detail": "with Casey Consultant"}]},
        {"title": "Due today", "rows": [{"key": "SUP-1001", "account": "Acme",
         "customer": "richard.payne@acme.example", "subject": "Nightly export fails with E42",
         "detail": f"an answer to \u201c{WHY}\u201d by Tuesday 24 November, 10:15 EST"
                   " (Sam Engineer)"}]},
        {"title": "Missed (the customer was sent a revised date)", "rows": [{"key": "SUP-1002",
         "account": "Globex", "customer": "ops@globex.example", "subject": "API returns 502",
         "detail": "a reply due Monday 23 November, 16:00 EST, missed (Dana Default)"}]},
        {"title": "Customers who sound unhappy with us", "rows": [{"key": "SUP-1002",
         "account": "Globex", "customer": "ops@globex.example", "subject": "API returns 502",
         "detail": "\u201cThis is the third time we have to chase you.\u201d"}]}]}, None),
    ("se_copy.after-hours-triage", Template.SE_COPY, COPY | {"triage": True}, TICKET),
    ("se_copy.deadline", Template.SE_COPY, COPY | {"deadline_words": "Thursday 26 November,"
     " 17:00 EST", "deadline_said": "We need this before our launch on Thursday.",
     "deadline_after": ["the resolution target, Friday 27 November, 10:15 EST"]}, TICKET),
    ("se_copy.forwarded", Template.SE_COPY, COPY | {"forwarded": {"by": "Casey Consultant",
     "written_words": "Monday 23 November, 09:12 EST", "how": "attached message",
     "note": "Key account, please be quick."}}, TICKET),
    ("assigned.cover", Template.ASSIGNED, {"by": "The gateway", "cover_reason": "Sam Engineer is "
     "away today; you are the backup for exports", "customer_name": "Payne, Richard",
     "ticket_question": PROBLEM, "participants": ["richard.payne@acme.example"],
     "open_dates": [], "story": STORY[1:], "story_total": 1}, TICKET),
    ("assigned", Template.ASSIGNED, {"by": "Sam Engineer", "cover_reason": "",
     "customer_name": "Payne, Richard",
     "ticket_question": PROBLEM, "participants": ["richard.payne@acme.example"],
     "open_dates": [{"kind_words": "an answer to a point", "point": AFFECTED, "words": LATER}],
     "story": STORY, "story_total": 2}, TICKET),
    ("done_summary.kept", Template.DONE_SUMMARY, {"customer_name": "Payne, Richard",
     "question": PROBLEM, "asked": [PROBLEM, WHY, AFFECTED], "answered_by": "Sam Engineer",
     "received_words": "Monday 23 November, 10:15 EST", "responded_words": REPLY,
     "resolved_words": LATER, "business_hours": 24.5, "missed": 0, "dates_given": 2,
     "target_missed": False}, TICKET),
    ("done_summary.missed", Template.DONE_SUMMARY, {"customer_name": "Payne, Richard",
     "question": PROBLEM, "asked": [PROBLEM, WHY], "answered_by": "Sam Engineer",
     "received_words": "Monday 23 November, 10:15 EST", "responded_words": LATER,
     "resolved_words": "Monday 30 November, 11:00 EST", "business_hours": 45.8, "missed": 2,
     "dates_given": 3, "target_missed": True}, TICKET),
    ("missed_alert", Template.MISSED_ALERT, CUSTOMER | {"sc_name": "Casey Consultant",
     "revisions": [REVISION], "internal": [{"kind": "resolution", "kind_words": "a resolution",
     "old_words": TARGET, "new_words": ""}], "misses": 2, "escalated": True}, TICKET),
    ("note", Template.NOTE, {"author": "Casey Consultant",
     "note": "Richard called: the export feeds their month-end close."}, TICKET),
    ("se_confirm", Template.SE_CONFIRM, {"actor": "Sam Engineer", "done": [
     "next date set: Thursday 26 November, 17:00 EST (the customer is told)",
     "your answer went to richard.payne@acme.example, cc casey@example.com (1 date(s) met): "
     "\u201cHello Richard,\u201d (3 lines)"]}, TICKET),
    ("se_error", Template.SE_ERROR, {"actor": "Sam Engineer", "errors": [
     "#eta someday: 'someday': use +2bd, tomorrow 15:00, today 16:30, 2026-11-25 10:00 or "
     "2026-11-25"]}, TICKET),
    ("security_alert", Template.SECURITY_ALERT, {"sender": "sam@example.com",
     "subject": "Re: [SUP-1001] New: Nightly export fails with E42",
     "message_id": "<forged-1@evil.example>",
     "problem": "sam@example.com is not authenticated: dmarc=fail"}, TICKET),
    ("bounce_alert", Template.BOUNCE_ALERT, {"failed": ["richard.payne@acme.example"],
     "diagnostic": "550 5.1.1 <richard.payne@acme.example>: user unknown",
     "until_words": "Monday 30 November, 10:15 EST"}, TICKET),
    ("dead_letter_alert", Template.DEAD_LETTER_ALERT, {"customer_name": "Payne, Richard",
     "what": "the acknowledgement", "recipients": ["richard.payne@acme.example"],
     "error": "554 5.7.1 Message rejected"}, TICKET),
    ("forward_query", Template.FORWARD_QUERY, {"forwarder": "Casey Consultant",
     "subject": "Fwd: Nightly export fails with E42", "found_name": "Richard Payne",
     "why": "its From line names no address"}, None),
]  # fmt: skip


# Every mail the customer reads, again in each language we ship (tests/golden/<lang>/).
CASES += [
    (f"{language}/{name}", template, context, replace(ticket, language=language))
    for language in sorted(set(languages()) - {ENGLISH})
    for name, template, context, ticket in list(CASES)
    if template in CUSTOMER_TEMPLATES and ticket is not None
]


def render(template: Template, context: dict[str, Any], ticket: Ticket | None) -> dict[str, str]:
    """The text and HTML parts, as the composer renders them (built-in templates), in the
    ticket's language."""
    env = environment()
    speech = languages()[ticket.language if ticket else ENGLISH]
    common = common_context("Example Support", "support@example.com", "#1a5fb4")
    ctx = with_greeting({**common, "ticket": ticket, **context})
    return {part: render_part(env, template, part, ctx, speech) for part in PARTS}
