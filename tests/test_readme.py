"""Every command the README gives, as written.

Each ``support-gateway …`` command in the README (code blocks and inline code, synopses such as
``status --config FILE [--json]`` expanded into each form they allow, with their placeholders
filled) is parsed by the real command line; each ``scripts/…`` command names a script that
exists, and its options are parsed by that script's own parser. A command the README gives and
the program does not take (an option renamed, a subcommand gone, ``--config`` made mandatory
again) fails here. The configure block runs line by line against the suite's Dovecot and SMTP
sink (the operator's editor and systemctl are stand-ins); the install block runs for real in
``scripts/check-install``."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.cli import parser as _parser
from gateway.cli.sink import SmtpSink
from tests.dovecot import PASSWORD, Dovecot

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

PLACEHOLDERS = {
    "FILE": "/etc/support-gateway/support-gateway.toml",
    "ADDRESS": "lee@example.com",
    "A": "jane@acme.example",
    "DATE": "2026-11-01",
    "SINCE": "2026-11-01",
    "TIME": "2026-11-25T16:30-05:00",  # as the README's example of --at
    "TICKET": "SUP-1001",
    "ID": "1",
    "DEST": "/var/backups/support.db",
    "MESSAGE.eml": "customer-mail.eml",
    "N": "3",
    "K": "3",
    "S": "1",
    "postgresql://...": "postgresql://gateway@127.0.0.1/support",
}


def _snippets() -> Iterator[str]:
    """Every command line in the README: lines of its sh blocks, and inline code."""
    in_sh = False
    for line in README.splitlines():
        if line.startswith("```"):
            in_sh = line.strip() == "```sh"
            continue
        if in_sh:
            yield line.split("  #", 1)[0].strip()
    prose = re.sub(r"^```.*?^```", "", README, flags=re.S | re.M)
    for code in re.findall(r"`([^`]+)`", prose):  # inline code may wrap onto the next line
        yield " ".join(code.split())


def _forms(synopsis: str) -> list[list[str]]:
    """The command lines a synopsis allows: ``[x]`` with and without, ``a | b`` each, ``...``
    (more of the same) dropped, placeholders filled in."""
    words = synopsis.replace("[", " [ ").replace("]", " ] ").split()
    words = [w for w in words if w != "..."]

    def expand(tokens: list[str]) -> list[list[str]]:
        # top-level alternatives: "list | retry TICKET"
        depth, parts, current = 0, [], []
        for t in tokens:
            depth += t == "["
            depth -= t == "]"
            if t == "|" and depth == 0:
                parts.append(current)
                current = []
            else:
                current.append(t)
        parts.append(current)
        if len(parts) > 1:
            # "shunt list | retry TICKET": the word before the first "|" starts the choices
            prefix, parts[0] = parts[0][:-1], parts[0][-1:]
            return [form for part in parts for form in expand(prefix + part)]
        out: list[list[str]] = [[]]
        i = 0
        while i < len(tokens):
            t = tokens[i]
            if t == "[":
                depth, j = 1, i + 1
                while depth:
                    depth += tokens[j] == "["
                    depth -= tokens[j] == "]"
                    j += 1
                inner = expand(tokens[i + 1 : j - 1])
                out = [o + choice for o in out for choice in [[], *inner]]
                i = j
                continue
            values = t.split("|") if "|" in t and not t.startswith("-") else [t]
            out = [[*o, PLACEHOLDERS.get(v, v)] for o in out for v in values]
            i += 1
        return out

    return expand(words)


def _commands(program: str) -> list[str]:
    """The README's command lines that run ``program``, from the word after it."""
    found = []
    for snippet in _snippets():
        try:
            words = shlex.split(snippet)
        except ValueError:
            words = snippet.split()
        if words[:1] == ["ln"]:
            continue  # the install block's symlink names the program, it does not run it
        for n, word in enumerate(words):
            if os.path.basename(word) == program:
                if words[n + 1 :]:  # not the bare name, said in prose
                    found.append(" ".join(words[n + 1 :]))
                break
    return sorted(set(found))


GATEWAY = _commands("support-gateway")


def test_the_readme_gives_commands_at_all() -> None:
    assert len(GATEWAY) >= 20, GATEWAY  # the extraction itself works
    for must in ("run", "status", "check-config", "explain", "passwd", "erase", "demo"):
        assert any(c.split()[:1] == [must] for c in GATEWAY), must


@pytest.mark.parametrize("command", GATEWAY)
def test_every_support_gateway_command_in_the_readme_is_taken(command: str) -> None:
    forms = _forms(command)
    assert forms
    for argv in forms:
        try:
            _parser().parse_args(argv)
        except SystemExit as e:
            if argv == ["--version"] and e.code == 0:
                continue
            raise AssertionError(f"support-gateway {' '.join(argv)}: refused ({e})") from None


def _script_parsers() -> dict[str, Callable[[], argparse.ArgumentParser] | None]:
    from tests import bench, chaos, fuzz

    return {
        "scripts/bench": bench.parser,
        "scripts/chaos": chaos.parser,
        "scripts/fuzz": fuzz.parser,
        "scripts/simulate": None,  # support-gateway simulate --jobs 2 "$@": parsed below
        "scripts/test": None,  # pytest's own options
    }


