"""Delivery status notifications: RFC 3464 reports and the common non-standard bounce formats."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "delivery-status"
VERDICT = MailClass.BOUNCE
# Subjects of the bounces that servers send without multipart/report (Exim, qmail, Exchange...).
_SUBJECTS = re.compile(
    r"^(undelivered mail returned to sender|delivery status notification \((failure|delay)\)"
    r"|mail delivery failed|failure notice|undeliverable:|returned mail:|delivery failure"
    r"|mail delivery subsystem|non remis|unzustellbar)",
    re.IGNORECASE,
)


# Other servers' bounces say it somewhere in the subject ("Returned Mail - Error During
# Delivery", "RE: ... : non remis (delivery failed)", "Mail could not be delivered"), and their
# text says a delivery failed: both, never one alone (a person may write either).
_SUBJECT_WORDS = re.compile(
    r"returned mail|could not be delivered|delivery (?:has )?failed|delivery failure"
    r"|error during delivery|undeliver(?:able|ed)|non remis|unzustellbar|non recapitabile"
    r"|no (?:se )?(?:pudo|ha podido) (?:ser )?entregar",
    re.IGNORECASE,
)
_FAILURE_TEXT = re.compile(
    r"could not be delivered|(?:was|were) not delivered|delivery (?:has )?failed"
    r"|failed recipients?|(?:user|mailbox|recipient) (?:unknown|unavailable|not found)"
    r"|unknown (?:user|recipient)|no such (?:user|mailbox)|n'a pas pu [eê]tre d[ée]livr"
    r"|\b5\.\d\.\d{1,3}\b|\b55[0-4][ -]",
    re.IGNORECASE,
)


def check(msg: InboundMessage, ours: Ours) -> str | None:
    if {"message/delivery-status", "message/global-delivery-status"} & set(msg.part_types):
        return "a delivery status part (delivery status notification, RFC 3464)"
    if msg.content_type == "multipart/report":
        params = msg.header("content-type").lower().replace(" ", "")
        if "report-type=delivery-status" in params or "report-type=" not in params:
            return "multipart/report (delivery status notification, RFC 3464)"
    if "x-failed-recipients" in msg.headers:
        return f"X-Failed-Recipients: {msg.header('x-failed-recipients')}"
    if _SUBJECTS.match(msg.subject.strip()):
        return f"bounce subject {msg.subject.strip()[:60]!r}"
    words = _SUBJECT_WORDS.search(msg.subject)
    if words and _FAILURE_TEXT.search(msg.text[:5000]):
        return f"bounce subject ({words.group(0)!r}) and a delivery failure in its text"
    return None
