"""Is the From of this mail authenticated? (RFC 8601 Authentication-Results, DMARC alignment.)

Only the ``Authentication-Results`` header nearest the mailbox (the topmost) counts, and only when
its authserv-id is one the operator trusts (their own border MTA): anything below it was written
before the mail reached that server, possibly by the sender. From that header, the From is
authenticated when DMARC passed for the From domain, or DKIM passed with a signing domain
(``header.d``) aligned with the From domain, or SPF passed with a ``smtp.mailfrom`` domain aligned
with it. Relaxed alignment compares organizational domains (the Public Suffix List), strict the
domains themselves. Results are read by the ``authres`` parser: a "pass" inside a comment is no
result. Pure functions: no network, no DNS (the MTA did that work).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import authres
from publicsuffixlist import PublicSuffixList

if TYPE_CHECKING:
    from gateway.core.config import RelaySection
    from gateway.core.models import InboundMessage


@dataclass(frozen=True)
class Verdict:
    authenticated: bool
    reason: str
    judged: bool = False  # a trusted server's results were read (not merely absent)


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()  # the list bundled with the package: no download


def aligned(domain: str, from_domain: str, strict: bool) -> bool:
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain or not from_domain:
        return False
    if strict or domain == from_domain:
        return domain == from_domain
    org = _psl().privatesuffix(from_domain)
    return org is not None and org == _psl().privatesuffix(domain)


def verify(
    results: tuple[str, ...], from_address: str, trusted: frozenset[str], strict: bool = False
) -> Verdict:
    """``results``: the mail's Authentication-Results values, topmost first."""
    if not results:
        return Verdict(False, "no Authentication-Results header")
    try:
        header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {results[0]}")
    except Exception as exc:  # authres raises its own assorted syntax errors
        return Verdict(False, f"unreadable Authentication-Results ({type(exc).__name__})")
    server = str(header.authserv_id or "").lower()
    if server not in trusted:
        return Verdict(
            False,
            f"the nearest Authentication-Results is from {server or '?'}, not a trusted server",
        )
    from_domain = from_address.rpartition("@")[2]
    seen = []
    for r in header.results:
        method, result = str(r.method).lower(), str(r.result).lower()
        props = {(str(p.type).lower(), str(p.name).lower()): str(p.value) for p in r.properties}
        seen.append(f"{method}={result}")
        if result != "pass":
            continue
        if method == "dmarc":
            header_from = props.get(("header", "from"), from_domain)
            if header_from.lower() == from_domain.lower():
                return Verdict(True, f"dmarc=pass for {from_domain} ({server})", True)
        elif method == "dkim":
            d = props.get(("header", "d"), "")
            if aligned(d, from_domain, strict):
                return Verdict(
                    True, f"dkim=pass d={d}, aligned with {from_domain} ({server})", True
                )
        elif method == "spf":
            mailfrom = props.get(("smtp", "mailfrom"), "").rpartition("@")[2]
            if aligned(mailfrom, from_domain, strict):
                return Verdict(
                    True, f"spf=pass {mailfrom}, aligned with {from_domain} ({server})", True
                )
    found = ", ".join(seen) or "no results"
    return Verdict(
        False, f"{server}: {found}; nothing that passed is aligned with {from_domain}", True
    )


def customer_doubt(relay: RelaySection, msg: InboundMessage, staff: bool) -> str:
    """Why a customer-side From is not to be believed ('' when it is): trust is configured, our
    trusted border judged the mail, and nothing aligned with the From domain passed. Such a
    mail joins no ticket, and the people it copies wait for an SE's #cc add."""
    trusted = frozenset(t.lower() for t in relay.trusted_authserv_ids)
    if not trusted or staff:
        return ""
    verdict = verify(
        msg.headers.get("authentication-results", ()),
        msg.from_address,
        trusted,
        strict=relay.alignment == "strict",
    )
    return verdict.reason if verdict.judged and not verdict.authenticated else ""
