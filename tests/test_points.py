"""Finding the customer's points, and an SE answering some of them inline."""

from __future__ import annotations

from gateway.cli.sink import Received
from gateway.mail import reading
from gateway.mail.points import extract
from gateway.mail.staff_reply import split_inline
from tests.conftest import answered_inline, customer_mail, relay_reply
from tests.harness import Harness

BUG_LIST = """Hello support,

We upgraded to 4.2 yesterday and found these bugs:

1. The CSV export is empty.
2. The PDF report has no totals.
3) Dates are shown in UTC instead of local time.
- The logo is missing on invoices
* Search ignores accents

Can you confirm these are known? When will they be fixed? Also, is there a way to roll back
to 4.1? Why?

Thanks a lot,
Jane
--
Jane Customer, Acme | Questions? Call +1 555 0100

On Mon, 23 Nov 2026 at 09:00, Example Support <support@example.com> wrote:
> Did the upgrade finish?
> Is everything working?
"""


def test_a_list_of_bugs_and_several_questions_in_one_paragraph() -> None:
    assert extract(BUG_LIST) == [
        "The CSV export is empty.",
        "The PDF report has no totals.",
        "Dates are shown in UTC instead of local time.",
        "The logo is missing on invoices",
        "Search ignores accents",
        "Can you confirm these are known?",
        "When will they be fixed?",
        "Also, is there a way to roll back to 4.1? Why?",
    ]


def test_quoted_history_and_signature_questions_are_ignored() -> None:
    points = extract(BUG_LIST)
    assert not any("upgrade finish" in p or "everything working" in p for p in points)
    assert not any("Call" in p for p in points)


def test_html_only_mail() -> None:
    html = (
        "<html><body><p>Hi,</p><p>The monthly report shows wrong totals. Could you check"
        " it?</p><ol><li>January is off by 10%</li><li>February is empty</li></ol>"
        "<blockquote>Earlier: is the fix deployed?</blockquote></body></html>"
    )
    assert extract("", html) == [
        "Could you check it?",
        "January is off by 10%",
        "February is empty",
    ]


def test_other_languages_and_the_cap() -> None:
    assert extract("¿Podéis ayudarme con el informe? Gracias.") == [
        "¿Podéis ayudarme con el informe?"
    ]
    assert extract("レポートが壊れています。いつ直りますか？") == [
        "レポートが壊れています。いつ直りますか？"
    ]
    many = "\n".join(f"{n}. bug number {n}" for n in range(1, 20))
    assert len(extract(many)) == 10
    assert extract("Just letting you know the export works again. Thanks!") == []


def test_split_inline_finds_answers_under_each_quoted_point() -> None:
    body = (
        "Hi Jane, answers below.\n\nOn Mon, Support <support@example.com> wrote:\n"
        "> ## Reply above this line ##\n> Answer inline: write under each point\n>\n"
        "> > The CSV export is empty.\nFixed in 4.2.1, out today.\n\n"
        "> > The PDF report has no totals.\n>\n>\n"
        "> > Dates are shown in UTC instead of local time.\nSet the time zone under Settings.\n"
        "> The customer's message is attached\n"
    )
    points = [
        "The CSV export is empty.",
        "The PDF report has no totals.",
        "Dates are shown in UTC instead of local time.",
    ]
    r = split_inline(reading.own_lines(reading.lines_of(body)), points)
    assert r.general == "Hi Jane, answers below."
    assert r.answers == (
        ("The CSV export is empty.", "Fixed in 4.2.1, out today."),
        ("Dates are shown in UTC instead of local time.", "Set the time zone under Settings."),
    )
    assert r.unanswered == ("The PDF report has no totals.",)


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


async def test_three_questions_two_answered_the_third_carried_over_end_to_end(
    h: Harness,
) -> None:
    body = "Hello,\n\nWhy does the export fail? Is 4.2 affected? How do I get the logs?\n\nJane"
    await h.receive(customer_mail(1, body=body))
    [ack] = kind(h, "ack")
    # Each point quoted back, and the one date they share said once.
    assert (
        "What we understood:\n> Why does the export fail?\n> Is 4.2 affected?\n"
        "> How do I get the logs?\n\n"
        "Sam Engineer will answer your questions by Tuesday 24 November, 10:00 EST."
    ) in ack.text().replace("\r\n", "\n")
    assert ack.text().count("Tuesday 24 November") == 1
    assert await h.scalar("SELECT count(*) FROM commitments WHERE kind = 'point'") == 3
    copy = kind(h, "se-copy")[0]
    skeleton = copy.text().replace("\r\n", "\n")
    assert "> Why does the export fail?\n\n\n> Is 4.2 affected?" in skeleton
    reply = answered_inline(
        copy,
        {"Why does the export fail?": "A bad index.", "Is 4.2 affected?": "Yes, fixed in 4.2.1."},
    )
    await h.receive(relay_reply(copy, reply))
    [relayed] = kind(h, "reply")
    text = relayed.text().replace("\r\n", "\n")
    assert "> Why does the export fail?\nA bad index." in text
    assert "> Is 4.2 affected?\nYes, fixed in 4.2.1." in text
    assert (
        'Still open: "How do I get the logs?" - you will hear back by '
        "Tuesday 24 November, 17:00 EST."
    ) in text
    assert "Reply above" not in text and "assigned to you" not in text
    [confirm] = kind(h, "se-confirm")
    assert "carried over" in confirm.text() and "How do I get the logs?" in confirm.text()
    rows = await h.joined(
        "SELECT point || '=' || CASE WHEN met_at IS NULL THEN 0 ELSE 1 END FROM commitments"
        " WHERE kind = 'point' AND superseded_by IS NULL ORDER BY id",
        "|",
    )
    assert rows == ("Why does the export fail?=1|Is 4.2 affected?=1|How do I get the logs?=0")
