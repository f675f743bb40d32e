"""Several support mailboxes (teams) in one config file, served by one process: each team its
own address, mailbox, people, policy and database; what they share (the relay) said once."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.sink import SmtpSink
from gateway.core.config import ConfigError, load_config, load_teams, parse_teams
from tests.conftest import customer_mail, eventually
from tests.daemon import Daemon
from tests.dovecot import PASSWORD, USER, Dovecot

SHARED = {
    "smtp": {"host": "127.0.0.1", "port": 2525, "tls": "none"},
    "sla": {"actionable_business_days": 1},
    "metrics": {"port": 0},  # (any free port: each team's own)
    "web": {"port": 0},
}


def team(name: str, address: str, se: str, db: str, **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "support": {"address": address, "ticket_prefix": name[:3].upper()},
        "database": {"path": db},
        "imap": {"enabled": False},
        "people": [{"name": se.split("@")[0].title(), "address": se, "role": "se"}],
        "routing": {"default_se": se},
        **more,
    }


def test_each_team_is_the_shared_part_with_its_own_on_top() -> None:
    teams = parse_teams(
        {
            **SHARED,
            "teams": [
                team("support", "support@example.com", "sam@example.com", "/tmp/a.db"),
                team(
                    "billing",
                    "billing@example.com",
                    "bea@example.com",
                    "/tmp/b.db",
                    sla={"actionable_business_days": 2},
                ),
            ],
        }
    )
    assert [name for name, _ in teams] == ["support", "billing"]
    support, billing = teams[0][1], teams[1][1]
    assert billing.support.address == "billing@example.com"
    assert [p.address for p in billing.people] == ["bea@example.com"], "its own people only"
    assert support.sla.actionable_business_days == 1, "the shared policy"
    assert billing.sla.actionable_business_days == 2, "its own, key by key"
    assert billing.smtp.port == support.smtp.port == 2525, "the relay said once"


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_teams(data)
    return caught.value.problems


def test_two_teams_cannot_share_an_address_a_database_or_a_port() -> None:
    found = problems(
        {
            **SHARED,
            "web": {"port": 8026},
            "teams": [
                team("support", "support@example.com", "sam@example.com", "/tmp/a.db"),
                team("billing", "SUPPORT@example.com", "bea@example.com", "/tmp/./a.db"),
                team(
                    "sales",
                    "sales@example.com",
                    "sal@example.com",
                    "/tmp/c.db",
                    support={"address": "sales@example.com", "ticket_prefix": "SUP"},
                ),
            ],
        }
    )
    assert ("teams.billing.support.address", "the same as team support's") in found
    assert ("teams.billing.database", "the same as team support's") in found, (
        "the same file however the path is spelled"
    )
    assert ("teams.billing.web.port", "the same as team support's") in found
    assert ("teams.sales.support.ticket_prefix", "the same as team support's") in found, (
        "[SUP-1001] would name two teams' tickets"
    )


def test_a_sibling_teams_address_is_one_of_our_own() -> None:
    teams = dict(
        parse_teams(
            {
                **SHARED,
                "teams": [
                    team("support", "support@example.com", "sam@example.com", "/tmp/a.db"),
                    team("billing", "billing@example.com", "bea@example.com", "/tmp/b.db"),
                ],
            }
        )
    )
    assert "billing@example.com" in teams["support"].support.own_addresses
    assert "support@example.com" in teams["billing"].support.own_addresses


def test_a_problem_in_a_team_is_named_by_its_team_and_key() -> None:
    bad = team("billing", "billing@example.com", "bea@example.com", "/tmp/b.db")
    bad["routing"] = {"default_se": "nobody@example.com"}
    found = problems(
        {**SHARED, "teams": [bad, team("Not A Name", "x@example.com", "s@e.com", "c")]}
    )
    keys = [key for key, _ in found]
    assert any(key.startswith("teams.billing.routing.default_se") for key in keys), found
    assert "teams[1].name" in keys


def test_a_command_on_a_file_with_teams_names_its_team(tmp_path: Path) -> None:
    path = tmp_path / "teams.toml"
    path.write_text(
        '[smtp]\nport = 2525\ntls = "none"\n[imap]\nenabled = false\n'
        '[metrics]\nport = 0\n[web]\nport = 0\n[routing]\ndefault_se = "sam@example.com"\n'
        '[[people]]\nname = "Sam"\naddress = "sam@example.com"\nrole = "se"\n'
        '[[teams]]\nname = "support"\nsupport.address = "support@example.com"\n'
        f'database.path = "{tmp_path / "a.db"}"\n'
        '[[teams]]\nname = "billing"\nsupport.address = "billing@example.com"\n'
        'support.ticket_prefix = "BIL"\n'
        f'database.path = "{tmp_path / "b.db"}"\n'
    )
    assert [n for n, _ in load_teams(path)] == ["support", "billing"]
    assert load_config(path, "billing").support.address == "billing@example.com"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [
        ("teams", "this file serves teams (support, billing): name one (--team)")
    ]
    with pytest.raises(ConfigError):
        load_config(path, "sales")


def _teams_file(tmp_path: Path, mailbox: Dovecot, sink: SmtpSink) -> Path:
    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD)
    path = tmp_path / "teams.toml"
    path.write_text(f"""
