"""The classification chain: mail that must never get an automatic reply (RFC 3834).

Each rule is one module with ``NAME``, ``VERDICT`` (the class of mail it catches), a one-line
docstring and ``check(msg, ours) -> reason | None``. The chain below is the order they run in;
the first rule that returns a reason classifies the message, and every verdict is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from gateway.core.models import InboundMessage, MailClass
from gateway.rules import (
    auto_submitted,
    autoreply_subject,
    delivery_status,
    feedback_report,
    list_headers,
    noreply_sender,
    null_sender,
    own_mail,
    precedence,
    receipt,
    spam_verdict,
    vendor_autoreply,
)


@dataclass(frozen=True)
class Ours:
    """What identifies our own mail."""

    addresses: frozenset[str]  # lower-case
    message_id_domain: str
    spam_scl_threshold: int = 5  # Microsoft's spam confidence level that counts as spam

    def owns(self, address: str) -> bool:
        """One of our addresses, or a plus-address of one (``support+anything@``: every relay
        address of a ticket and every product address is ours too)."""
        local, at, domain = address.lower().rpartition("@")
        base = local.split("+", 1)[0]
        return bool(at) and (
            address.lower() in self.addresses or f"{base}@{domain}" in self.addresses
        )


# Most specific first: a bounce is a bounce even though it also has Auto-Submitted.
CHAIN: tuple[ModuleType, ...] = (
    own_mail,
    receipt,
    delivery_status,
    feedback_report,
    spam_verdict,
    null_sender,
    auto_submitted,
    vendor_autoreply,
    autoreply_subject,
    precedence,
    list_headers,
    noreply_sender,
)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    verdict: str  # the class of mail (a MailClass), when the rule fired; 'pass' otherwise
    reason: str


def classify(
    msg: InboundMessage, ours: Ours, skip: frozenset[str] = frozenset()
) -> tuple[MailClass, list[RuleResult]]:
    """Run the chain; return the class (human when no rule fires) and every rule's verdict.
    Rules named in ``skip`` are recorded as overruled (an operator released the message)."""
    results: list[RuleResult] = []
    for rule in CHAIN:
        if rule.NAME in skip:
            results.append(RuleResult(rule.NAME, "pass", "overruled by an operator"))
            continue
        reason = rule.check(msg, ours)
        if reason is not None:
            results.append(RuleResult(rule.NAME, rule.VERDICT, reason))
            return rule.VERDICT, results
        results.append(RuleResult(rule.NAME, "pass", ""))
    return MailClass.HUMAN, results
