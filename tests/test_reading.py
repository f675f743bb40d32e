"""Reading a reply: the writer's new words from real mail clients (tests/data/replies), and the
layouts the corpus lacks, each as its client writes it."""

from __future__ import annotations

import pytest

from gateway.mail import reading
from tests.replies import Reply, corpus, same

CASES = list(corpus())


@pytest.mark.parametrize("reply", CASES, ids=[r.name for r in CASES])
def test_the_writers_words_from_a_real_client(reply: Reply) -> None:
    got = reading.read(reply.text, reply.html)
    assert same(got, reply.words), f"{reply.name}: {got!r}"


def test_the_corpus_covers_html_only_bottom_posted_and_no_words() -> None:
    assert sum(r.html_only for r in CASES) >= 7
    assert any(r.words == "" for r in CASES)
    assert len(CASES) >= 21


def test_an_outlook_html_reply_stops_at_its_header_block() -> None:
    # Outlook on the web: the copy follows a rule and divRplyFwdMsg, unquoted.
    html = (
        '<div dir="ltr">Please upgrade to 4.2.</div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Support<br><b>Sent:</b> Monday</div>'
        "<div>## Reply above this line ##<br>&gt; Why does it stop?<br>Routed: account</div>"
    )
    assert reading.read("", html) == "Please upgrade to 4.2."


def test_thunderbird_html_cite_prefix_is_not_the_writers() -> None:
    html = (
        "<p>Fixed in 4.2.1.</p>"
        '<div class="moz-cite-prefix">On 23/11/2026 10:00, Support wrote:<br></div>'
        '<blockquote type="cite">Why does it stop?</blockquote>'
    )
    assert reading.read("", html) == "Fixed in 4.2.1."


@pytest.mark.parametrize(
    "header",
    [
        "From: Support <support@example.com>\nSent: Monday, 23 November 2026 10:00",
        "Von: Support <support@example.com>\nGesendet: Montag, 23. November 2026 10:00",
        "De : Support <support@example.com>\nEnvoyé : lundi 23 novembre 2026 10:00",
        "De: Support <support@example.com>\nEnviado: lunes, 23 de noviembre de 2026",
        "Da: Support <support@example.com>\nInviato: lunedì 23 novembre 2026 10:00",
        "Van: Support <support@example.com>\nVerzonden: maandag 23 november 2026",
        "Od: Support <support@example.com>\nWysłano: poniedziałek, 23 listopada 2026",
        "От: Support <support@example.com>\nОтправлено: 23 ноября 2026 г. 10:00",
        "差出人: Support <support@example.com>\n送信日時: 2026年11月23日 10:00",
        "-----Original Message-----\nFrom: Support",
        "-----Ursprüngliche Nachricht-----\nVon: Support",
        "________________________________\nFrom: Support",
    ],
)
def test_an_unquoted_copy_below_a_header_block_in_any_language(header: str) -> None:
    body = f"Bitte auf 4.2 aktualisieren.\n\n{header}\nSubject: SUP-1001\n\n> Why?\nRouted: x\n"
    assert reading.read(body) == "Bitte auf 4.2 aktualisieren."


def test_android_russian_attribution() -> None:
    body = (
        "Готово, обновите до 4.2.\n\n"
        "23 нояб. 2026 г. 10:00 пользователь Support <s@x> написал:\n> Why?\n"
    )
    assert reading.read(body) == "Готово, обновите до 4.2."


def test_interleaved_words_between_quoted_lines_are_the_writers() -> None:
    body = "On Mon, Jane wrote:\n> Why does it stop?\nThe cache was full.\n> Is 4.2 affected?\nNo."
    assert reading.read(body) == "The cache was full.\n\nNo."


def test_a_reply_of_only_quotes_has_no_words() -> None:
    assert reading.read("On Mon, Jane wrote:\n> Why does it stop?\n>\n") == ""
    assert reading.read("", "<blockquote>Why?</blockquote>") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello", "greeting"),
        ("Hi Jane,\n\nBest regards,\nSam Engineer", "greeting"),
        ("We are looking into it and will get back to you.", "holding"),
        ("Hi Jane,\n\nWe are looking into it right now.\n\nSam", "holding"),  # a bare sign-off
        ("Wir prüfen das gerade.\n\n- Sam Engineer", "holding"),
        ("Yes.", "answer"),
        ("Yes.\n\nSam", "answer"),
        ("Sam", "answer"),  # the name alone is all there is: not dropped
        ("We are looking into it.\n\nUpgrade to 4.2.1 meanwhile.", "answer"),
        ("", "none"),
    ],
)
def test_what_an_ses_words_do(text: str, expected: str) -> None:
    from gateway.mail.staff_reply import substance

    assert substance(text, "Sam Engineer") == expected
