"""The customer's language (issue 15, item 7): the acknowledgement and every mail the customer
reads in the account's language, else the language their first mail is written in, with dates
written by Babel; our own people's mail stays English; anything we have no templates for, or
cannot tell, gets English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config, ConfigError
from gateway.mail import langid as language
from gateway.mail.inbound import parse
from gateway.mail.mime import Composer
from gateway.text.speech import Kind, Owed, When, english, languages, speak
from tests.conftest import ACCOUNTS, customer_mail, harness
from tests.harness import Harness
from tests.test_engineer import se_reply

NY = ZoneInfo("America/New_York")
EXAMPLES = Path(__file__).parent.parent / "deploy" / "examples"
GERMAN = (
    "Guten Tag,\n\nunser nächtlicher Export schlägt seit heute Morgen mit dem Fehler E42 fehl. "
    "Wir haben nichts an der Konfiguration geändert. Woran kann das liegen?\n\nViele Grüße\n"
    "Jana Kunde"
)
SPANISH = (
    "Hola,\n\nla exportación nocturna falla desde esta mañana con el error E42. No hemos "
    "cambiado nada en la configuración. ¿Qué puede estar pasando?\n\nSaludos,\nJuana"
)
FRENCH = (
    "Bonjour,\n\nl'export de cette nuit échoue depuis ce matin avec l'erreur E42. Nous n'avons "
    "rien changé à la configuration. Pouvez-vous nous aider ?\n\nCordialement,\nJeanne"
)


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


def text(m: Received) -> str:
    return m.text().replace("\r\n", "\n")


# -- the words ------------------------------------------------------------------------------------


def test_dates_are_written_in_the_customers_language_by_babel() -> None:
    t = datetime(2026, 11, 24, 15, 15, tzinfo=UTC)
    spoken = languages()
    assert spoken["de"].when(t, NY) == "Dienstag, 24. November, 10:15 Uhr EST"
    assert spoken["es"].when(t, NY) == "martes 24 de noviembre, 10:15 EST"
    # their own clock when it differs from ours, with the day when that differs too
    assert spoken["de"].when(t, NY, 60) == (
        "Dienstag, 24. November, 10:15 Uhr EST (16:15 Uhr bei Ihnen, UTC+01:00)"
    )
    assert spoken["es"].when(t, NY, 660) == (
        "martes 24 de noviembre, 10:15 EST (miércoles 25 de noviembre, 02:15 en su hora local,"
        " UTC+11:00)"
    )


def test_a_phrase_is_english_text_that_each_language_says_its_own_way() -> None:
    due = When(datetime(2026, 11, 24, 15, 15, tzinfo=UTC), NY)
    assert due == "Tuesday 24 November, 10:15 EST"  # what the ledger records and staff read
    context = {
        "dates": [{"words": due, "what": Owed(["actionable"], ["Warum E42?"])}],
        "revisions": [("x", Kind("point", "Warum E42?"))],
        "plain": "Sam Engineer",
    }
    german = speak(context, languages()["de"])
    assert german == {
        "dates": [
            {
                "words": "Dienstag, 24. November, 10:15 Uhr EST",
                "what": "eine Antwort auf „Warum E42?“",
            }
        ],
        "revisions": [("x", "eine Antwort auf „Warum E42?“")],
        "plain": "Sam Engineer",
    }
    assert english().greeting("Payne, Richard") == "Dear Richard,"
    assert languages()["de"].greeting("Payne, Richard") == "Hallo Richard,"
    assert languages()["es"].greeting("ACME IT Support Team") == "Hola:"


# -- which language -------------------------------------------------------------------------------


def choose(text: str, **over: object) -> language.Choice:
    args: dict[str, object] = {
        "account_language": "",
        "text": text,
        "content_language": "",
        "available": {"en", "de", "es"},
        "default": "en",
        "detect_enabled": True,
    }
    return language.choose(**(args | over))  # type: ignore[arg-type]


def test_the_mail_text_decides_when_the_account_has_no_language() -> None:
    assert choose(GERMAN).language == "de"
    assert choose(SPANISH).language == "es"
    assert (
        choose("Our nightly export fails with E42 since this morning. Can you help?").language
        == "en"
    )


def test_the_accounts_language_comes_first() -> None:
    assert choose(GERMAN, account_language="es").language == "es"
    # a language we have no templates for is never half-written: the team's language
    gone = choose(GERMAN, account_language="fr")
    assert gone.language == "en" and "no templates" in gone.why


def test_a_language_we_cannot_write_or_cannot_tell_gets_the_teams() -> None:
    french = choose(FRENCH)
    assert french.language == "en" and "fr" in french.why
    assert choose("E42").language == "en"  # too short to tell
    assert choose("Danke!").language == "en"
    assert choose(GERMAN, detect_enabled=False).language == "en"
    assert choose(GERMAN, default="es", detect_enabled=False).language == "es"


def test_a_short_mail_leans_on_its_content_language_header() -> None:
    assert choose("Danke!", content_language="de-DE").language == "de"
    # the header never overrules text that is clearly in another language
    assert choose(SPANISH, content_language="de-DE").language == "es"
    # a hostile header names nothing we write in
    assert choose("E42", content_language="../../etc/passwd").language == "en"
    assert choose("E42", content_language="x" * 5000).language == "en"


# -- the mail customers and staff read ------------------------------------------------------------


async def test_a_german_mail_is_acknowledged_in_german_and_the_se_reads_english(
    h: Harness,
) -> None:
    await h.receive(customer_mail(1, name="Jana Kunde", subject="Export schlägt fehl", body=GERMAN))
    ack = kind(h, "ack")[0]
    body = text(ack)
    assert body.startswith("Hallo Jana,\n\nvielen Dank für Ihre Nachricht")
    assert (
        "Sam Engineer wird Ihre Frage bis Dienstag, 24. November, 10:00 Uhr EST beantworten."
        in body
    )
    assert "Unser übliches Ziel für eine Lösung ist" in body
    assert "welche Version" in body  # a fault report without a version is asked for one
    assert '<html lang="de">' in ack.html()
    copy = text(kind(h, "se-copy")[0])
    assert "Tuesday 24 November" in copy and "Dienstag" not in copy
    assert "Language:  German: our mail to the customer is written in it" in copy
    assert await h.scalar("SELECT language FROM tickets") == "de"


async def test_the_ticket_keeps_its_language_for_the_whole_conversation(h: Harness) -> None:
    jana = "jana@acme.example"
    await h.receive(
        customer_mail(1, jana, "Jana Kunde", subject="Export schlägt fehl", body=GERMAN)
    )
    # a colleague of hers answers in English: the ticket is still written to in German
    await h.receive(
        customer_mail(
            2,
            sender="jane@acme.example",
            subject="Re: Export schlägt fehl [SUP-1001]",
            body="Also: does the import fail too?",
            in_reply_to="<customer-1@acme.example>",
        )
    )
    follow_up = text(kind(h, "ack")[1])
    assert kind(h, "ack")[1]["To"] == "jane@acme.example"
    assert "Ihre neue Frage" in follow_up and "> Also: does the import fail too?" in follow_up
    # the engineer's date and reply: German around the engineer's own words
    await h.receive(se_reply(h, "#eta tomorrow 15:00"))
    assert "meldet sich bis Dienstag, 24. November, 15:00 Uhr EST bei Ihnen" in (
        text(kind(h, "eta")[0])
    )


async def test_a_missed_date_is_revised_and_updates_are_sent_in_german(h: Harness) -> None:
    await h.receive(customer_mail(1, name="Jana Kunde", subject="Export schlägt fehl", body=GERMAN))
    await h.later(timedelta(days=1, hours=1))  # the reply date passes unanswered
    revised = text(kind(h, "revised-eta")[0])
    assert "wir hatten Ihnen zu Ticket SUP-1001 eine Antwort" in revised
    assert "Das tut uns leid." in revised
    alert = text(kind(h, "missed-alert")[0])
    assert "Tuesday 24 November" in alert and "Dienstag" not in alert  # staff: English
    # A real answer (a holding reply would leave the dates standing, and revised again).
    await h.receive(se_reply(h, "Hallo Jana, der Export braucht Version 4.2: bitte aktualisieren."))
    for _ in range(12):  # two silent business days (Thanksgiving is closed)
        await h.later(timedelta(hours=6))
    update = text(kind(h, "status-update")[0])
    assert "ein kurzer Zwischenstand zu Ticket SUP-1001, „Export schlägt fehl“: Sam Engineer" in (
        update
    )
    # no date stands (the resolution target has passed): the next update's date is given
    assert "Wir melden uns bis " in update and " Uhr EST wieder." in update


async def test_an_account_configured_in_spanish_is_answered_in_spanish(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    accounts = [ACCOUNTS[0] | {"language": "es"}, ACCOUNTS[1]]
    async with harness(make_config(accounts=accounts), clock, sink) as h:
        await h.receive(customer_mail(1, body="Our export fails with E42 since today. Why?"))
        body = text(kind(h, "ack")[0])
        assert body.startswith("Hola, Jane:\n\nGracias por su mensaje")
        assert "a más tardar el martes 24 de noviembre, 10:00 EST" in body


async def test_mail_in_a_language_we_do_not_write_is_answered_in_english(h: Harness) -> None:
    await h.receive(customer_mail(1, name="Jeanne Client", body=FRENCH))
    assert text(kind(h, "ack")[0]).startswith("Dear Jeanne,")
    assert await h.scalar("SELECT language FROM tickets") == "en"


# -- languages the operator adds ------------------------------------------------------------------


def _french(root: Path) -> None:
    (root / "fr").mkdir(parents=True)
    (root / "fr" / "words.toml").write_text(
        '[dates]\nday = "EEEE d MMMM"\nwhen = "{day} à {time} ({zone})"\n'
        '[greeting]\nnamed = "Bonjour {name},"\nanonymous = "Bonjour,"\n',
        encoding="utf-8",
    )
    (root / "fr" / "ack.txt.j2").write_text(
        "{{ greeting }}\n\nMerci ; réponse avant le {{ actionable_words }}.\n", encoding="utf-8"
    )


async def test_an_operator_adds_a_language_with_a_directory_of_templates(
    tmp_path: Path, make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    ours = tmp_path / "templates"
    _french(ours)
    (ours / "xx").mkdir()  # not a language: ignored
    (ours / "xx" / "words.toml").write_text("", encoding="utf-8")
    config = make_config(templates_dir=str(ours))
    assert sorted(Composer(config, clock).speeches) == ["de", "en", "es", "fr"]
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1, name="Jeanne Client", body=FRENCH))
        ack = kind(h, "ack")[0]
        assert text(ack) == (
            "Bonjour Jeanne,\n\nMerci ; réponse avant le mardi 24 novembre à 10:00 (EST).\n"
        )
        # the HTML part it did not translate is the English one, with French dates
        assert "mardi 24 novembre" in ack.html() and "will answer" in ack.html()


def test_a_broken_translation_is_refused_under_its_own_name(
    tmp_path: Path, make_config: Callable[..., Config], clock: FakeClock
) -> None:
    ours = tmp_path / "templates"
    (ours / "de").mkdir(parents=True)
    (ours / "de" / "words.toml").write_text('[kinds]\nactionable = "eine Antwort"\n')
    (ours / "de" / "revised_eta.txt.j2").write_text("{{ revisions[0].nope }}")
    problems = Composer(make_config(templates_dir=str(ours)), clock).template_problems()
    assert [name for name, _ in problems] == ["de/revised_eta.txt.j2"]


def test_a_language_babel_does_not_know_is_refused_in_the_config(
    make_config: Callable[..., Config],
) -> None:
    with pytest.raises((ConfigError, ValueError), match="not a language code"):
        make_config(support={"address": "support@example.com", "language": "klingon"})


def test_headers_sent_as_raw_utf8_are_read_as_written() -> None:
    # RFC 6532 mail (and many mailers) put UTF-8 straight into the headers, without RFC 2047.
    raw = (EXAMPLES / "kunden-mail.eml").read_bytes()
    raw = raw.replace(b"From: Jana Kunde", "From: Jürgen Müller".encode())
    msg = parse(raw)
    assert msg.subject == "Export schlägt seit heute Morgen fehl"
    assert (msg.from_name, msg.from_address) == ("Jürgen Müller", "jana@acme.example")
    assert languages()["de"].greeting(msg.from_name) == "Hallo Jürgen,"
    # a legacy 8-bit charset cannot be known: the bytes become U+FFFD, never a crash
    legacy = parse(raw.replace("Jürgen Müller".encode(), "J\xfcrgen".encode("latin-1")))
    assert legacy.from_name == "J\ufffdrgen" and legacy.from_address == "jana@acme.example"


async def test_the_shipped_german_example_is_answered_in_german(h: Harness) -> None:
    await h.receive((EXAMPLES / "kunden-mail.eml").read_bytes())
    ack = text(kind(h, "ack")[0])
    assert ack.startswith("Hallo Jana,\n\nvielen Dank")
    assert "> Ist Version 4.2 auch betroffen?" in ack
    assert "(16:00 Uhr bei Ihnen, UTC+01:00)" in ack  # her own clock, from her Date header


async def test_an_se_sets_the_tickets_language_when_detection_guessed_wrong(h: Harness) -> None:
    await h.receive(customer_mail(1, name="Jana Kunde", subject="Export schlägt fehl", body=GERMAN))
    await h.receive(se_reply(h, "#language fr"))
    assert "we have no templates in French: we write English, German, Spanish" in (
        text(kind(h, "se-error")[0])
    )
    await h.receive(se_reply(h, "#language klingon"))
    assert "klingon is not a language code" in text(kind(h, "se-error")[1])
    # the reply in the same mail is already written in the new language
    await h.receive(se_reply(h, "#language en\n#eta tomorrow 15:00\n\nHello Jana, on it."))
    reply = text(kind(h, "reply")[0])
    assert "Hello Jana, on it." in reply
    assert "We will get back to you by Tuesday 24 November, 15:00 EST." in reply
    assert "the customer's mail is now written in English" in text(kind(h, "se-confirm")[0])
    assert await h.scalar("SELECT language FROM tickets") == "en"


def test_the_reader_names_our_languages_on_labelled_text_and_no_wrong_one() -> None:
    """A short run of scripts/bench-language: paragraph-length texts (three translated messages
    from the machine's /usr/share/locale) in each language."""
    from tests.bench_language import SHIPPED, labelled

    for code in ("en", "de", "es", "fr", "ca", "tr", "ja"):
        texts = labelled(code, 100, join=3)
        if len(texts) < 100:
            pytest.skip(f"this machine has too few {code} translations installed")
        right = wrong = 0
        for text in texts:
            found, sure = language.detect(text)
            right += sure >= language.SURE and found == code
            wrong += sure >= language.SURE and found != code and found in SHIPPED
        if code in SHIPPED:
            assert right >= 93, (code, right)
        assert wrong <= 2, (code, wrong)


def test_english_words_in_a_mail_in_another_script_do_not_make_it_english() -> None:
    assert language.detect("INSTEAD OF トリガーは FOR EACH ROW でなければなりません")[1] < 0.8
    assert language.detect("Экспорт не работает с ошибкой E42 since this morning")[1] < 0.8
    assert choose("Экспорт не работает", content_language="de").language == "de"
