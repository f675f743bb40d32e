"""The whole conversation (first part): a follow-up that asks something new is acknowledged with
a date for it; one that asks nothing new is only copied to the SE; a customer writing again on a
resolved ticket reopens it, unless it is a courtesy or the ticket was resolved long ago."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.promise import ledger
from gateway.store import tickets
from tests.conftest import customer_mail, harness, relay_reply
from tests.harness import Harness, transaction
from tests.test_engineer import se_reply
from tests.test_forwards import FIXTURES, original_mail


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


def follow_up(n: str, body: str, sender: str = "jane@acme.example") -> bytes:
    return customer_mail(
        n,
        sender=sender,
        subject="Re: Problem number 1 [SUP-1001]",
        in_reply_to="<customer-1@acme.example>",
        body=body + "\n\nOn Mon, Support wrote:\n> Thank you for your message.\n",
    )


async def test_a_follow_up_with_a_new_question_gets_its_own_date(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))  # Monday 10:00
    h.clock.advance(timedelta(hours=3))  # Monday 13:00
    await h.receive(follow_up("f1", "Also: does the import fail too?\n\nJane"))
    acks = kind(h, "ack")
    assert len(acks) == 2
    second = acks[1]
    assert (second["To"], second["Cc"]) == ("jane@acme.example", "casey@example.com")
    assert second["In-Reply-To"] == "<customer-f1@acme.example>"
    text = second.text()
    assert text.startswith("Dear Jane,\r\n\r\nThank you for your message on ticket SUP-1001.")
    assert "> Also: does the import fail too?" in text
    assert "Tuesday 24 November, 13:00 EST" in text
    assert "Why does the export fail?" not in text, "only the new point"
    points = await h.joined(
        "SELECT point FROM commitments WHERE kind = 'point' AND met_at IS NULL ORDER BY id", " | "
    )
    assert points == "Why does the export fail? | Also: does the import fail too?"
    copy = kind(h, "se-copy")[1]
    assert "] Follow-up:" in copy["Subject"]
    assert "> (new) Also: does the import fail too?" in copy.text()
    assert "New:       1 new point(s)" in copy.text()
    reason = await h.scalar("SELECT reason FROM decisions WHERE step = 'plan:follow-up'")
    assert reason == "1 new point(s), each dated"


async def test_a_follow_up_that_asks_nothing_new_is_only_copied_to_the_se(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    await h.receive(follow_up("f1", "Thanks, see the attached log."))
    await h.receive(follow_up("f2", "Once more:\n\nWhy  does the export fail?"))  # asked before
    assert len(kind(h, "ack")) == 1
    assert len(kind(h, "se-copy")) == 3
    reasons = await h.joined(
        "SELECT reason FROM decisions WHERE step = 'plan:follow-up' ORDER BY id", " | "
    )
    assert str(reasons).count("nothing new asked") == 2


async def _resolved(h: Harness, days_ago: float) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    async with transaction(h.store) as db:
        ledger.resolve(db, tickets.get(db, 1), h.clock.now())
    h.clock.advance(timedelta(days=days_ago))


async def test_writing_again_on_a_resolved_ticket_reopens_it(h: Harness) -> None:
    await _resolved(h, days_ago=2)  # resolved Monday; the customer writes Wednesday
    await h.receive(follow_up("again", "It broke again tonight. Can you look?"))
    assert await h.scalar("SELECT state FROM tickets") == "new"
    assert await h.scalar("SELECT count(*) FROM tickets") == 1
    reopened = kind(h, "ack")[1]
    assert "Thank you for letting us know. We have reopened ticket SUP-1001." in reopened.text()
    assert (reopened["To"], reopened["Cc"]) == ("jane@acme.example", "casey@example.com")
    copy = kind(h, "se-copy")[1]
    assert copy["Subject"].startswith("[SUP-1001] Reopened:")
    assert copy["To"] == "sam@example.com" and copy["Cc"] == "casey@example.com"
    open_dates = await h.scalar(
        "SELECT count(*) FROM commitments WHERE met_at IS NULL AND missed_at IS NULL"
        " AND superseded_by IS NULL AND kind IN ('actionable', 'resolution')"
    )
    assert open_dates == 2, "a reply date and a resolution target again"


async def test_a_thank_you_on_a_resolved_ticket_reopens_nothing(h: Harness) -> None:
    await _resolved(h, days_ago=1)
    await h.receive(follow_up("thanks", "Thanks, that fixed it!"))
    assert await h.scalar("SELECT state FROM tickets") == "resolved"
    assert len(kind(h, "ack")) == 1
    assert "a courtesy on a resolved ticket" in str(
        await h.scalar("SELECT reason FROM decisions WHERE step = 'ticket' AND inbox_id = 2")
    )


async def test_long_after_resolution_a_new_ticket_links_the_old_one(h: Harness) -> None:
    await _resolved(h, days_ago=31)
    await h.receive(follow_up("later", "The export fails again. Is it the same bug?"))
    assert await h.scalar("SELECT count(*) FROM tickets") == 2
    assert await h.scalar("SELECT state FROM tickets WHERE id = 1") == "resolved"
    copy = next(m for m in kind(h, "se-copy") if m["X-Support-Ticket"] == "SUP-1002")
    assert "Mentions:  SUP-1001: the customer wrote in its thread; it was resolved on" in (
        copy.text()
    )
    ack = next(m for m in kind(h, "ack") if m["X-Support-Ticket"] == "SUP-1002")
    assert "[SUP-1002]" in ack["Subject"] and "SUP-1001" not in ack["Subject"]


# -- participants: everyone on the customer side stays in CC -------------------------------------


def colleague_cc(n: int | str, cc: str, sender: str = "jane@acme.example", **kw: str) -> bytes:
    return customer_mail(n, sender=sender, headers={"Cc": cc}, **kw)


async def test_the_customers_colleagues_in_cc_stay_in_cc(h: Harness) -> None:
    # Jane copies a colleague, our SE, another account's person and a plus-address of ours.
    cc = (
        "Rosalie Ops <r.payne@acme.example>, sam@example.com, li@globex.example,"
        " support+billing@example.com"
    )
    await h.receive(colleague_cc(1, cc, body="Why does the export fail?"))
    [ack] = kind(h, "ack")
    assert ack["To"] == "jane@acme.example"
    assert ack["Cc"] == "r.payne@acme.example, casey@example.com"
    copy = kind(h, "se-copy")[0]
    assert "In CC:     r.payne@acme.example" in copy.text()
    people = await h.joined("SELECT address FROM participants ORDER BY ticket_id, rowid")
    assert people == "jane@acme.example,r.payne@acme.example", "never staff, us or other accounts"

    # Rosalie writes later: shown as herself, thanked with Jane (and the SC) in CC.
    await h.receive(
        customer_mail(
            "rp",
            sender="r.payne@acme.example",
            name="Rosalie Ops",
            subject="Re: Problem number 1 [SUP-1001]",
            in_reply_to="<customer-1@acme.example>",
            body="Does it also affect the nightly import?",
        )
    )
    second = kind(h, "ack")[1]
    assert second["To"] == "r.payne@acme.example"
    assert second["Cc"] == "jane@acme.example, casey@example.com"
    follow = kind(h, "se-copy")[1]
    assert "From:      Rosalie Ops <r.payne@acme.example>" in follow.text()

    # The engineer's reply and the revised dates go to both, with the SC.
    await h.later(timedelta(days=1, minutes=6))  # the reply date passes unanswered
    [revised] = kind(h, "revised-eta")
    assert revised["To"] == "jane@acme.example"
    assert revised["Cc"] == "r.payne@acme.example, casey@example.com"


async def test_a_ticket_keeps_at_most_the_cap_of_people_each_once(h: Harness) -> None:
    # Jane copies herself (in capitals), a colleague twice (in two spellings) and eleven more:
    # the ticket keeps her and the first nine others (safety.max_participants, 10), each once,
    # in the order the mail named them; everyone kept is in CC.
    names = ["a1@acme.example", "A1@ACME.example", "JANE@acme.example"]
    names += [f"a{n}@acme.example" for n in range(2, 13)]
    await h.receive(colleague_cc(1, ", ".join(names), body="Why does the export fail?"))
    kept = ["jane@acme.example", *(f"a{n}@acme.example" for n in range(1, 10))]
    people = await h.joined("SELECT address FROM participants ORDER BY ticket_id, rowid")
    assert people == ",".join(kept)
    [ack] = kind(h, "ack")
    assert ack["Cc"] == ", ".join([*kept[1:], "casey@example.com"])
    # Her next mail copies one more: the ticket is full, nobody new joins or is copied.
    await h.receive(
        colleague_cc(
            2,
            "a13@acme.example",
            subject="Re: Problem number 1 [SUP-1001]",
            in_reply_to="<customer-1@acme.example>",
            body="Does it also affect the nightly import?",
        )
    )
    assert await h.joined("SELECT address FROM participants ORDER BY rowid") == ",".join(kept)
    assert "a13@acme.example" not in kind(h, "ack")[1]["Cc"]


async def test_an_se_adds_and_removes_people_with_cc_commands(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    await h.receive(se_reply(h, "#cc add ops@acme.example\nHello Jane, fixed in 4.2.1."))
    [reply] = kind(h, "reply")
    assert reply["Cc"] == "ops@acme.example, casey@example.com"
    confirm = kind(h, "se-confirm")[-1]
    assert "ops@acme.example added" in confirm.text()
    await h.receive(se_reply(h, "#cc remove ops@acme.example\nOne more thing, Jane.", n="x"))
    assert kind(h, "reply")[-1]["Cc"] == "casey@example.com"
    await h.receive(se_reply(h, "#cc add lee@example.com\nHi", n="y"))
    assert "is one of us" in kind(h, "se-error")[-1].text()


# -- subjects and tokens ------------------------------------------------------------------------


async def test_a_token_without_brackets_threads_only_for_the_tickets_people(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    # Jane starts a fresh mail (no thread headers) naming the ticket in her own words.
    await h.receive(customer_mail("j2", subject="AW: SUP-1001 still failing", body="Any news?"))
    assert await h.scalar("SELECT count(*) FROM tickets") == 1
    assert "without brackets, by a participant" in str(
        await h.scalar("SELECT reason FROM decisions WHERE step = 'thread' AND inbox_id = 2")
    )
    # Someone who is not on the ticket, naming it in parentheses: a ticket of their own.
    await h.receive(
        customer_mail("x", sender="li@globex.example", subject="Same as (SUP-1001)?", body="Hi?")
    )
    assert await h.scalar("SELECT count(*) FROM tickets") == 2
    copy = next(m for m in kind(h, "se-copy") if m["X-Support-Ticket"] == "SUP-1002")
    assert "SUP-1001" in copy.text(), "the SE is told which ticket it names"
    ack = next(m for m in kind(h, "ack") if m["X-Support-Ticket"] == "SUP-1002")
    assert ack["Subject"] == "Re: Same as ? [SUP-1002]"


async def test_every_subject_we_send_has_one_prefix_and_one_token(h: Harness) -> None:
    await h.receive(customer_mail(1, subject="RE: AW: Export [SUP-77] fails", body="Why?"))
    await h.receive(follow_up("f1", "And does the import fail too?"))
    for mail in h.sink.messages:
        assert mail["Subject"].count("SUP-") == 1, mail["Subject"]
    assert kind(h, "ack")[0]["Subject"] == "Re: Export fails [SUP-1001]"
    assert kind(h, "ack")[1]["Subject"] == "Re: Export fails [SUP-1001]"


# -- forwards from our own people ---------------------------------------------------------------


def sc_forward(body: str, n: str = "1", attach: object = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Casey Consultant <casey@example.com>"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Fwd: Export fails with E42"
    msg["Message-ID"] = f"<fwd-{n}@example.com>"
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 -0500"
    msg.set_content(body)
    if isinstance(attach, EmailMessage):
        msg.add_attachment(attach)
    return msg.as_bytes()


async def test_an_sc_forward_opens_the_ticket_for_the_customer(h: Harness) -> None:
    h.clock.advance(timedelta(hours=2))  # the forward reaches us at noon
    await h.receive(sc_forward((FIXTURES / "gmail.txt").read_text()))
    who = await h.scalar(
        "SELECT customer_address || ' ' || customer_name || ' ' || se FROM tickets"
    )
    assert who == "jane@acme.example Jane Customer sam@example.com"
    [ack] = kind(h, "ack")
    assert ack["To"] == "jane@acme.example"
    assert ack["Cc"] == "r.payne@acme.example, casey@example.com"
    assert ack["Subject"] == "Re: Export fails with E42 [SUP-1001]"
    text = ack.text()
    assert text.startswith("Dear Jane,")
    assert "Thank you for your message of Monday 23 November, 09:12 EST." in text
    assert "Casey Consultant has passed it on to us" in text
    assert "Tuesday 24 November, 12:00 EST" in text, "a day from the forward, not before"
    copy = kind(h, "se-copy")[0]
    assert copy["To"] == "sam@example.com" and copy["Cc"] == "casey@example.com"
    assert "Forwarded: by Casey Consultant (inline)" in copy.text()
    assert "Their note: Hi support, Jane at Acme is stuck" in copy.text()
    assert "From:      Jane Customer <jane@acme.example>" in copy.text()
    assert not [m for m in h.sink.messages if m["X-Support-Kind"] == "ack" and "casey" in m["To"]]

    # The customer replies to our acknowledgement: the same ticket.
    await h.receive(
        customer_mail(
            "j2",
            subject="Re: Export fails with E42 [SUP-1001]",
            in_reply_to=ack["Message-ID"],
            body="Thanks. The log is attached.",
        )
    )
    assert await h.scalar("SELECT count(*) FROM tickets") == 1


async def test_a_forwarded_attachment_threads_with_the_customers_own_mail(h: Harness) -> None:
    original = original_mail()
    await h.receive(sc_forward("Please help Jane.", attach=original))
    [ack] = kind(h, "ack")
    assert ack["In-Reply-To"] == "<orig-1@acme.example>", "her client threads our answer"
    assert "Thank you for your message of Monday 23 November, 09:12 EST" in ack.text()
    # The same mail forwarded again (or by another colleague) opens nothing new.
    await h.receive(sc_forward("Again, in case.", n="2", attach=original))
    assert await h.scalar("SELECT count(*) FROM tickets") == 1 and len(kind(h, "ack")) == 1


async def test_a_forward_naming_no_address_asks_the_forwarder(h: Harness) -> None:
    await h.receive(sc_forward((FIXTURES / "no_address.txt").read_text()))
    assert await h.scalar("SELECT count(*) FROM tickets") == 0
    [query] = h.sink.messages
    assert query["X-Support-Kind"] == "forward-query" and query["To"] == "casey@example.com"
    assert query["In-Reply-To"] == "<fwd-1@example.com>"
    assert "its From line names no address" in query.text()
    assert "Nothing has been sent to anyone" in query.text()
    assert await h.scalar("SELECT action FROM inbox") == "ask-forwarder"


# -- attachments both ways ----------------------------------------------------------------------


def with_files(
    raw: bytes, html: str = "", inline: bytes = b"", files: dict[str, bytes] | None = None
) -> bytes:
    msg = message_from_bytes(raw, policy=policy.default)
    if html:
        msg.add_alternative(html, subtype="html")
        related = msg.get_payload()[1]
        related.add_related(inline, "image", "png", cid="<shot1@sam.example>")
    for name, data in (files or {}).items():
        msg.add_attachment(data, "application", "octet-stream", filename=name)
    return msg.as_bytes()


async def test_an_se_s_files_reach_the_customer(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    raw = with_files(
        se_reply(h, "Hello Jane, the patch is attached; see the screenshot."),
        html='<p>Hello Jane, see <img src="cid:shot1@sam.example"></p>',
        inline=b"\x89PNG screenshot",
        files={"../../fix.patch": b"--- a\n+++ b\n"},
    )
    await h.receive(raw)
    [reply] = kind(h, "reply")
    sent = message_from_bytes(reply.raw, policy=policy.default)
    parts = {p.get_filename(): p for p in sent.walk() if p.get_filename()}
    assert parts["fix.patch"].get_content() == b"--- a\n+++ b\n", "a name, never a path"
    image = next(p for p in sent.walk() if p.get("Content-ID") == "<shot1@sam.example>")
    assert image.get_content() == b"\x89PNG screenshot"
    assert 'src="cid:shot1@sam.example"' in reply.html(), "the image shows in our HTML"
    assert "with your files: attachment-1, fix.patch" in kind(h, "se-confirm")[0].text()


async def test_a_file_over_the_limit_is_a_note_not_a_silence(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:

    async with harness(make_config(safety={"max_attachment_bytes": 1000}), clock, sink) as h:
        await _over_the_limit(h)


async def _over_the_limit(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    raw = with_files(
        se_reply(h, "Hello Jane, two files."),
        files={"small.txt": b"x" * 100, "dump.bin": b"y" * 5000},
    )
    await h.receive(raw)
    [reply] = kind(h, "reply")
    assert "The file dump.bin (4 KB) was too large to send by mail" in reply.text()
    assert "Sam Engineer will send it to you another way" in reply.text()
    assert b"small.txt" in reply.raw and b'dump.bin"' not in reply.raw
    confirm = kind(h, "se-confirm")[0].text()
    assert "not sent, over the limit of 1000 bytes a mail: dump.bin (4 KB)" in confirm


async def test_a_customers_files_reach_the_se(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    await h.receive(
        with_files(follow_up("f1", "The log is attached."), files={"export.log": b"E42\n" * 500})
    )
    copy = kind(h, "se-copy")[1]
    assert "Files:     export.log (1 KB)" in copy.text()
    sent = message_from_bytes(copy.raw, policy=policy.default)
    [original] = [p for p in sent.walk() if p.get_content_type() == "message/rfc822"]
    inner = original.get_payload()[0]
    assert [p.get_filename() for p in inner.walk() if p.get_filename()] == ["export.log"]


async def test_a_customers_mail_over_the_limit_stays_with_us(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    async with harness(make_config(safety={"max_attachment_bytes": 1000}), clock, sink) as h:
        await h.receive(customer_mail(1, body="Why does the export fail?"))
        big = with_files(follow_up("f2", "Another log."), files={"big.log": b"E" * 5000})
        await h.receive(big)
        copy = kind(h, "se-copy")[1]
        assert "big.log (4 KB)" in copy.text()
        assert "over the limit for copies: the gateway keeps it (inbox message 2)" in copy.text()
        assert b"message/rfc822" not in copy.raw


# -- hand-over and merge ------------------------------------------------------------------------


async def test_the_new_se_gets_the_whole_story(h: Harness) -> None:
    await h.receive(
        colleague_cc(1, "Rosalie Ops <r.payne@acme.example>", body="Why does the export fail?")
    )
    h.clock.advance(timedelta(hours=1))
    await h.receive(follow_up("f1", "Also: does the import fail too?"))
    h.clock.advance(timedelta(hours=1))
    await h.receive(se_reply(h, "Hello Jane, the export: a bad index, fixed in 4.2.1."))
    await h.receive(se_reply(h, "#assign Dana Default\n#note Dana knows the importer.", n="a"))
    [handed] = [m for m in kind(h, "se-copy") if m["To"] == "dana@example.com"]
    text = handed.text().replace("\r\n", "\n")
    assert (
        "People:    jane@acme.example, r.payne@acme.example (and the SC, casey@example.com)" in text
    )
    # The answer covered both points (prose answers all): only the resolution target is open.
    assert "Open dates (what the customer was told):\n- a resolution by Friday 27" in text
    story = text[text.index("The story so far") :]
    order = [
        "an internal note",  # sent with this very reply
        "the answer",
        "our acknowledgement",  # of the follow-up's new point
        "Jane Customer <jane@acme.example>, wrote\nAlso: does the import fail too?",
        "our acknowledgement",
        "Jane Customer <jane@acme.example>, wrote (the first mail)\nWhy does the export fail?",
    ]
    at = 0
    for item in order:
        at = story.index(item, at) + 1
    assert "Dana knows the importer." in story
    assert "Hello Jane, the export: a bad index" in story
    assert "On Mon, Support wrote" not in story, "quotes are cut"


async def test_merge_joins_two_tickets_of_one_customer(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    await h.receive(customer_mail(2, body="Is the nightly import affected too?"))
    await h.receive(customer_mail("other", sender="li@globex.example", body="Hello?"))
    second_ack = next(m for m in kind(h, "ack") if m["X-Support-Ticket"] == "SUP-1002")
    open_before = await h.scalar(
        "SELECT count(*) FROM commitments WHERE ticket_id = 2 AND met_at IS NULL"
        " AND missed_at IS NULL AND superseded_by IS NULL"
    )
    await h.receive(se_reply(h, "#merge SUP-1003", n="bad"))
    assert "SUP-1003 is another customer's ticket" in kind(h, "se-error")[0].text()

    await h.receive(se_reply(h, "#merge [SUP-1002]"))
    [notice] = kind(h, "merge-notice")
    assert (notice["To"], notice["Cc"]) == ("jane@acme.example", "casey@example.com")
    assert notice["Subject"] == "Re: Problem number 1 [SUP-1001]"
    assert "Please write to us under [SUP-1001] from now on" in notice.text()
    assert "SUP-1002 merged into SUP-1001" in kind(h, "se-confirm")[0].text()
    state = await h.scalar("SELECT state || ' ' || merged_into FROM tickets WHERE id = 2")
    assert state == "resolved 1"
    moved = await h.scalar(
        "SELECT count(*) FROM commitments c JOIN commitments old ON old.superseded_by = c.id"
        " WHERE c.ticket_id = 1 AND old.ticket_id = 2"
    )
    assert moved == open_before, "each open date moved, the old ones superseded"

    # Jane answers in the merged ticket's thread, or names it: both reach SUP-1001.
    await h.receive(
        customer_mail(
            "r1",
            subject="Re: Problem number 2 [SUP-1002]",
            in_reply_to=second_ack["Message-ID"],
            body="Here is the import log.",
        )
    )
    await h.receive(customer_mail("r2", subject="About SUP-1002", body="And one more log."))
    filed = await h.joined(
        "SELECT ticket_id FROM inbox WHERE id > 4 AND action = 'follow-up' ORDER BY id"
    )
    assert filed == "1,1"
    assert await h.scalar("SELECT state FROM tickets WHERE id = 2") == "resolved", "not reopened"

    # An SE answering on the merged ticket's copy is told where to go.
    copy2 = next(m for m in kind(h, "se-copy") if m["X-Support-Ticket"] == "SUP-1002")
    await h.receive(relay_reply(copy2, "Hello Jane", "late"))
    assert "SUP-1002 was merged into SUP-1001" in kind(h, "se-error")[-1].text()
