"""The pipeline's language step (see gateway/pipeline/order.py for the whole story): the
language a new ticket's mail to the customer is written in (see gateway/mail/langid.py); a
follow-up keeps its ticket's."""

from __future__ import annotations

from gateway.mail import langid as language
from gateway.mail import points
from gateway.pipeline.work import Services, Work
from gateway.store import Db


def step_language(s: Services, w: Work, db: Db) -> None:
    if w.ticket is not None:
        return
    route, msg = w.route, w.message
    assert route is not None
    account = next((a for a in s.config.accounts if a.name == route.account), None)
    choice = language.choose(
        account_language=account.language if account else "",
        text=f"{msg.subject}\n{points.new_text(msg.text, msg.html)}",
        content_language=msg.header("content-language"),
        available=s.composer.speeches,
        default=s.config.support.language,
        detect_enabled=s.config.support.detect_language,
    )
    w.language = choice.language
    w.decide("language", choice.language, choice.why)
