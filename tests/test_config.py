"""The config schema and check-config."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gateway.core.config import ConfigError, load_config, parse_config, schema_keys

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
    assert "routing.default_se" in run.stderr, "every problem of the file in one run"
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    for name in ("imap-password", "smtp-password"):
        (credentials / name).write_text("secret\n")
    good = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--config", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env={**os.environ, "CREDENTIALS_DIRECTORY": str(credentials)},
    )
    assert good.returncode == 0, good.stderr


def test_a_red_colour_hides_no_other_problem_of_the_file() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            {
                "support": {"our_color": "#d01010"},
                "imap": {"enabled": False},
                "people": [{"name": "S", "address": "s@example.com", "role": "se"}],
                "routing": {"default_se": "nobody@example.com"},
            }
        )
    keys = [key for key, _ in err.value.problems]
    assert "support.our_color" in keys and "routing.default_se" in keys, err.value.problems


def _cli(
    *args: str, env: dict[str, str] | None = None, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """``support-gateway ARGS`` as a user runs it, with ``env`` set and ``unset`` not."""
    kept = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**kept, **(env or {})},
    )


def test_secrets_outside_systemd_are_a_clear_error_and_run_refuses_to_start(
    tmp_path: Path,
) -> None:
    """The example config's secrets live under ${CREDENTIALS_DIRECTORY}, which only systemd
    sets: by hand, check-config says so (never "valid"), and run refuses to start at once
    (exit 2) instead of retrying an "IMAP outage" forever."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        EXAMPLE.read_text().replace(
            "/var/lib/support-gateway/gateway.db", str(tmp_path / "gateway.db")
        )
    )
    checked = _cli("check-config", "--config", str(config), unset=("CREDENTIALS_DIRECTORY",))
    assert checked.returncode == 2, checked.stdout
    assert "imap.password: CREDENTIALS_DIRECTORY is not set" in checked.stderr
    assert "smtp.password: CREDENTIALS_DIRECTORY is not set" in checked.stderr
    assert "outside systemd" in checked.stderr
    ran = _cli("run", "--config", str(config), unset=("CREDENTIALS_DIRECTORY",))
    assert ran.returncode == 2 and "refusing to start" in ran.stderr, ran.stderr
    assert "imap.password" in ran.stderr
    (tmp_path / "imap-password").write_text("x\n")
    (tmp_path / "imap-password").chmod(0)
    unreadable = config.read_text().replace(
        "${CREDENTIALS_DIRECTORY}/imap-password", str(tmp_path / "imap-password")
    )
    config.write_text(unreadable.replace("${CREDENTIALS_DIRECTORY}/smtp-password", "/nowhere/pw"))
    checked = _cli("check-config", "--config", str(config), env={"CREDENTIALS_DIRECTORY": ""})
    assert "smtp.password: no file /nowhere/pw" in checked.stderr, checked.stderr
    if os.getuid() != 0:  # root reads any file
        assert "imap.password" in checked.stderr and "not readable" in checked.stderr


def test_every_command_finds_the_config_without_being_told(tmp_path: Path) -> None:
    """--config, else $SUPPORT_GATEWAY_CONFIG, else /etc/support-gateway/support-gateway.toml
    (the login page's `support-gateway passwd your@address` works as written); --version."""
    version = _cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("support-gateway "), version
    config = tmp_path / "elsewhere.toml"
    config.write_text(
        f'[imap]\nenabled = false\n[database]\npath = "{tmp_path / "gateway.db"}"\n'
        '[routing]\ndefault_se = "dana@example.com"\n'
        '[[people]]\nname = "Dana"\naddress = "dana@example.com"\nrole = "se"\n'
    )
    told = _cli("check-config", env={"SUPPORT_GATEWAY_CONFIG": str(config)})
    assert told.returncode == 0 and str(config) in told.stdout, told.stderr
    untold = _cli("status", unset=("SUPPORT_GATEWAY_CONFIG",))
    if not Path("/etc/support-gateway/support-gateway.toml").exists():
        assert untold.returncode == 2
        assert "no config file at /etc/support-gateway/support-gateway.toml" in untold.stderr


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


def test_the_reference_shows_defaults_as_they_are_written_in_toml() -> None:
    from gateway.core.config import reference_table

    table = reference_table()
    for python in ("True", "False", "None", "<Detail", "'"):
        assert f"`{python}" not in table and f"{python}`" not in table, python
    assert '| `support.ask_for` | `["version", "error", "since"]` |' in table
    assert "| `imap.enabled` | `true` |" in table


def test_check_config_warns_of_files_others_can_read(tmp_path: Path) -> None:
    database = tmp_path / "gateway.db"
    database.write_bytes(b"")
    database.chmod(0o644)
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[imap]\nenabled = false\n[database]\npath = "{database}"\n'
        '[routing]\ndefault_se = "dana@example.com"\n'
        '[[people]]\nname = "Dana"\naddress = "dana@example.com"\nrole = "se"\n'
    )
    checked = _cli("check-config", "--config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert f"{database} is readable by others (mode 0644): chmod 600 {database}" in checked.stderr
    database.chmod(0o600)
    assert "readable by others" not in _cli("check-config", "--config", str(config)).stderr
