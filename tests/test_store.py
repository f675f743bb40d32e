"""The schema: migrations upgrade old databases, and the tables kept by triggers stay true."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.core.models import Route, TicketState
from gateway.mail.inbound import parse
from gateway.promise import keeping
from gateway.store import Db, Store, inbox, outbox, outcomes, participants, postgres, tickets
from gateway.store.db import MIGRATIONS, bind, statements, ts
from tests.conftest import customer_mail
from tests.harness import figures_astray, owed_astray, transaction

T0 = datetime(2026, 11, 23, 15, tzinfo=UTC)


def _schema(con: sqlite3.Connection, versions: int = len(MIGRATIONS)) -> None:
    for script in MIGRATIONS[:versions]:
        for statement in statements(script):
            con.execute(statement)
    con.execute(f"PRAGMA user_version={versions}")


def _ticket(con: sqlite3.Connection, n: int, se: str, state: str, created: datetime) -> None:
    con.execute(
        "INSERT INTO tickets (id, key, subject, customer_address, customer_name, token, se,"
        " state, received_at, created_at, last_customer_message_id)"
        " VALUES (?, ?, 's', ?, '', 'tok', ?, ?, ?, ?, ?)",
        (n, f"SUP-{n}", f"c{n}@x.example", se, state, created.isoformat(), created.isoformat(),
         f"<m{n}@x>"),
    )  # fmt: skip


def _truth(con: sqlite3.Connection) -> dict[str, tuple[int, str | None]]:
    rows = con.execute(
        "SELECT se, sum(state != 'resolved'), max(created_at) FROM tickets GROUP BY se"
    )
    return {se: (n, last) for se, n, last in rows}


def _kept(con: sqlite3.Connection) -> dict[str, tuple[int, str | None]]:
    rows = con.execute("SELECT se, open, last_assigned FROM se_load")
    # An SE whose last ticket moved away keeps a row with nothing open and no date.
    return {se: (n, last) for se, n, last in rows if n or last}


async def test_a_version_1_database_is_upgraded_with_its_history(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    _schema(con, versions=1)
    _ticket(con, 1, "sam@example.com", "new", T0)
    _ticket(con, 2, "sam@example.com", "resolved", T0 + timedelta(hours=1))
    _ticket(con, 3, "ana@example.com", "answered", T0 - timedelta(days=1))
    for kind, rcpt in (
        ("ack", "c1@x.example,casey@example.com"),
        ("se-copy", "sam@example.com"),
        ("revised-eta", "c1@x.example"),
    ):
        con.execute(
            "INSERT INTO outbox (ticket_id, kind, message_id, mail_from, rcpt, raw,"
            " next_attempt_at, created_at) VALUES (1, ?, '<o@x>', 's@x', ?, x'00', ?, ?)",
            (kind, rcpt, T0.isoformat(), T0.isoformat()),
        )
    con.execute(
        "INSERT INTO inbox (source, raw, sha256, size, received_at, stored_at)"
        " VALUES ('imap', x'6869', '', 2, ?, ?)",
        (T0.isoformat(), T0.isoformat()),
    )
    con.commit()
    con.close()

    store = Store(path)
    await store.start()
    try:
        async with transaction(store) as db:
            version = db.execute("PRAGMA user_version").fetchone()
            loads = tickets.loads(db)
            since = T0 - timedelta(minutes=1)
            counts = [
                outbox.automatic_sent_to(db, a, since)
                for a in ("c1@x.example", "casey@example.com", "sam@example.com")
            ]
            pending = inbox.next_new(db, T0)
            queued = outbox.due(db, T0)
    finally:
        await store.stop()
    assert version is not None and version[0] == len(MIGRATIONS)
    assert loads == {
        "sam@example.com": (1, T0 + timedelta(hours=1)),
        "ana@example.com": (1, T0 - timedelta(days=1)),
    }
    assert counts == [2, 1, 0]  # the SE copy is not automatic mail to a customer
    # The mail text moved to tables of its own (version 3), nothing lost.
    assert pending is not None and pending.raw == b"hi"
    assert [(r.kind, r.raw) for r in queued] == [
        (k, b"\0") for k in ("ack", "se-copy", "revised-eta")
    ]


async def test_a_version_21_database_gets_its_tickets_record_figures(tmp_path: Path) -> None:
    """Schema 22 keeps each ticket's promise-record figures: an existing database's tickets get
    theirs when it is upgraded (the record would otherwise count them as never acknowledged)."""
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    _schema(con, versions=21)
    for n in (1, 2):
        _ticket(con, n, "sam@example.com", "answered", T0)
    for ticket, kind, sent in ((1, "ack", T0 + timedelta(minutes=7)), (1, "revised-eta", None)):
        con.execute(
            "INSERT INTO outbox (ticket_id, kind, message_id, mail_from, rcpt, state,"
            " next_attempt_at, created_at, sent_at) VALUES (?, ?, '<o@x>', 's@x', 'c@x', ?, ?,"
            " ?, ?)",
            (ticket, kind, "sent" if sent else "queued", ts(T0), ts(T0), sent and ts(sent)),
        )
    for n, kind, hours, revision_of, met in (
        (1, "actionable", 24, None, None),
        (2, "actionable", 48, 1, 30),
        (3, "resolution", 72, None, None),
    ):
        con.execute(
            "INSERT INTO commitments (id, ticket_id, kind, due_at, told, made_at, revision_of,"
            " met_at) VALUES (?, 1, ?, ?, '', ?, ?, ?)",
            (n, kind, ts(T0 + timedelta(hours=hours)), ts(T0), revision_of,
             met and ts(T0 + timedelta(hours=met))),
        )  # fmt: skip
    con.execute("UPDATE commitments SET missed_at = due_at, superseded_by = 2 WHERE id = 1")
    con.commit()
    con.close()

    async with Store(path) as store, transaction(store) as db:
        astray = figures_astray(db)
        kept = db.execute(
            "SELECT ack_delay_us, first_reply_due, first_resolution_due, dates_met, dates_missed,"
            " revised_etas FROM tickets ORDER BY id"
        ).fetchall()
    assert astray == []
    assert [tuple(r) for r in kept] == [
        (
            7 * 60 * 1_000_000,
            ts(T0 + timedelta(hours=24)),
            ts(T0 + timedelta(hours=72)),
            1,
            1,
            1,
        ),
        (None, None, None, 0, 0, 0),
    ]


OPS = st.lists(
    st.tuples(
        st.sampled_from(["open", "resolve", "reopen", "assign"]),
        st.integers(0, 7),
        st.sampled_from(["a@x", "b@x", "c@x"]),
        st.sampled_from(["new", "answered", "waiting"]),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_se_load_matches_the_tickets_after_any_changes(
    ops: list[tuple[str, int, str, str]],
) -> None:
    con = sqlite3.connect(":memory:")
    _schema(con)
    made = 0
    for op, n, se, state in ops:
        ticket = n % made + 1 if made else 0
        if op == "open" or not made:
            made += 1
            _ticket(con, made, se, state, T0 + timedelta(minutes=n * 7 - made))
        elif op == "resolve":
            con.execute("UPDATE tickets SET state = 'resolved' WHERE id = ?", (ticket,))
        elif op == "reopen":
            con.execute("UPDATE tickets SET state = ? WHERE id = ?", (state, ticket))
        else:
            con.execute("UPDATE tickets SET se = ? WHERE id = ?", (se, ticket))
        assert _kept(con) == _truth(con)


async def test_a_cancelled_job_ends_before_the_next_one_starts(database: dict[str, str]) -> None:
    """Cancelling the task that waits for a job (a shutdown) must not let the next job start
    on the connection while the first one's transaction is still open."""
    store = Store(database.get("url") or database["path"])
    await store.start()
    started, proceed = threading.Event(), threading.Event()

    def slow(db: Db) -> None:
        db.execute("CREATE TABLE t (n INTEGER)")
        started.set()
        while not proceed.is_set():  # still inside its transaction, statement after statement
            db.execute("INSERT INTO t VALUES (1)")

    def count(db: Db) -> int:
        row = db.execute("SELECT count(*) FROM t").fetchone()
        return int(row[0]) if row else 0

    try:
        first = asyncio.create_task(store.run(slow))
        assert await asyncio.to_thread(started.wait, 10)
        first.cancel()
        second = asyncio.create_task(store.run(count))
        asyncio.get_running_loop().call_later(0.2, proceed.set)
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await second > 0  # the first job committed, then the second one ran
    finally:
        proceed.set()
        await store.stop()


