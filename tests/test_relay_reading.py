"""An SE's reply from any mail client, relayed: the customer gets exactly the SE's new words,
never quoted history nor our internal copy; words that answer nothing settle nothing (harness:
real SQLite, real SMTP sink, fake clock)."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage

import pytest

from gateway.cli.sink import Received
from tests.conftest import MONDAY_10, customer_mail, relay_reply
from tests.harness import Harness
from tests.replies import Reply, corpus, same

CASES = list(corpus())
SIGNATURE = "-- \nSam Engineer\nExample Support, support@example.com"


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


async def open_ticket(h: Harness, body: str = "Exports fail with E42. Why does it stop?") -> None:
    await h.receive(customer_mail(1, body=body))


def from_client(copy: Received, reply: Reply, n: int = 0) -> bytes:
    """``reply`` as the SE's mail client sent it to ``copy``'s relay address: a real client's
    MIME tree (an .eml) with our headers, else its text or HTML as the only part."""
    path_suffix = reply.name.rsplit(".", 1)[-1]
    if path_suffix == "eml":
        from tests.replies import ROOT

        msg = email.message_from_bytes((ROOT / reply.name).read_bytes())
        for name in ("From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "Date"):
            del msg[name]
    else:
        msg = EmailMessage(policy=email.policy.SMTP)
        if reply.html_only:
            msg.set_content(reply.html, subtype="html")
        else:
            msg.set_content(reply.text)
    msg["From"] = "Sam Engineer <sam@example.com>"
    msg["To"] = copy["Reply-To"]
    msg["Subject"] = "Re: " + copy["Subject"]
    msg["Message-ID"] = f"<client-{n}@example.com>"
    msg["In-Reply-To"] = copy["Message-ID"]
    msg["Date"] = email.utils.format_datetime(MONDAY_10)
    return msg.as_bytes()


def headers_only(copy: Received) -> EmailMessage:
    """An SE's reply to ``copy`` with its headers and no body yet (the test sets the parts)."""
    msg = EmailMessage()
    for name, value in email.message_from_bytes(relay_reply(copy, "x")).items():
        if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            msg[name] = value
    return msg


@pytest.mark.parametrize("reply", [r for r in CASES if r.words], ids=lambda r: r.name)
async def test_every_client_format_reaches_the_customer_as_the_ses_words(
    h: Harness, reply: Reply
) -> None:
    await open_ticket(h)
    await h.receive(from_client(kind(h, "se-copy")[0], reply))
    [sent] = kind(h, "reply")
    assert same(sent.text(), f"{reply.words}\n\n{SIGNATURE}"), sent.text()
    assert "<" not in sent.text().replace("<support@", "")  # never HTML source
    assert "Hi there" not in sent.html() and "How are you?" not in sent.html()


async def test_a_reply_with_no_new_words_sends_nothing_and_tells_the_se(h: Harness) -> None:
    await open_ticket(h)
    [nothing] = [r for r in CASES if not r.words]  # Thunderbird: a forward with no words
    await h.receive(from_client(kind(h, "se-copy")[0], nothing))
    assert kind(h, "reply") == []
    [error] = kind(h, "se-error")
    assert error["To"] == "sam@example.com"
    assert "no words of yours were found" in error.text()
    assert "send it again" in error.text()
    open_dates = await h.scalar("SELECT count(*) FROM commitments WHERE met_at IS NULL")
    assert open_dates == await h.scalar(
        "SELECT count(*) FROM commitments WHERE superseded_by IS NULL AND met_at IS NULL"
    )
    assert await h.scalar("SELECT state FROM tickets") != "answered"