SCRIPTS = sorted(
    {
        s
        for snippet in _snippets()
        for s in re.findall(r"(?:^|\s)(scripts/[\w-]+(?: [^`]*)?)$", snippet)
    }
)


def test_the_readme_names_scripts() -> None:
    assert len(SCRIPTS) >= 10, SCRIPTS


@pytest.mark.parametrize("command", SCRIPTS)
def test_every_script_in_the_readme_exists_and_takes_its_options(command: str) -> None:
    script, *_ = command.split()
    path = ROOT / script
    assert path.is_file() and os.access(path, os.X_OK), f"{script}: no such script"
    arguments = command[len(script) :].strip()
    parsers = _script_parsers()
    for argv in _forms(arguments) if arguments else [[]]:
        if script == "scripts/simulate":
            argv = ["simulate", "--jobs", "2", *argv]
            run: Callable[[list[str]], object] = _parser().parse_args
        elif parsers.get(script) is not None:
            run = parsers[script]().parse_args  # type: ignore[misc]
        else:
            continue
        try:
            run(argv)
        except SystemExit as e:
            raise AssertionError(f"{script} {' '.join(argv)}: refused ({e})") from None


def _block(marker: str) -> list[str]:
    """The command lines of the sh block under ``<!-- ci: marker -->``, comments dropped."""
    text = README.split(f"<!-- ci: {marker} -->", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in text.splitlines() if line.strip()]


# The operator's editor: what they change in the example config to reach their servers (here
# the suite's Dovecot and SMTP sink on loopback), nothing else.
EDITOR = r"""#!{python}
import os, re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
def section(name, changes):
    global text
    start = text.index(f"\n[{{name}}]\n")
    end = text.find("\n[", start + 1)
    body = text[start:end]
    for key, value in changes.items():
        line = rf"\n{{re.escape(key)}} = [^\n]*"
        body, n = re.subn(line, f"\n{{key}} = {{value}}", body, count=1)
        assert n, (name, key)
    text = text[:start] + body + text[end:]
section("imap", {{"host": '"127.0.0.1"', "port": os.environ["IMAP_PORT"], "tls": '"none"',
                 "user": '"support"'}})
section("smtp", {{"host": '"127.0.0.1"', "port": os.environ["SMTP_PORT"], "tls": '"none"',
                 "user": '""'}})
section("database", {{"path": '"' + os.environ["DB"] + '"'}})
open(path, "w", encoding="utf-8").write(text)
"""
# systemd is not in CI: systemctl records what it was asked to do.
SYSTEMCTL = '#!/bin/sh\necho "$@" >> "$SYSTEMCTL_LOG"\n'


@pytest.mark.dovecot
async def test_the_readmes_configure_block_runs_as_written(
    mailbox: Dovecot, sink: SmtpSink, tmp_path: Path
) -> None:
    """Install the example config, edit it to reach the servers, install the two secrets from
    standard input, check-config --connect and install the unit: the README's lines, with /etc
    under a temporary root (as scripts/check-install does for the install block)."""
    root, bin_ = tmp_path / "root", tmp_path / "bin"
    bin_.mkdir()
    (root / "etc/systemd/system").mkdir(parents=True)  # as on any systemd machine
    (bin_ / "editor").write_text(EDITOR.format(python=sys.executable))
    (bin_ / "systemctl").write_text(SYSTEMCTL)
    for tool in ("editor", "systemctl"):
        (bin_ / tool).chmod(0o755)
    program = Path(sys.executable).parent / "support-gateway"
    (bin_ / "support-gateway").symlink_to(program)
    env = os.environ | {
        "PATH": f"{bin_}:{os.environ['PATH']}",
        "IMAP_PORT": str(mailbox.port),
        "SMTP_PORT": str(sink.port),
        "DB": str(tmp_path / "gateway.db"),
        "SYSTEMCTL_LOG": str(tmp_path / "systemctl.log"),
        "SUPPORT_GATEWAY_CONFIG": f"{root}/etc/support-gateway/support-gateway.toml",
    }
    install = [line for line in _block("install") if "deploy/support-gateway.toml" in line]
    lines = [*install, *_block("configure")]
    assert len(lines) == 6 and lines[-1].startswith("cp deploy/support-gateway.service")
    secrets = {"imap-password": PASSWORD, "smtp-password": "not-used-without-a-user"}

    def run(line: str) -> subprocess.CompletedProcess[str]:
        command = line.replace("/etc/", f"{root}/etc/")
        stdin = next((v for k, v in secrets.items() if "/dev/stdin" in line and k in line), "")
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    for line in lines:
        done = await asyncio.to_thread(run, line)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        if "check-config --connect" in line:
            assert "imap: logged in" in done.stdout and "smtp: connected" in done.stdout
    credentials = root / "etc/support-gateway/credentials"
    assert (credentials / "imap-password").read_text() == PASSWORD
    assert oct((credentials / "imap-password").stat().st_mode & 0o777) == "0o600"
    unit = root / "etc/systemd/system/support-gateway.service"
    assert unit.read_text() == (ROOT / "deploy/support-gateway.service").read_text()
    assert (tmp_path / "systemctl.log").read_text() == "enable --now support-gateway\n"