async def test_a_job_that_fails_after_an_unread_refused_write_leaves_the_next_job_whole(
    database: dict[str, str],
) -> None:
    """A job whose write the database refuses, unread (PostgreSQL sends writes without waiting
    for them), and which then fails for a reason of its own: it is rolled back whole, and the
    next job runs on a clean connection (not in the first one's failed transaction)."""
    store = Store(database.get("url") or database["path"])
    await store.start()

    def refused_then_ours(db: Db) -> None:
        db.execute("CREATE TABLE t (n INTEGER NOT NULL)")
        with contextlib.suppress(sqlite3.IntegrityError):  # SQLite refuses it at once
            db.execute("INSERT INTO t VALUES (NULL)")
        raise KeyError("a bug of ours")

    def again(db: Db) -> int:
        db.execute("CREATE TABLE t (n INTEGER NOT NULL)")  # the first one's was rolled back
        db.execute("INSERT INTO t VALUES (1)")
        return int(db.execute("SELECT count(*) FROM t").fetchone()[0])

    try:
        with pytest.raises(KeyError):
            await store.run(refused_then_ours)
        assert await store.run(again) == 1
    finally:
        await store.stop()


@pytest.fixture
async def scratch(database: dict[str, str]) -> AsyncIterator[Any]:
    """A connection of its own to a migrated database of the test's engine (each example of a
    property runs in a transaction rolled back after it)."""
    target = database.get("url") or database["path"]
    async with Store(target):
        pass  # migrated
    con: Any = postgres.connect(target) if database.get("url") else None
    if con is None:
        con = sqlite3.connect(target, isolation_level=None)
        con.execute("PRAGMA foreign_keys=ON")
    try:
        yield con
    finally:
        con.close()


