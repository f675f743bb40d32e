"""117 real mails of delivery systems from two decades of mail servers (flufl.bounce's samples,
see tests/data/bounces/SOURCES.md): none is ever answered as if a person wrote it, and the one
person's reply among them is. Pure logic (``explain``): no servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.explain import explain
from gateway.core.config import Config, parse_config
from tests.conftest import MONDAY_10, base_config

BOUNCES = Path(__file__).parent / "data" / "bounces"
PEOPLE = {"groupwise_03.txt"}  # a hotel's reply, kept by flufl.bounce as a negative sample
SAMPLES = sorted(p.name for p in BOUNCES.glob("*.txt"))


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return parse_config(base_config(tmp_path_factory.mktemp("bounces")))


def test_the_corpus_is_there() -> None:
    assert len(SAMPLES) == 117


@pytest.mark.parametrize("name", SAMPLES)
async def test_a_real_bounce_is_never_answered(name: str, config: Config) -> None:
    report = await explain(config, (BOUNCES / name).read_bytes(), MONDAY_10)
    if name in PEOPLE:
        assert report["action"] == "acknowledge", report["reasons"]
        return
    assert report["action"] not in ("acknowledge", "quarantine"), (
        report["classification"],
        report["reasons"],
    )
    assert report["outbound"] == [], "no mail of ours, to anyone"


async def test_a_customer_forwarding_a_bounce_is_a_person(config: Config) -> None:
    """The delivery status part of a bounce the customer attached is the attached mail's, not
    theirs: "our invoices to you bounce, see attached" is answered."""
    from email.message import EmailMessage

    bounce = (Path(__file__).parent / "data" / "corpus" / "bounce-rfc3464-postfix.eml").read_bytes()
    mail = EmailMessage()
    mail["From"] = "Jane Customer <jane@acme.example>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "Our mail to you bounces"
    mail["Message-ID"] = "<fwd-bounce@acme.example>"
    mail.set_content("Our mail to your billing address bounces, see the attached report. Why?")
    mail.add_attachment(bounce, maintype="message", subtype="rfc822")
    from gateway.mail.inbound import parse

    assert parse(mail.as_bytes()).part_types[-1] == "message/rfc822", "the bounce is attached"
    report = await explain(config, mail.as_bytes(), MONDAY_10)
    assert (report["classification"], report["action"]) == ("human", "acknowledge")
