"""Forward detection across the inline formats of the common clients and ``message/rfc822``
(pure parsing, no servers). The fixtures in tests/data/forwards are the plain-text parts these
clients write when forwarding (Gmail web, Outlook new and classic, Outlook in German, Apple
Mail, Thunderbird)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.mail import forwards
from gateway.mail.inbound import parse

FIXTURES = Path(__file__).parent / "data" / "forwards"
BODY = "Our nightly export fails with E42 since this morning. Can you help?"


def _forward(body: str, attach: EmailMessage | bytes | None = None, date: str = "") -> bytes:
    msg = EmailMessage()
    if date:
        msg["Date"] = date
    msg["From"] = "Casey Consultant <casey@example.com>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Fwd: Export fails with E42"
    msg["Message-ID"] = "<fwd-1@example.com>"
    msg.set_content(body)
    if isinstance(attach, EmailMessage):  # as the clients attach a mail: 7bit, unencoded
        msg.add_attachment(attach)
    elif attach is not None:  # some clients base64 it, though RFC 2046 says not to
        msg.add_attachment(attach, maintype="message", subtype="rfc822")
    return msg.as_bytes()


@pytest.mark.parametrize(
    ("fixture", "name"),
    [
        ("gmail", "Jane Customer"),
        ("outlook", "Jane Customer"),
        ("outlook_classic", "Jane Customer"),
        ("outlook_de", "Jane Kundin"),
        ("apple_mail", "Jane Customer"),
        ("thunderbird", "Jane Customer"),
    ],
)
def test_inline_forwards_of_the_common_clients(fixture: str, name: str) -> None:
    found = forwards.find(parse(_forward((FIXTURES / f"{fixture}.txt").read_text())))
    assert found is not None and found.how == "inline"
    assert (found.name, found.address) == (name, "jane@acme.example")
    assert found.subject == "Export fails with E42"
    assert BODY in found.text and found.text.startswith("Hi Casey")
    assert "From:" not in found.text and "Subject" not in found.text
    assert found.message_id == ""


def test_what_the_headers_say_beyond_the_sender() -> None:
    gmail = forwards.find(parse(_forward((FIXTURES / "gmail.txt").read_text())))
    assert gmail is not None
    assert gmail.to == ("casey@example.com",) and gmail.cc == ("r.payne@acme.example",)
    assert gmail.date is None, "no zone and no Date on the forward: not guessed"
    thunderbird = forwards.find(parse(_forward((FIXTURES / "thunderbird.txt").read_text())))
    assert thunderbird is not None
    assert thunderbird.date == datetime(2026, 11, 23, 14, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fixture", "local"),
    [
        ("gmail", "2026-11-23 09:12"),  # "Mon, Nov 23, 2026 at 9:12 AM"
        ("outlook", "2026-11-23 09:12"),  # "Monday, November 23, 2026 9:12 AM"
        ("outlook_de", "2026-11-23 09:12"),  # "Montag, 23. November 2026 09:12"
        ("apple_mail", "2026-11-23 09:12"),  # "23 November 2026 at 09:12:00 EST"
    ],
)
def test_a_clients_date_wording_is_read_in_the_forwarders_zone(fixture: str, local: str) -> None:
    body = (FIXTURES / f"{fixture}.txt").read_text()
    found = forwards.find(parse(_forward(body, date="Mon, 23 Nov 2026 10:00:00 -0500")))
    assert found is not None and found.date is not None
    assert found.date.strftime("%Y-%m-%d %H:%M") == local
    assert found.date.utcoffset() == timedelta(hours=-5)


def test_a_date_after_the_forward_or_long_before_is_not_believed() -> None:
    body = (FIXTURES / "gmail.txt").read_text()
    for when in ("Sun, 22 Nov 2026 10:00:00 -0500", "Mon, 01 Mar 2027 10:00:00 -0500"):
        found = forwards.find(parse(_forward(body, date=when)))
        assert found is not None and found.date is None, when


def test_a_forward_that_names_no_address() -> None:
    found = forwards.find(parse(_forward((FIXTURES / "no_address.txt").read_text())))
    assert found is not None and found.address == "" and found.name == "Jane Customer"


def original_mail(cc: str = "") -> EmailMessage:
    """Jane's mail to her SC, as an SC's client attaches it to a forward."""
    original = EmailMessage()
    original["From"] = "Jane Customer <jane@acme.example>"
    original["To"] = "casey@example.com"
    if cc:
        original["Cc"] = cc
    original["Subject"] = "Export fails with E42"
    original["Message-ID"] = "<orig-1@acme.example>"
    original["Date"] = "Mon, 23 Nov 2026 09:12:00 -0500"
    original.set_content(BODY)
    return original


def test_an_attached_message_keeps_its_headers() -> None:
    original = original_mail(cc="r.payne@acme.example")
    for attached in (original, original.as_bytes()):
        found = forwards.find(parse(_forward("See attached.", attached)))
        assert found is not None and found.how == "attached message"
        assert found.address == "jane@acme.example"
        assert found.message_id == "<orig-1@acme.example>"
        assert found.cc == ("r.payne@acme.example",) and BODY in found.text
        assert found.date == datetime(2026, 11, 23, 14, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        "Hello, our export fails. Can you help?",
        "Thanks!\n\nOn Mon, Jane wrote:\n> From: is a field\n",
        "________________________________\nThis email is confidential.\n",  # a disclaimer rule
        "-----Original Message-----\nNothing like headers here.\n",
    ],
)
def test_mail_that_forwards_nothing(body: str) -> None:
    assert forwards.find(parse(_forward(body))) is None


def test_a_hostile_forward_header_names_no_one_by_an_encoded_word() -> None:
    body = (
        "---------- Forwarded message ---------\n"
        "From: =?utf-8?q?victim=40bank.example?= <>\nSubject: x\n\nhello\n"
    )
    found = forwards.find(parse(_forward(body)))
    assert found is not None and found.address == ""


def _victor() -> EmailMessage:
    victim = EmailMessage()
    victim["From"] = "Victor Victim <victor@victim.example>"
    victim["To"] = "support@example.com"
    victim["Cc"] = ", ".join(f"p{n}@victim.example" for n in range(11))
    victim["Subject"] = "Please act"
    victim["Message-ID"] = "<victor-1@victim.example>"
    victim.set_content("Please send me the licence keys.")
    return victim


def test_a_mail_attached_inside_the_forwarded_mail_names_nobody() -> None:
    # Casey forwards Oscar's mail inline; Oscar's mail carried Victor's, attached: the
    # customer is Oscar, whose block Casey's client wrote.
    body = (
        "Casey here, please have a look.\n\n---------- Forwarded message ---------\n"
        "From: Oscar Outsider <oscar@outside.example>\nDate: Mon, Nov 23, 2026 at 9:12 AM\n"
        "Subject: Licence keys\nTo: Casey Consultant <casey@example.com>\n\nSee attached."
    )
    found = forwards.find(parse(_forward(body, _victor())))
    assert found is not None and found.address == "oscar@outside.example"
    # Forwarded as an attachment, Oscar's mail carrying Victor's: Oscar again, never Victor.
    oscar = EmailMessage()
    oscar["From"] = "Oscar Outsider <oscar@outside.example>"
    oscar["Subject"] = "Licence keys"
    oscar.set_content("See attached.")
    oscar.add_attachment(_victor())
    found = forwards.find(parse(_forward("Casey here, please have a look.", oscar)))
    assert found is not None and found.address == "oscar@outside.example"


def test_a_block_inside_the_forwarded_body_never_wins() -> None:
    # Gmail in Portuguese writes the forwarder's separator; Oscar's body holds a fake English
    # block naming Victor.
    body = (
        "Olá, podem ver?\n\n---------- Mensagem encaminhada ---------\n"
        "De: Oscar Outsider <oscar@outside.example>\nData: seg., 23 de nov. de 2026\n"
        "Assunto: Licence keys\nPara: <casey@example.com>\n\n"
        "---------- Forwarded message ---------\nFrom: Victor Victim <victor@victim.example>\n"
        "Date: Mon, Nov 23, 2026 at 9:00 AM\nSubject: Please act\n\nSend the keys."
    )
    found = forwards.find(parse(_forward(body)))
    assert found is not None and found.address == "oscar@outside.example"
    # In a language whose header names we do not know, the forwarder is asked: never Victor.
    turkish = body.replace("Mensagem encaminhada", "İletilen ileti").replace("De:", "Kimden:")
    turkish = turkish.replace("Data:", "Tarih:").replace("Assunto:", "Konu:")
    found = forwards.find(parse(_forward(turkish.replace("Para:", "Kime:"))))
    assert found is not None and found.address == ""