KEPT_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                *("open", "resolve", "reopen", "assign", "promise", "meet", "miss", "revise"),
                *("move", "mail", "send", "readdress"),
            ]
        ),
        st.integers(0, 11),
        st.sampled_from(["a@x", "b@x"]),
        st.sampled_from(["new", "answered", "waiting"]),
        st.sampled_from(["actionable", "point", "resolution", "ack"]),
        st.sampled_from(["ack", "revised-eta", "se-copy"]),
    ),
    max_size=30,
)


def test_the_record_counts_an_acknowledgement_at_the_target_and_not_a_microsecond_later(
    scratch: Any,
) -> None:
    """The promise record's figures, kept per ticket: an acknowledgement exactly at the target
    is in time, one a microsecond later (across a second) is not, an unsent one is neither;
    the first reply date counts, not its revision; a revised date sent is counted."""
    db = bind(scratch)
    # Received at these microseconds past a second; acknowledged one hour and these
    # microseconds later: in time, in time, late (the same second), late (the next second).
    late = [(500_000, 0), (999_999, 0), (0, 1), (999_999, 1)]
    received = [T0 + timedelta(microseconds=m) for m, _ in late]
    sent = [
        at + timedelta(hours=1, microseconds=d) for at, (_, d) in zip(received, late, strict=True)
    ]
    received.append(T0)  # not acknowledged yet
    scratch.execute("BEGIN")
    try:
        for n, at in enumerate(received, 1):
            db.execute(
                "INSERT INTO tickets (id, key, subject, customer_address, customer_name, token,"
                " se, state, received_at, created_at, last_customer_message_id, responded_at)"
                " VALUES (?, ?, 's', 'c@x', '', 'tok', 'a@x', 'answered', ?, ?, ?, ?)",
                (n, f"SUP-{n}", ts(at), ts(at), f"<m{n}@x>", ts(at + timedelta(hours=30))),
            )
        mail = [(n, "ack", at) for n, at in enumerate(sent, 1)]
        mail += [(1, "ack", sent[0] + timedelta(hours=2)), (5, "ack", None)]
        mail += [(5, "revised-eta", None)]
        for n, (ticket, kind, at) in enumerate(mail, 1):
            db.execute(
                "INSERT INTO outbox (id, ticket_id, kind, message_id, mail_from, rcpt, state,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, '<m>', 's', 'r', 'queued', ?, ?)",
                (n, ticket, kind, ts(T0), ts(T0)),
            )
            if at is not None:  # accepted by the relay later, as the sender marks it
                db.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (ts(at), n))
        # Ticket 5's reply date (a day) was revised (two days): answered at 30 hours is late
        # against the first date given, and the first date is missed.
        for n, due, revision_of in ((1, 24, None), (2, 48, 1)):
            db.execute(
                "INSERT INTO commitments (id, ticket_id, kind, due_at, told, made_at,"
                " revision_of, missed_at) VALUES (?, 5, 'actionable', ?, '', ?, ?, ?)",
                (n, ts(T0 + timedelta(hours=due)), ts(T0), revision_of, None),
            )
        db.execute("UPDATE commitments SET missed_at = due_at WHERE id = 1")
        now = T0 + timedelta(days=3)
        rows = outcomes.tallies(db, [("all", T0 - timedelta(days=1), None)], 60, now)
        figures = {g["name"]: g for g in keeping.figures(rows, ("se",))}["all"]
    finally:
        scratch.execute("ROLLBACK")
    assert (figures["tickets"], figures["acknowledged_in_time"]) == (5, 2)
    assert (figures["answered_in_time"], figures["reply_came_due"]) == (0, 5)
    assert (figures["dates_met"], figures["dates_missed"], figures["revised_etas"]) == (0, 1, 1)


