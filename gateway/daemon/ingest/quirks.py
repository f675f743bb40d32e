"""The two places where the ingest looks inside imapclient (at imaplib under it), kept here so
that an upgrade of either has one small module to check: mail announced during our own commands,
and lines already read into imaplib's buffer when IDLE starts. Both fail safe: when the insides
are not what we expect, they answer "nothing seen" and the periodic re-check finds the mail."""

from __future__ import annotations

import imapclient


def announced_new_mail(client: imapclient.IMAPClient) -> bool:
    """Whether the server announced a new message count during our last commands.

    A server reports new mail as an untagged EXISTS at the end of whatever command is running
    (SEARCH, FETCH, MOVE...); imapclient keeps those in imaplib's store instead of returning
    them, and the server will not announce the same mail again once IDLE starts. Mail appended
    while our SEARCH ran would then wait for the next re-check, so look before idling.
    """
    pending = getattr(client, "_imap", None)
    responses = getattr(pending, "untagged_responses", None)
    if not isinstance(responses, dict):
        return False
    return responses.pop("EXISTS", None) is not None


def read_ahead(client: imapclient.IMAPClient) -> bool:
    """Whether server lines already wait in imaplib's read buffer.

    Dovecot answers IDLE with ``+ idling`` and, when mail arrived since our last command, the
    ``* n EXISTS`` in the same packet. imaplib reads the continuation line and keeps the rest in
    its buffered reader, and ``idle_check`` polls the socket, which is then empty: the mail
    would wait for the recheck (this was the 1-in-4 failure of the IMAP tests). Peeking at the
    buffer with the socket non-blocking never waits for the network.
    """
    reader = getattr(getattr(client, "_imap", None), "file", None)
    if reader is None or not hasattr(reader, "peek"):
        return False
    sock = client.socket()
    timeout = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        return bool(reader.peek(1))
    except (OSError, ValueError):  # nothing buffered and nothing on the socket (or TLS wants more)
        return False
    finally:
        sock.settimeout(timeout)
