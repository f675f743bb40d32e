"""`support-gateway explain`: the why of a decision, with no side effects."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from gateway.core.config import Config
from gateway.store import postgres
from gateway.store.db import is_postgres
from tests.conftest import customer_mail, database_toml
from tests.harness import Harness
from tests.test_conversation import sc_forward

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "support-gateway.toml"


def digest(db: str) -> str:
    """The database's content: SQLite's file, or every row of every PostgreSQL table."""
    if not is_postgres(db):
        return hashlib.sha256(Path(db).read_bytes()).hexdigest()
    con = postgres.connect(db)
    try:
        tables = con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows = [
            (t[0], sorted(map(repr, con.execute(f'SELECT * FROM "{t[0]}"').fetchall())))
            for t in sorted(tables.fetchall())
        ]
    finally:
        con.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def run_explain(config: Path, eml: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "explain",
            "--config",
            str(config),
            "--json",
            *extra,
            str(eml),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def test_explain_with_the_example_config_and_no_database(tmp_path: Path) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(customer_mail(1, sender="jane@acme.example"))
    # Wednesday before Thanksgiving, after hours: the reply is due at the close of Friday.
    report = run_explain(EXAMPLE, eml, "--at", "2026-11-25T18:30-05:00")
    assert report["action"] == "acknowledge"
    assert report["classification"] == "human"
    assert report["ticket"] == "SUP-1001"
    assert (
        report["route"]["se"] == "sam@example.com" and report["route"]["sc"] == "casey@example.com"
    )
    assert report["eta"] == "2026-11-27T17:00:00-05:00"
    # After hours: the owner keeps the ticket, the on-duty SE (rota: Wednesday) gets a triage copy.
    assert [(o["to"], o["cc"]) for o in report["outbound"]] == [
        ("jane@acme.example", "casey@example.com"),
        ("sam@example.com", "casey@example.com"),
        ("dana@example.com", ""),
    ]
    assert report["outbound"][0]["subject"] == "Re: Problem number 1 [SUP-1001]"
    assert report["outbound"][2]["subject"].startswith("[SUP-1001] After hours: New:")
    assert not Path("/var/lib/support-gateway/gateway.db").exists()


def test_explain_says_why_an_auto_reply_got_nothing(tmp_path: Path) -> None:
    eml = tmp_path / "ooo.eml"
    eml.write_bytes(customer_mail(2, headers={"Auto-Submitted": "auto-replied"}))
    report = run_explain(EXAMPLE, eml, "--at", "2026-11-25T10:00-05:00")
    assert report["action"] == "suppress"
    assert report["classification"] == "auto-reply"
    assert "rule:auto-submitted: auto-reply: Auto-Submitted: auto-replied" in report["reasons"]
    assert report["eta"] is None and report["outbound"] == []


async def test_explain_sees_the_thread_and_writes_nothing(
    h: Harness, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    await h.receive(customer_mail(1))
    config = make_config()
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[support]\naddress = "support@example.com"\n[imap]\nenabled = false\n'
        f"{database_toml(config)}"
        '[routing]\ndefault_se = "dana@example.com"\n'
        '[[people]]\nname = "Dana"\naddress = "dana@example.com"\nrole = "se"\n'
    )
    await h.store.stop()  # as an operator would: the database file is all there is
    db = config.database.target
    before = digest(db)
    eml = tmp_path / "f.eml"
    eml.write_bytes(customer_mail("2", in_reply_to="<customer-1@acme.example>"))
    report = run_explain(toml, eml, "--at", "2026-11-23T12:00-05:00")
    assert report["action"] == "attach"
    assert report["ticket"] == "SUP-1001"
    assert "thread: SUP-1001: matched by In-Reply-To/References" in report["reasons"]
    assert [o["kind"] for o in report["outbound"]] == ["se-copy"]
    assert digest(db) == before
    await h.store.start()  # the fixture closes it


def test_explain_text_output_for_an_unparseable_mail(tmp_path: Path) -> None:
    eml = tmp_path / "empty.eml"
    eml.write_bytes(b"\r\n")
    run = subprocess.run(
        [sys.executable, "-m", "gateway", "explain", "--config", str(EXAMPLE), str(eml)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "action:         quarantine" in run.stdout and "empty message" in run.stdout


def test_explain_a_staff_forward_that_names_no_customer(tmp_path: Path) -> None:
    """The forward's sender would be asked who the customer is: explain says so (it crashed
    on this outcome when its words for outcomes missed one)."""
    eml = tmp_path / "fwd.eml"
    body = (ROOT / "tests" / "data" / "forwards" / "no_address.txt").read_text()
    eml.write_bytes(sc_forward(body))
    report = run_explain(EXAMPLE, eml, "--at", "2026-11-25T10:00-05:00")
    assert report["action"] == "ask", report["reasons"]
    assert [m["kind"] for m in report["outbound"]] == ["forward-query"]
    assert report["outbound"][0]["to"] == "casey@example.com"
