"""The pipeline's parse step (see gateway/pipeline/order.py for the whole story)."""

from __future__ import annotations

from gateway.core.models import MailClass
from gateway.mail.inbound import ParseError, parse
from gateway.pipeline.work import Services, Work
from gateway.store import Db


def step_parse(s: Services, w: Work, db: Db) -> None:
    limit = s.config.safety.max_message_bytes
    if len(w.row.raw) > limit:
        w.mail_class = MailClass.MALFORMED
        raise ParseError(f"message is {len(w.row.raw)} bytes, over the {limit}-byte limit")
    try:
        w.msg = parse(w.row.raw)
    except ParseError:
        raise
    except Exception as exc:  # parsing depends on the bytes alone: a failure is the mail's fault
        raise ParseError(f"unreadable message: {type(exc).__name__}: {exc}") from exc
    w.decide("parse", "ok", f"{w.msg.message_id} from {w.msg.from_address or '(none)'}")
