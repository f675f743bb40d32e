"""The conversation with the SMTP relay: the standard library's blocking :mod:`smtplib`, each
call made from a worker thread (the sender) or directly (``check-config``).

Why not an asyncio client: measured on this machine against the same sink, ``aiosmtplib`` took
0.8-1.0 ms of CPU a mail (a future, a timer and a trip round the event loop for every command,
every address parsed again, every mail's line endings rewritten twice) and ``smtplib`` in a
thread 0.4 ms. The gateway's CPU is what limits its throughput (see README "Benchmark"), and
every message sends two mails.

A relay's failures are :data:`RELAY_ERRORS`; whatever else a call raises is a fault of ours.
After a socket error or timeout in the middle of a command the conversation's state is unknown:
the connection is closed, and the next mail goes over a new one.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.core.config import SmtpSection, TlsMode, tls_context
from gateway.daemon import oauth2
from gateway.daemon.oauth2 import TokenSource

# What the relay (or the way to it) can do: refuse, drop the connection, time out, fail TLS
# (ssl.SSLError is an OSError), refuse our login.
RELAY_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPException,
    OSError,
    oauth2.TokenRefused,
)

_BARE_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Refusal:
    """A recipient the relay refused while it took the mail for others."""

    code: int
    message: str


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def password(cfg: SmtpSection) -> str:
    """The login's password (read from its source: a file, the environment or a command), ''
    when there is none to use. Blocking: call it off the event loop."""
    if cfg.user and cfg.auth == "password":
        return cfg.password.read().get_secret_value()
    return ""


def connect(cfg: SmtpSection, secret: str, tokens: TokenSource) -> smtplib.SMTP:
    """A connection to the relay, greeted, encrypted as configured and logged in (``secret``:
    see :func:`password`; XOAUTH2 reads its token from ``tokens``, fetching a fresh one once
    when the relay refuses it)."""
    context = tls_context(cfg.tls_verify)
    smtp: smtplib.SMTP
    if cfg.tls is TlsMode.TLS:
        smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=context)
    else:
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
    try:
        smtp.ehlo()
        if cfg.tls is TlsMode.STARTTLS:
            smtp.starttls(context=context)  # refused when the relay does not offer it
            smtp.ehlo()
        if cfg.user and cfg.auth == "xoauth2":
            oauth2.login(
                tokens,
                lambda token: _xoauth2(smtp, cfg.user, token),
                (smtplib.SMTPAuthenticationError,),
                f"SMTP relay {cfg.host}",
                cfg.user,
            )
        elif cfg.user:
            smtp.login(cfg.user, secret)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _xoauth2(smtp: smtplib.SMTP, user: str, token: str) -> object:
    # A refusal comes as a 334 challenge (the server's reasons), answered with an empty line.
    def respond(challenge: bytes | None = None) -> str:
        return "" if challenge is not None else oauth2.initial_response(user, token)

    return smtp.auth("XOAUTH2", respond)


def send(
    smtp: smtplib.SMTP, mail_from: str, recipients: Sequence[str], raw: bytes
) -> dict[str, Refusal]:
    """One mail transaction; the recipients refused while others took it (all refused raises
    ``SMTPRecipientsRefused``). Every line ends in CRLF on the wire, whatever ``raw`` has."""
    if raw.count(b"\n") != raw.count(b"\r\n") or raw.count(b"\r") != raw.count(b"\r\n"):
        raw = _BARE_LINE_END.sub(b"\r\n", raw)
    try:
        refused = smtp.sendmail(mail_from, list(recipients), raw)
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
        raise  # the relay's answer: the conversation goes on (smtplib sent RSET, or closed)
    except OSError:  # (SMTPException is one) a timeout or a reset mid-command, the connection
        smtp.close()  # dropped: its state is unknown, the next mail goes over a new one
        raise
    return {address: Refusal(code, _text(reply)) for address, (code, reply) in refused.items()}


Outcome = dict[str, Refusal] | Exception  # a mail's refused recipients, or why it did not go


def send_run(
    smtp: smtplib.SMTP,
    mails: Sequence[tuple[str, Sequence[str], bytes]],
    go_on: Callable[[], bool],
    outcomes: list[Outcome],
) -> None:
    """Several mail transactions in a row (sender, recipients, bytes), in one call: each one's
    outcome is appended to ``outcomes`` as soon as it is known, so a caller that interrupts the
    run still knows which mails the relay took. After the first, a mail goes only while the
    connection stands and ``go_on()``."""
    for mail_from, recipients, raw in mails:
        if outcomes and not (connected(smtp) and go_on()):
            return
        try:
            outcomes.append(send(smtp, mail_from, recipients, raw))
        except Exception as exc:  # this mail's outcome: the caller tells ours from the relay's
            outcomes.append(exc)


def connected(smtp: smtplib.SMTP) -> bool:
    return smtp.sock is not None


def quit(smtp: smtplib.SMTP) -> None:
    """QUIT, or just close when the relay has gone already."""
    try:
        smtp.quit()
    except OSError:  # (smtplib's errors are OSErrors)
        smtp.close()


def interrupt(smtp: smtplib.SMTP) -> None:
    """From another thread: end a call in progress at once (a stop does not wait on the relay);
    the connection is not used again."""
    sock = smtp.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # not connected any more
            sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class Failure:
    permanent: bool
    text: str


def classify_error(exc: BaseException) -> Failure:
    """Whether a relay failure is worth trying again, and the relay's words: the one place
    that decides."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        refused = exc.recipients.items()
        text = "; ".join(f"{r}: {code} {_text(reply)}" for r, (code, reply) in refused)
        return Failure(
            bool(codes) and all(c >= 500 for c in codes), f"all recipients refused: {text}"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(exc.smtp_code >= 500, f"{exc.smtp_code} {_text(exc.smtp_error)}")
    return Failure(False, f"{type(exc).__name__}: {exc}")
