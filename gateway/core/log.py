"""One log line per event: ``event key=value ...`` with stable keys (never a secret).

Formats: ``plain`` (with a timestamp on a terminal; under journald, detected by
``JOURNAL_STREAM``, no timestamp of our own and the level as a ``<N>`` syslog prefix that the
journal maps to its priority) and ``json`` (one object per line: ts, level, logger, event and
the event's fields).
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextvars import ContextVar
from datetime import UTC, datetime

_UNSAFE = re.compile(r"[\s\"=]")
_SYSLOG = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


def _value(v: object) -> str:
    s = str(v).replace("\n", "\\n").replace("\r", "\\r")
    return f'"{s}"' if (_UNSAFE.search(s) or not s) else s


# The team (of a config file that serves several) whose work is logged: set for each team's
# tasks (gateway.daemon.service.run_all), and so for the threads they start.
TEAM: ContextVar[str] = ContextVar("team", default="")


def _team(record: logging.LogRecord) -> bool:
    """A handler's filter: every record says which team's work it is about (when teams)."""
    team = TEAM.get()
    if team and not hasattr(record, "team"):
        record.team = team
        if not isinstance(record.msg, str):
            record.msg = str(record.msg)
        record.msg = "team=%s " + record.msg
        record.args = (team, *(record.args if isinstance(record.args, tuple) else ()))
    return True


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: object) -> None:
    if logger.isEnabledFor(level):
        text = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
        logger.log(level, "%s %s", name, text, extra={"event": name, "fields": fields})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if getattr(record, "team", ""):
            out["team"] = getattr(record, "team", "")
        if hasattr(record, "event"):
            out["event"] = record.event
            out.update({k: str(v) for k, v in getattr(record, "fields", {}).items()})
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_SYSLOG.get(record.levelno, 6)}>"
        return prefix + f"{record.name} " + super().format(record).replace("\n", "\n" + prefix)


def setup(level: str = "info", fmt: str = "plain") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    elif os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(_team)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper()))
    # mail-parser complains (at warning and error) about quirks of the customer's mail, not
    # about us; what matters is recorded with the message (its class, decisions, quarantine
    # reason), never its words.
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
    # Debug logging is for our own decisions: the libraries' debug lines are the mail itself
    # (aiosmtpd logs every DATA line, imapclient every command and answer, aiosmtplib what
    # it sends), with bodies and relay tokens in them.
    for noisy in ("imapclient", "aiosmtplib", "uvicorn", "psycopg"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    # aiosmtpd logs every command at info, relay addresses (their tokens) in RCPT TO included:
    # our own ingress events say what came in.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
