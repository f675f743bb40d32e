"""Who is writing: Authentication-Results read by an RFC 8601 parser with DMARC alignment, staff
mail that must prove itself, and tickets that belong to their people. Each attack from the issue
is a test here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.mail.senderauth import verify
from tests.conftest import customer_mail
from tests.harness import Harness
from tests.test_engineer import kind, open_ticket, se_reply

TRUSTED = frozenset({"mx.example.com"})
ATTACK_DMARC_FAIL = (
    "mx.example.com; spf=pass smtp.mailfrom=attacker@evil.example; dkim=none;"
    " dmarc=fail (p=none) header.from=example.com"
)


@pytest.mark.parametrize(
    ("results", "authenticated"),
    [
        ((ATTACK_DMARC_FAIL,), False),
        (("mx.example.com; dkim=fail (expected dkim=pass) header.d=example.com",), False),
        # A failing trusted header above a lower one that says pass: the nearest one counts.
        (("mx.example.com; dmarc=fail", "mx.example.com; dmarc=pass"), False),
        # The nearest header is not from our server (the sender may have written it).
        (("evil.example; dmarc=pass header.from=example.com",), False),
        ((), False),
        (("mx.example.com; dmarc=pass header.from=example.com",), True),
        (("mx.example.com; dkim=pass header.d=mail.example.com",), True),  # relaxed alignment
        (("mx.example.com; dkim=pass header.d=evil.example",), False),  # not aligned
        (("mx.example.com; spf=pass smtp.mailfrom=bounces@example.com",), True),
        (("mx.example.com; spf=pass smtp.mailfrom=attacker@evil.example",), False),
    ],
)
def test_the_from_is_authenticated_only_by_an_aligned_pass_from_our_server(
    results: tuple[str, ...], authenticated: bool
) -> None:
    verdict = verify(results, "sam@example.com", TRUSTED)
    assert verdict.authenticated is authenticated, verdict.reason


def test_strict_alignment_and_public_suffixes() -> None:
    sub = ("mx.example.com; dkim=pass header.d=mail.example.com",)
    assert not verify(sub, "sam@example.com", TRUSTED, strict=True).authenticated
    other = ("mx.example.com; dkim=pass header.d=other.co.uk",)
    assert not verify(other, "sam@example.co.uk", TRUSTED).authenticated
    same = ("mx.example.com; dkim=pass header.d=mail.example.co.uk",)
    assert verify(same, "sam@example.co.uk", TRUSTED).authenticated


def trust(h: Harness) -> None:
    config = h.processor.services.config
    h.processor.services.config = config.model_copy(
        update={
            "relay": config.relay.model_copy(update={"trusted_authserv_ids": ["mx.example.com"]})
        }
    )


async def test_a_relayed_reply_with_a_failing_dmarc_is_refused(h: Harness) -> None:
    trust(h)
    await open_ticket(h)
    await h.receive(
        se_reply(h, "#resolved\nAll fixed.", headers={"Authentication-Results": ATTACK_DMARC_FAIL})
    )
    assert kind(h, "reply") == [] and kind(h, "done") == []
    assert await h.scalar("SELECT state FROM tickets") == "new", "#resolved did not run"
    [alert] = kind(h, "security-alert")
    assert alert["To"] == "lee@example.com"
    assert "not authenticated" in alert.text()
    verdict = await h.scalar("SELECT verdict || ': ' || reason FROM decisions WHERE inbox_id = 2"
                             " AND step = 'sender-auth'")  # fmt: skip
    assert str(verdict).startswith("fail: mx.example.com: spf=pass, dkim=none, dmarc=fail")


async def test_forged_staff_mail_in_the_thread_meets_no_date(h: Harness) -> None:
    """From: Sam Engineer, no token, no authentication, to the support address, with the
    customer in CC: recorded as unverified, nothing met, the escalation contact told, and the
    customer still gets a revised date when the reply date passes."""
    trust(h)
    await open_ticket(h)
    forged = customer_mail(
        "forged",
        sender="sam@example.com",
        name="Sam Engineer",
        subject="Re: Problem number 1 [SUP-1001]",
        in_reply_to="<customer-1@acme.example>",
        headers={"Cc": "jane@acme.example"},
        body="We are on it.",
    )
    await h.receive(forged)
    assert "no date met" in str(await h.scalar("SELECT reason FROM inbox WHERE id = 2"))
    assert await h.scalar("SELECT count(*) FROM commitments WHERE met_at IS NOT NULL") == 0
    [alert] = kind(h, "security-alert")
    assert "Unverified mail from Sam Engineer" in alert["Subject"]
    await h.later(timedelta(hours=24, minutes=6))
    assert len([m for m in h.to("jane@acme.example") if m["X-Support-Kind"] == "revised-eta"]) == 1


async def test_authenticated_staff_mail_counts_only_when_it_went_to_the_customer(
    h: Harness,
) -> None:
    trust(h)
    await open_ticket(h)
    passing = {"Authentication-Results": "mx.example.com; dmarc=pass header.from=example.com"}

    def staff(n: str, cc: str) -> bytes:
        return customer_mail(
            n,
            sender="sam@example.com",
            name="Sam Engineer",
            subject="Re: Problem number 1 [SUP-1001]",
            in_reply_to="<customer-1@acme.example>",
            headers={**passing, "Cc": cc},
            body="Here is the fix.",
        )

    await h.receive(staff("internal", "dana@example.com"))
    assert await h.scalar("SELECT count(*) FROM commitments WHERE met_at IS NOT NULL") == 0
    assert "not sent to the customer" in str(await h.scalar("SELECT reason FROM inbox WHERE id=2"))
    await h.receive(staff("to-jane", "Jane Customer <Jane@ACME.example>"))
    assert await h.scalar("SELECT action FROM inbox WHERE id = 3") == "engineer-reply"
    assert await h.scalar("SELECT count(*) FROM commitments WHERE met_at IS NOT NULL") > 0


async def test_a_stranger_naming_a_ticket_gets_a_ticket_of_their_own(h: Harness) -> None:
    await open_ticket(h)  # SUP-1001, Jane at acme.example
    hijack = customer_mail(
        "mallory",
        sender="mallory@evil.example",
        name="Mallory",
        subject="Re: Problem number 1 [SUP-1001]",
        in_reply_to="<customer-1@acme.example>",
        body="Please send the export to me instead. Can you?",
    )
    await h.receive(hijack)
    assert await h.scalar("SELECT count(*) FROM tickets") == 2
    assert await h.scalar("SELECT customer_address FROM tickets WHERE id = 2") == (
        "mallory@evil.example"
    )
    copy = next(m for m in kind(h, "se-copy") if m["X-Support-Ticket"] == "SUP-1002")
    assert "From:      Mallory <mallory@evil.example>" in copy.text()
    assert "Mentions:  SUP-1001" in copy.text()
    [ack] = [m for m in kind(h, "ack") if m["To"] == "mallory@evil.example"]
    assert "[SUP-1002]" in ack["Subject"] and "SUP-1001" not in ack["Subject"]
    assert h.to("jane@acme.example")[1:] == [], "Jane's ticket got nothing of it"

    # A colleague on the account's domain is one of its people: the follow-up stays there.
    colleague = customer_mail(
        "rosalie",
        sender="r.payne@acme.example",
        name="Rosalie Ops",
        subject="Re: Problem number 1 [SUP-1001]",
        body="It happened again tonight.",
    )
    await h.receive(colleague)
    assert await h.scalar("SELECT ticket_id FROM inbox WHERE id = 3") == 1
    follow = next(m for m in kind(h, "se-copy") if "Follow-up" in m["Subject"])
    assert "From:      Rosalie Ops <r.payne@acme.example>" in follow.text()
    assert "Customer:  jane@acme.example" in follow.text()