def test_the_caps_read_a_mailboxs_hour_and_day_at_once(scratch: Any) -> None:
    """The per-address caps' counts: mail queued to one mailbox (plus-tags and case are one)
    in the last hour and the last day; older mail and other mailboxes do not count."""
    db = bind(scratch)
    now = T0
    scratch.execute("BEGIN")
    try:
        for minutes, to in ((20, "Jane+a@acme.example"), (300, "jane@acme.example")):
            outbox.record_automatic(db, (to,), now - timedelta(minutes=minutes))
        outbox.record_automatic(db, ("jane@acme.example",), now - timedelta(hours=30))
        outbox.record_automatic(db, ("bob@acme.example",), now)
        counts = outbox.automatic_counts(
            db, "jane@acme.example", now - timedelta(hours=1), now - timedelta(days=1)
        )
        alone = outbox.automatic_sent_to(db, "JANE+b@acme.example", now - timedelta(days=2))
    finally:
        scratch.execute("ROLLBACK")
    assert counts == (1, 2)
    assert alone == 3


# Tickets 1 and 2; a reply date on ticket 2 moved to ticket 1; an acknowledgement sent on
# ticket 2 moved to ticket 1 (see how the property's ops pick their rows).
MOVED_AWAY = [
    ("open", 0, "a@x", "new", "actionable", "ack"),
    ("open", 0, "b@x", "new", "actionable", "ack"),
    ("promise", 1, "a@x", "new", "actionable", "ack"),
    ("move", 2, "a@x", "new", "actionable", "ack"),
    ("mail", 1, "a@x", "new", "actionable", "ack"),
    ("readdress", 2, "a@x", "new", "actionable", "ack"),
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=KEPT_OPS)
# Always tried, whatever the draw: a date and a mail moved from one ticket to another (the
# ticket they leave must lose their figures: triggers that read only NEW keep them there).
@example(ops=[*MOVED_AWAY])
@example(ops=[*MOVED_AWAY[:3], ("miss", 0, "a@x", "new", "actionable", "ack"), MOVED_AWAY[3]])
def test_what_triggers_keep_matches_the_rows_on_either_engine(
    scratch: Any, ops: list[tuple[str, int, str, str, str, str]]
) -> None:
    """Each SE's load, each ticket's earliest owed date and its promise-record figures, kept by
    triggers (different code on each engine), equal what the tickets, dates and mail say after
    any changes."""
    db = bind(scratch)
    scratch.execute("BEGIN")
    try:
        made = dates = mails = 0
        for op, n, se, state, kind, mail in ops:
            ticket = n % made + 1 if made else 0
            at = ts(T0 + timedelta(hours=n, microseconds=n * 7919))
            if op == "mail" and made:
                mails += 1
                sent = at if n % 2 else None
                db.execute(
                    "INSERT INTO outbox (id, ticket_id, kind, message_id, mail_from, rcpt, state,"
                    " next_attempt_at, created_at, sent_at) VALUES (?, ?, ?, '<m>', 's', 'r', ?,"
                    " ?, ?, ?)",
                    (mails, ticket, mail, "sent" if n % 2 else "queued", at, at, sent),
                )
            elif op in ("send", "readdress") and mails:
                column, value = ("sent_at", at) if op == "send" else ("ticket_id", ticket)
                db.execute(f"UPDATE outbox SET {column} = ? WHERE id = ?", (value, n % mails + 1))
            elif op == "move" and dates:
                db.execute(
                    "UPDATE commitments SET ticket_id = ? WHERE id = ?", (ticket, n % dates + 1)
                )
            elif op == "open" or not made:
                made += 1
                db.execute(
                    "INSERT INTO tickets (id, key, subject, customer_address, customer_name,"
                    " token, se, state, received_at, created_at, last_customer_message_id)"
                    " VALUES (?, ?, 's', 'c@x', '', 'tok', ?, ?, ?, ?, ?)",
                    (made, f"SUP-{made}", se, state, at, at, f"<m{made}@x>"),
                )
            elif op in ("resolve", "reopen", "assign"):
                column, value = ("se", se) if op == "assign" else ("state", state)
                if op == "resolve":
                    value = "resolved"
                db.execute(f"UPDATE tickets SET {column} = ? WHERE id = ?", (value, ticket))
            elif op == "promise" or not dates:
                dates += 1
                db.execute(
                    "INSERT INTO commitments (id, ticket_id, kind, due_at, told, made_at, promised)"
                    " VALUES (?, ?, ?, ?, '', ?, ?)",
                    (dates, ticket or 1, kind, at, at, int(n % 3 != 0)),
                )
            else:
                date_id = n % dates + 1
                if op == "revise":
                    dates += 1
                    db.execute(
                        "INSERT INTO commitments (id, ticket_id, kind, due_at, told, made_at,"
                        " revision_of) SELECT ?, ticket_id, kind, ?, '', ?, id FROM commitments"
                        " WHERE id = ?",
                        (dates, at, at, date_id),
                    )
                    db.execute(
                        "UPDATE commitments SET superseded_by = ? WHERE id = ?", (dates, date_id)
                    )
                else:
                    column = "met_at" if op == "meet" else "missed_at"
                    db.execute(f"UPDATE commitments SET {column} = ? WHERE id = ?", (at, date_id))
            loads = db.execute(
                "SELECT se, sum(CASE WHEN state != 'resolved' THEN 1 ELSE 0 END), max(created_at)"
                " FROM tickets GROUP BY se"
            ).fetchall()
            kept = db.execute("SELECT se, open, last_assigned FROM se_load").fetchall()
            assert {r[0]: (r[1], r[2]) for r in kept if r[1] or r[2]} == {
                r[0]: (r[1], r[2]) for r in loads
            }
            assert owed_astray(db) == []
            assert figures_astray(db) == []
    finally:
        scratch.execute("ROLLBACK")


