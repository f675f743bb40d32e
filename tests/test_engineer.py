"""SEs running a case from their mail client: relay, commands, security (harness: real SQLite,
real SMTP sink, fake clock)."""

from __future__ import annotations

from datetime import timedelta

from gateway.cli.sink import Received
from tests.conftest import customer_mail, relay_reply
from tests.harness import Harness


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


def se_reply(
    h: Harness,
    body: str,
    sender: str = "sam@example.com",
    to: str | None = None,
    n: str = "r",
    headers: dict[str, str] | None = None,
) -> bytes:
    copy = kind(h, "se-copy")[0]
    return relay_reply(copy, body, f"{n}-{len(h.sink.messages)}", sender, to, headers)


async def open_ticket(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Exports fail with E42. Can you help?"))


async def test_the_se_copy_replies_to_a_per_ticket_relay_address(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    token = await h.scalar("SELECT token FROM tickets")
    assert copy["Reply-To"] == f"support+sup-1001.{token}@example.com"
    assert len(str(token)) == 10
    assert "Reply above this line" in copy.text()


async def test_an_se_reply_reaches_the_customer_threaded_with_the_sc(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(
        se_reply(
            h,
            "Hello Jane,\n\nPlease upgrade to 4.2.\n\nOn Mon, Support wrote:\n"
            "> ## Reply above this line ##\n> New ticket SUP-1001",
        )
    )
    [reply] = kind(h, "reply")
    assert reply["To"] == "jane@acme.example" and reply["Cc"] == "casey@example.com"
    assert reply["From"] == '"Sam Engineer (Example Support)" <support@example.com>'
    assert reply["In-Reply-To"] == "<customer-1@acme.example>"
    assert reply["Subject"] == "Re: Problem number 1 [SUP-1001]"
    assert reply["Auto-Submitted"] == ""  # a person's words
    assert "Please upgrade to 4.2." in reply.text()
    assert "Reply above" not in reply.text() and "New ticket" not in reply.text()
    assert "Please upgrade to 4.2." in reply.html()
    [confirm] = kind(h, "se-confirm")
    assert confirm["To"] == "sam@example.com" and "your answer went to" in confirm.text()
    assert await h.scalar("SELECT state FROM tickets") == "answered"
    await h.later(timedelta(days=1, hours=1))
    assert kind(h, "revised-eta") == []  # the reply met the date


async def test_eta_waiting_and_resolved_commands(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(se_reply(h, "#eta tomorrow 15:00\n#priority high\n"))
    [eta] = kind(h, "eta")
    assert "will get back to you by Tuesday 24 November, 15:00 EST" in eta.text()
    assert eta["Cc"] == "casey@example.com"
    assert await h.scalar("SELECT priority FROM tickets") == "high"
    assert kind(h, "reply") == []  # only commands: nothing else reaches the customer

    await h.receive(se_reply(h, "#waiting\nCould you send the logs?"))
    assert await h.scalar("SELECT state FROM tickets") == "waiting"
    await h.later(timedelta(days=3))
    assert kind(h, "revised-eta") == [] and kind(h, "status-update") == []

    await h.receive(se_reply(h, "#resolved\nFixed in 4.2, closing.", n="z"))
    assert await h.scalar("SELECT state FROM tickets") == "resolved"
    [done] = kind(h, "done")
    assert done["To"] == "casey@example.com"
    assert "Exports fail with E42" in done.text() and "Answered by:  Sam Engineer" in done.text()
    assert (
        await h.scalar(
            "SELECT count(*) FROM commitments WHERE met_at IS NULL"
            " AND missed_at IS NULL AND superseded_by IS NULL"
        )
        == 0
    )


async def test_note_and_assign(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(se_reply(h, "#note Customer is on the old plan.\n#assign Dana Default"))
    [note] = kind(h, "note")
    assert (note["To"], note["Cc"]) == ("sam@example.com, casey@example.com", "")
    assert "Customer is on the old plan." in note.text()
    assert all(m["To"] != "jane@acme.example" for m in h.sink.messages[2:])
    assert await h.scalar("SELECT se FROM tickets") == "dana@example.com"
    assigned = [m for m in kind(h, "se-copy") if m["To"] == "dana@example.com"]
    assert len(assigned) == 1 and "Assigned to you" in assigned[0]["Subject"]


async def test_an_invalid_command_does_nothing_but_tell_the_se(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(se_reply(h, "#eta someday\nHello Jane, fixed."))
    [error] = kind(h, "se-error")
    assert error["To"] == "sam@example.com"
    assert "#eta someday" in error.text() and "nothing reached the customer" in error.text()
    assert kind(h, "reply") == [] and kind(h, "eta") == []


async def test_a_date_and_an_answer_make_one_mail(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(se_reply(h, "#eta tomorrow 15:00\nHello Jane, a fix is on its way."))
    assert [m["X-Support-Kind"] for m in h.sink.messages[2:]] == ["reply", "se-confirm"]
    assert "We will get back to you by Tuesday 24 November" in kind(h, "reply")[0].text()


async def test_a_command_under_the_text_runs_and_the_se_is_told(h: Harness) -> None:
    await open_ticket(h)
    await h.receive(
        se_reply(
            h,
            "Hello Jane,\n\nFixed in 4.2.1, please upgrade.\n\nSam\n#resolved\n\n"
            "On Mon, Support wrote:\n> ## Reply above this line ##\n> New ticket SUP-1001",
        )
    )
    [reply] = kind(h, "reply")
    assert "#resolved" not in reply.text() and "#resolved" not in reply.html()
    assert "Fixed in 4.2.1, please upgrade." in reply.text()
    assert await h.scalar("SELECT state FROM tickets") == "resolved"
    confirm = kind(h, "se-confirm")[0].text()
    assert "\u201cHello Jane,\u201d (3 lines)" in confirm, "what the customer got"
    assert "ran #resolved, written below your text: taken out" in confirm

    # A bad one under the text stops everything, as at the top.
    await h.receive(se_reply(h, "One more thing, Jane.\n#eta soonish", n="x"))
    assert "#eta soonish" in kind(h, "se-error")[0].text()
    assert len(kind(h, "reply")) == 1


async def test_forged_and_wrong_token_replies_are_refused_and_reported(h: Harness) -> None:
    await open_ticket(h)
    copy = kind(h, "se-copy")[0]
    # A customer (or a forger) writing to the relay address:
    await h.receive(se_reply(h, "#resolved\nAll good", sender="mallory@evil.example"))
    # The right SE but a guessed token:
    wrong = copy["Reply-To"].split(".")[0] + ".aaaaaaaaaa@example.com"
    await h.receive(se_reply(h, "Hello", to=wrong, n="w"))
    assert kind(h, "reply") == [] and kind(h, "se-confirm") == []
    assert await h.scalar("SELECT state FROM tickets") == "new"
    alerts = kind(h, "security-alert")
    assert [a["To"] for a in alerts] == ["lee@example.com", "lee@example.com"]
    assert "mallory@evil.example is not a configured SE or SC" in alerts[0].text()
    assert "wrong or unknown relay token for SUP-1001" in alerts[1].text()
    actions = await h.joined("SELECT action FROM inbox WHERE id > 1 ORDER BY id")
    assert actions == "refused,refused"


async def test_trusted_authentication_results_are_required_when_configured(
    h: Harness,
) -> None:
    h.processor.services.config = h.processor.services.config.model_copy(
        update={
            "relay": h.processor.services.config.relay.model_copy(
                update={"trusted_authserv_ids": ["mx.example.com"]}
            )
        }
    )
    await open_ticket(h)
    await h.receive(
        se_reply(h, "Hello", headers={"Authentication-Results": "evil.example; dkim=pass"})
    )
    assert kind(h, "reply") == []
    await h.receive(
        se_reply(
            h,
            "Hello again",
            n="ok",
            headers={"Authentication-Results": "mx.example.com; dkim=pass header.d=example.com"},
        )
    )
    assert len(kind(h, "reply")) == 1


async def test_an_sc_writing_in_the_thread_is_not_the_engineers_answer(h: Harness) -> None:
    await open_ticket(h)
    note = customer_mail(
        "sc",
        sender="casey@example.com",
        name="Casey Consultant",
        body="Jane, Sam will be in touch.",
        in_reply_to="<customer-1@acme.example>",
    )
    await h.receive(note)
    assert await h.scalar("SELECT action FROM inbox ORDER BY id DESC LIMIT 1") == "attach"
    assert await h.scalar("SELECT state FROM tickets") == "new"
    await h.later(timedelta(hours=24, minutes=10))
    assert len(kind(h, "revised-eta")) == 1  # the reply date we gave is still owed


async def test_a_customer_side_mail_failing_dmarc_cannot_join_the_ticket(h: Harness) -> None:
    h.processor.services.config = h.processor.services.config.model_copy(
        update={
            "relay": h.processor.services.config.relay.model_copy(
                update={"trusted_authserv_ids": ["mx.example.com"]}
            )
        }
    )
    await open_ticket(h)
    forged = customer_mail(
        "forged",
        subject="Re: Problem number 1 [SUP-1001]",
        body="Please also send everything to my colleague.",
        headers={
            "Cc": "eve@evil.example",
            "Authentication-Results": "mx.example.com; dmarc=fail header.from=acme.example;"
            " spf=fail smtp.mailfrom=evil.example",
        },
    )
    await h.receive(forged)
    assert await h.scalar("SELECT count(*) FROM tickets") == 2
    second = await h.scalar("SELECT id FROM tickets WHERE key = 'SUP-1002'")
    assert "eve@evil.example" not in await h.joined(
        "SELECT address FROM participants WHERE ticket_id = 1"
    )
    copy = next(m for m in kind(h, "se-copy") if m["X-Support-Ticket"] == "SUP-1002")
    assert "Mentions:  SUP-1001" in copy.text() and "not authenticated" in copy.text()
    assert second is not None
    # On the forged mail's own ticket eve waits for Sam: his answer there does not reach her.
    assert "Pending:   eve@evil.example" in copy.text()
    sam_auth = {"Authentication-Results": "mx.example.com; dkim=pass header.d=example.com"}
    await h.receive(relay_reply(copy, "Which colleague do you mean?", "p-1", headers=sam_auth))
    [asked] = [m for m in kind(h, "reply") if m["X-Support-Ticket"] == "SUP-1002"]
    assert "eve@evil.example" not in asked.rcpt
    await h.receive(relay_reply(copy, "#cc add eve@evil.example\n", "p-2", headers=sam_auth))
    confirmed = kind(h, "se-confirm")[-1]
    assert "eve@evil.example confirmed" in confirmed.text()
    # Sam's next answer on SUP-1001 reaches Jane's side only.
    sam = {"Authentication-Results": "mx.example.com; dkim=pass header.d=example.com"}
    await h.receive(se_reply(h, "Your licence key is ABCD-1234.", headers=sam))
    [reply] = [m for m in kind(h, "reply") if m["X-Support-Ticket"] == "SUP-1001"]
    assert "eve@evil.example" not in reply.rcpt
    # Jane's real mail (aligned DKIM) threads as before.
    await h.receive(
        customer_mail(
            "real",
            subject="Re: Problem number 1 [SUP-1001]",
            body="Thanks, that worked.",
            headers={"Authentication-Results": "mx.example.com; dkim=pass header.d=acme.example"},
        )
    )
    assert await h.scalar("SELECT count(*) FROM tickets") == 2


async def test_dates_moved_by_a_wait_are_told_to_the_customer(h: Harness) -> None:
    """Sam promises tomorrow 15:00 and waits on Jane; she answers two business days later with
    a short line: her acknowledgement says the moved date, so the date a later mail calls "we
    said" is one she was told."""
    await open_ticket(h)
    await h.receive(se_reply(h, "#eta tomorrow 15:00\n"))
    await h.receive(se_reply(h, "#waiting\n", n="w"))  # (asked by phone, say)
    await h.later(timedelta(days=2))  # Wednesday 10:00: two business days of waiting
    ack = kind(h, "ack")[0]
    await h.receive(customer_mail("logs", body="Here they are.", in_reply_to=ack["Message-ID"]))
    [told] = [m for m in kind(h, "ack") if m is not ack]
    # The soonest date that moved: her question, due Tuesday 10:00, plus the 18 business hours
    # she took (Thursday 26 November is Thanksgiving): Friday 10:00.
    assert "by Friday 27 November, 10:00 EST" in told.text(), told.text()
    assert await h.scalar("SELECT state FROM tickets") != "waiting"


async def test_the_se_corrects_the_record_of_points_by_number(h: Harness) -> None:
    """Every confirmation numbers the customer's points; #answered <n> records one answered
    (by phone, say), #open <n> opens one the gateway took as answered; a number the ticket
    does not have does nothing but say so."""
    await h.receive(customer_mail(1, body="Why does the export stop? Is 4.2 affected?"))
    await h.receive(se_reply(h, "#answered 2\n"))
    [confirm] = kind(h, "se-confirm")
    text = " ".join(confirm.text().split())
    assert "point 2 recorded as answered" in text
    assert "1. “Why does the export stop?” open, due" in text
    assert "2. “Is 4.2 affected?” answered" in text
    assert "(to correct it: #answered <n>, #open <n>)" in text
    open_points = "SELECT point FROM commitments WHERE kind = 'point' AND met_at IS NULL"
    assert await h.joined(open_points + " AND superseded_by IS NULL") == (
        "Why does the export stop?"
    )

    await h.receive(se_reply(h, "#open 2\n", n="o"))
    text = " ".join(kind(h, "se-confirm")[-1].text().split())
    assert "point 2 is open again, due" in text and "the customer is not told" in text
    assert "2. “Is 4.2 affected?” open, due" in text
    assert (
        await h.scalar(
            "SELECT promised FROM commitments WHERE point = 'Is 4.2 affected?' ORDER BY id DESC"
        )
        == 0
    ), "a date of ours, not one told to the customer"

    await h.receive(se_reply(h, "#answered 5\n", n="x"))
    [error] = kind(h, "se-error")
    assert "SUP-1001 has 2 point(s): there is no point 5" in " ".join(error.text().split())
