"""The config schema and check-config."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config, parse_config, schema_keys

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "support-gateway.toml"


def test_the_example_config_is_valid_and_documents_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.support.address == "support@example.com"
    text = EXAMPLE.read_text()
    present = set()
    section = ""
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if m := re.fullmatch(r"\[\[?([\w.]+)\]\]?", line):
            section = m.group(1) + ("[]" if line.startswith("[[") else "")
        elif m := re.match(r"([\w.]+)\s*=", line):
            present.add(f"{section}.{m.group(1)}" if section else m.group(1))
    missing = [k for k in schema_keys() if k not in present]
    assert missing == []


def test_every_problem_is_reported_with_its_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "imap": {"port": 0, "tls": "ssl", "colour": 1},
                "hours": {"timezone": "Mars/Base", "mon": ["17:00-08:00"]},
                "support": {"our_color": "#ee1111"},
                "people": [{"name": "x", "address": "nope", "role": "se"}],
            }
        )
    keys = [k for k, _ in err.value.problems]
    assert keys == [
        "support.our_color",
        "imap.port",
        "imap.tls",
        "imap.colour",
        "hours.timezone",
        "hours.mon",
        "people[0].address",
    ]


def test_cross_references_are_checked() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "imap": {"user": "u"},
                "people": [{"name": "S", "address": "s@example.com", "role": "sc"}],
                "routing": {"default_se": "s@example.com"},
                "accounts": [{"name": "A", "domains": ["a.example"], "sc": "x@example.com"}],
            }
        )
    assert dict(err.value.problems) == {
        "routing.default_se": "s@example.com is a sc, not an se",
        "accounts[0].sc": "x@example.com is not in [[people]]",
        "imap.password": "give file, env or command",
    }


def test_check_config_command_exit_status(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[smtp]\nport = "x"\n[routing]\ndefault_se = "nobody@example.com"\n')
    run = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--config", str(bad)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "smtp.port" in run.stderr
    good = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--config", str(EXAMPLE)],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr


def test_secrets_are_read_from_files_and_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    config = parse_config(
        {
            "imap": {"user": "u", "password": {"file": str(secret)}},
            "people": [{"name": "S", "address": "s@example.com", "role": "se"}],
            "routing": {"default_se": "s@example.com"},
        }
    )
    assert config.imap.password.read().get_secret_value() == "hunter2"
    assert "hunter2" not in repr(config) and "hunter2" not in str(config.imap.password.read())


def test_the_readme_reference_lists_every_key() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [k for k in schema_keys() if f"`{k}`" not in readme]
    assert missing == []


def test_rota_overrides_without_accounts_and_an_account_without_addresses() -> None:
    people = [{"name": "Sam Engineer", "address": "sam@example.com", "role": "se"}]
    base = {
        "imap": {"enabled": False},
        "people": people,
        "routing": {"default_se": "sam@example.com"},
    }
    config = parse_config(base | {"rota": {"overrides": {"2026-12-24": "sam@example.com"}}})
    assert config.rota.on_duty(date(2026, 12, 24)) == "sam@example.com"
    with pytest.raises(ConfigError) as bad:
        parse_config(base | {"accounts": [{"name": "Acme", "se": "sam@example.com"}]})
    assert bad.value.problems == [("accounts[0]", "give domains or addresses")]