def test_a_new_tickets_key_is_its_prefix_and_number_from_the_first(scratch: Any) -> None:
    """Ticket keys count from ``support.first_ticket_number`` under ``support.ticket_prefix``,
    one a ticket, on either engine (PostgreSQL makes the key in the insert itself); the row
    comes back whole, and its requester is its first person."""
    if isinstance(scratch, sqlite3.Connection):
        scratch.row_factory = sqlite3.Row  # as the store's own connection reads rows
    db = bind(scratch)
    scratch.execute("BEGIN")
    try:
        made = [
            tickets.create(
                db,
                parse(customer_mail(n, sender=f"c{n}@acme.example")),
                Route(account="acme", se="sam@example.com", sc="casey@example.com", reason="test"),
                T0,
                T0 + timedelta(minutes=n),
                "CASE",
                5000,
            )
            for n in (1, 2)
        ]
        assert [t.key for t in made] == ["CASE-5000", "CASE-5001"]
        first = made[0]
        assert (first.subject, first.customer_address, first.se, first.state) == (
            "Problem number 1",
            "c1@acme.example",
            "sam@example.com",
            TicketState.NEW,
        )
        assert tickets.by_key(db, "CASE-5001") == made[1]
        assert participants.of(db, first.id) == ["c1@acme.example"]
    finally:
        scratch.execute("ROLLBACK")
