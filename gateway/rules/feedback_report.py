"""Abuse and spam complaint reports (ARF, RFC 5965): multipart/report with
report-type=feedback-report, sent by mailbox providers' feedback loops."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.core.models import InboundMessage, MailClass

if TYPE_CHECKING:
    from gateway.rules import Ours

NAME = "feedback-report"
VERDICT = MailClass.AUTOMATED


def check(msg: InboundMessage, ours: Ours) -> str | None:
    params = msg.header("content-type").lower().replace(" ", "").replace('"', "")
    if msg.content_type == "multipart/report" and "report-type=feedback-report" in params:
        return "multipart/report (abuse/spam feedback report, RFC 5965)"
    if "message/feedback-report" in msg.part_types[1:]:  # in a multipart/mixed, say
        return "a message/feedback-report part (abuse/spam feedback report, RFC 5965)"
    return None