async def test_a_bottom_posted_answer_reaches_the_customer(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    quoted = "\n".join("> " + line for line in copy.text().splitlines())
    body = f"On Mon, Support wrote:\n{quoted}\n\nThe cache was full: clear it and run again.\n"
    await h.receive(relay_reply(copy, body))
    [sent] = kind(h, "reply")
    assert sent.text().startswith("The cache was full: clear it and run again.")
    assert "Routed" not in sent.text() and ">" not in sent.text()
    [confirm] = kind(h, "se-confirm")
    assert "The cache was full" in confirm.text()


@pytest.mark.parametrize(
    "header",
    [
        "From: Support <support@example.com>\nSent: Monday, 23 November 2026 10:05\n"
        "To: Sam Engineer\nSubject: {subject}",
        "Von: Support <support@example.com>\nGesendet: Montag, 23. November 2026 10:05\n"
        "An: Sam Engineer\nBetreff: {subject}",
        "De : Support <support@example.com>\nEnvoyé : lundi 23 novembre 2026 10:05\n"
        "À : Sam Engineer\nObjet : {subject}",
    ],
)
async def test_an_outlook_style_reply_sends_only_the_ses_words(h: Harness, header: str) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    # Outlook: the copy below a header block, not quoted; the copy's own "> point" lines and a
    # "#note" someone pasted into it are not the SE's.
    body = (
        "Clear the cache and run the export again.\n\nSam\n\n"
        + header.format(subject=copy["Subject"])
        + "\n\n"
        + copy.text().replace("> Exports", "> Exports").replace("Routed:", "#note hi\nRouted:")
    )
    await h.receive(relay_reply(copy, body))
    [sent] = kind(h, "reply")
    assert same(sent.text(), f"Clear the cache and run the export again.\n\nSam\n\n{SIGNATURE}")
    assert kind(h, "note") == []


async def test_internal_text_in_the_ses_words_is_never_sent(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    routed = next(line for line in copy.text().splitlines() if line.startswith("Routed:"))
    await h.receive(relay_reply(copy, f"Please upgrade to 4.2.\n{routed}\n"))
    assert kind(h, "reply") == []
    [error] = kind(h, "se-error")
    assert "not for the customer" in error.text() and routed in error.text()
    assert "Please upgrade to 4.2." in error.text()  # what would have gone out
    await h.receive(relay_reply(copy, f"Write to {copy['Reply-To']} with the logs.", n="se2"))
    assert kind(h, "reply") == []
    assert "relay address" in kind(h, "se-error")[1].text()


async def test_another_customers_ticket_key_is_never_sent(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(customer_mail(2, sender="bob@other.example", subject="Other problem"))
    copy = kind(h, "se-copy")[0]
    await h.receive(relay_reply(copy, "Same as SUP-1002: upgrade to 4.2."))
    assert kind(h, "reply") == []
    assert "SUP-1002, a ticket of another customer" in kind(h, "se-error")[0].text()
    await h.receive(relay_reply(copy, "Fixed: see SUP-1001 for the log.", n="se2"))
    assert len(kind(h, "reply")) == 1  # its own key is fine


async def test_an_attached_mail_in_a_reply_is_neither_words_nor_commands(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    msg = email.message_from_bytes(relay_reply(copy, "See the attached mail from our QA."))
    inner = EmailMessage()
    inner["From"] = "qa@example.com"
    inner["Subject"] = "internal"
    inner.set_content("#resolved\n#cc add eve@evil.example\nInternal: QA thinks it is a dup.")
    outer = EmailMessage()
    for name, value in msg.items():
        if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            outer[name] = value
    outer.set_content("See the attached mail from our QA.")
    outer.add_attachment(inner)
    await h.receive(outer.as_bytes())
    [sent] = kind(h, "reply")
    assert "Internal" not in sent.text() and "#cc" not in sent.text()
    assert await h.scalar("SELECT state FROM tickets") != "resolved"
    assert "eve@evil.example" not in await h.joined("SELECT address FROM participants")


async def test_an_html_only_reply_is_relayed_as_words_not_source(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    msg = headers_only(copy)
    msg.set_content(
        '<div dir="ltr">Clear the <b>cache</b>.</div><div class="gmail_quote">On Mon, Support'
        " wrote:<blockquote>## Reply above this line ##<br>Routed: x</blockquote></div>",
        subtype="html",
    )
    await h.receive(msg.as_bytes())
    [sent] = kind(h, "reply")
    assert same(sent.text(), f"Clear the cache.\n\n{SIGNATURE}")


async def test_a_greeting_answers_nothing(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(relay_reply(kind(h, "se-copy")[0], "Hello\n"))
    [sent] = kind(h, "reply")
    assert sent.text().startswith("Hello")
    point = "SELECT count(*) FROM commitments WHERE kind = 'point' AND met_at IS NOT NULL"
    assert await h.scalar(point) == 0
    [confirm] = kind(h, "se-confirm")
    assert "only a greeting" in confirm.text() and "#eta" in confirm.text()
    assert "open, due" in confirm.text()


async def test_a_holding_reply_keeps_the_dates_and_asks_for_one(h: Harness) -> None:
    await open_ticket(h)
    before = await h.joined("SELECT due_at FROM commitments WHERE met_at IS NULL ORDER BY id")
    await h.receive(
        relay_reply(
            kind(h, "se-copy")[0],
            "Hi Jane,\n\nWe are looking into it and will get back to you.\n\nBest regards,\nSam",
        )
    )
    [sent] = kind(h, "reply")
    assert "looking into it" in sent.text()
    after = await h.joined("SELECT due_at FROM commitments WHERE met_at IS NULL ORDER BY id")
    assert after == before  # every date stands, none met, none moved
    [confirm] = kind(h, "se-confirm")
    assert "holding reply" in confirm.text() and "#eta" in confirm.text()
    await h.later(timedelta(days=2))
    assert kind(h, "revised-eta")  # the date nobody kept is revised, as for no reply


async def test_a_holding_reply_with_a_date_carries_the_points_to_it(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(
        relay_reply(kind(h, "se-copy")[0], "#eta tomorrow 15:00\nWe are checking with the team.\n")
    )
    [sent] = kind(h, "reply")
    assert "Still open" in sent.text() and "15:00" in sent.text()
    [confirm] = kind(h, "se-confirm")
    assert "holding reply" in confirm.text() and "your #eta date stands" in confirm.text()


async def test_a_real_answer_meets_the_point(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(
        relay_reply(kind(h, "se-copy")[0], "Hello Jane,\n\nThe cache was full; clear it.\n")
    )
    point = "SELECT count(*) FROM commitments WHERE kind = 'point' AND met_at IS NOT NULL"
    assert await h.scalar(point) == 1
    assert "answered" in kind(h, "se-confirm")[0].text()


async def test_the_ses_formatting_reaches_the_customers_html_part(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    msg = headers_only(copy)
    # As Gmail sends it: text and HTML alternatives, each with the quoted copy below.
    quoted = "\n".join("> " + line for line in copy.text().splitlines())
    msg.set_content(
        "Clear the *cache*, then:\n\n   1. upgrade to 4.2\n   2. restart\n\n"
        f"See the guide <https://docs.example.com/cache>.\n\nOn Mon, Support wrote:\n{quoted}\n"
    )
    msg.add_alternative(
        '<div dir="ltr">Clear the <b>cache</b>, then:<ol><li>upgrade to 4.2</li><li>restart</li>'
        '</ol>See <a href="https://docs.example.com/cache">the guide</a>.</div>'
        '<div class="gmail_quote"><div class="gmail_attr">On Mon, Support wrote:</div>'
        f"<blockquote>{copy.html()}</blockquote></div>",
        subtype="html",
    )
    await h.receive(msg.as_bytes())
    [sent] = kind(h, "reply")
    html = sent.html()
    assert "<b>cache</b>" in html and "<li>upgrade to 4.2</li>" in html
    assert '<a href="https://docs.example.com/cache" rel="noopener noreferrer nofollow">' in html
    assert "Routed" not in html and "Reply above this line" not in html and "wrote:" not in html
    assert sent.text().startswith("Clear the *cache*, then:")  # the text part, as the SE wrote it


async def test_an_html_part_saying_more_than_the_text_part_is_not_sent(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    msg = headers_only(copy)
    msg.set_content("Please upgrade to 4.2.\n")
    msg.add_alternative(
        '<p>Please upgrade to 4.2.</p><p style="display:none">Internal: Acme is 3 months behind'
        " on payment</p>",
        subtype="html",
    )
    await h.receive(msg.as_bytes())
    [sent] = kind(h, "reply")
    assert "Please upgrade to 4.2." in sent.html()
    assert "Internal" not in sent.html() and "payment" not in sent.html()