[imap]
host = "127.0.0.1"
port = {mailbox.port}
tls = "none"
user = "{USER}"
password.file = "{secret}"
poll_seconds = 0.2
[smtp]
host = "127.0.0.1"
port = {sink.port}
tls = "none"
[scheduler]
tick_seconds = 0.2
[metrics]
port = 0
[web]
port = 0

[[teams]]
name = "support"
support.address = "support@example.com"
database.path = "{tmp_path / "support.db"}"
routing.default_se = "sam@example.com"
[[teams.people]]
name = "Sam Engineer"
address = "sam@example.com"
role = "se"

[[teams]]
name = "billing"
support.address = "billing@example.com"
support.display_name = "Example Billing"
support.ticket_prefix = "BIL"
imap.inbox = "Billing"
imap.processed_folder = "BillingDone"
imap.quarantine_folder = "BillingQuarantine"
database.path = "{tmp_path / "billing.db"}"
routing.default_se = "bea@example.com"
[[teams.people]]
name = "Bea Billing"
address = "bea@example.com"
role = "se"
""")
    return path


@pytest.mark.dovecot
async def test_one_process_serves_two_teams_each_with_its_own_address_people_and_records(
    mailbox: Dovecot, sink: SmtpSink, tmp_path: Path
) -> None:
    with mailbox.client() as c:
        c.create_folder("Billing")
    config = _teams_file(tmp_path, mailbox, sink)
    daemon = Daemon(config)
    await daemon.start()
    try:
        await eventually(lambda: daemon.text.count("imap-up") == 2, timeout=30)
        mailbox.clock = None  # real time: INTERNALDATE is the server's clock
        mailbox.append(customer_mail(1, sender="li@globex.example"))
        mailbox.append(
            customer_mail(2, sender="li@globex.example", subject="Invoice 7 is wrong"), "Billing"
        )
        await sink.wait_for(4, timeout=30)
        await eventually(lambda: mailbox.count("BillingDone") == 1, timeout=10)
        assert await daemon.stop(20) == 0
    finally:
        daemon.kill_if_running()
    by_kind = {
        (m["X-Support-Kind"], m["From"].split("<")[-1].rstrip(">")): m for m in sink.messages
    }
    ack = by_kind[("ack", "billing@example.com")]
    assert ack["To"] == "li@globex.example" and "[BIL-1001]" in ack["Subject"]
    assert "Example Billing" in ack["From"]
    copy = by_kind[("se-copy", "billing@example.com")]
    assert copy["To"] == "bea@example.com", "the billing team's own engineer"
    assert "[SUP-1001]" in by_kind[("ack", "support@example.com")]["Subject"]
    assert by_kind[("se-copy", "support@example.com")]["To"] == "sam@example.com"
    assert "team=billing" in daemon.text and "team=support" in daemon.text, "logs say whose"
    for name, subject in (("billing", "Invoice 7 is wrong"), ("support", "Problem number 1")):
        shown = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gateway", "status", "--config", str(config), "--team", name],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert "tickets:      new 1\n" in shown.stdout, "each team's status, its own records"
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            rows = db.execute("SELECT subject FROM tickets").fetchall()
        assert rows == [(subject,)], "each team's mail in its own database"


def test_the_readme_example_of_teams_is_a_valid_config() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    blocks = [b.split("```")[0] for b in readme.split("```toml\n")[1:]]
    example = next(b for b in blocks if "[[teams]]" in b)
    teams = parse_teams(tomllib.loads(example))
    assert [(name, c.support.address, c.imap.inbox) for name, c in teams] == [
        ("support", "support@example.com", "INBOX"),
        ("billing", "billing@example.com", "Billing"),
    ]
    assert teams[1][1].sla.actionable_business_days == 2
    assert teams[0][1].smtp.host == teams[1][1].smtp.host == "smtp.example.com"
