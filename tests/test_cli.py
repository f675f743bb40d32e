"""The operator's command line: one module per command, all in the table, --help made from it
and light."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from gateway.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_module_is_in_the_table_and_each_entry_has_its_module() -> None:
    modules = {c.module for c in COMMANDS}
    for c in COMMANDS:
        module = importlib.import_module(f"gateway.cli.{c.module}")
        assert callable(module.arguments) and callable(module.main), c.name
        assert module.__doc__ and f"support-gateway {c.name}" in module.__doc__, c.name
    commands_on_disk = {
        p.stem
        for p in (ROOT / "gateway" / "cli").glob("*.py")
        if "\ndef main(args: argparse.Namespace" in p.read_text()
    }
    assert commands_on_disk == modules


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_help_names_every_command_and_loads_none_of_them() -> None:
    run = _run(
        "import sys\nfrom gateway.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('gateway.')))"
    )
    assert run.returncode == 0, run.stderr
    for c in COMMANDS:
        assert f"    {c.name}" in run.stdout, c.name
    loaded = run.stdout.split("LOADED", 1)[1]
    assert "gateway.core.config" not in loaded and "gateway.pipeline" not in loaded, loaded


def test_version_and_a_commands_own_help() -> None:
    version = _run("from gateway.cli import main; main(['--version'])")
    assert version.stdout.startswith("support-gateway ")
    explain = _run("from gateway.cli import main; main(['explain', '--help'])")
    assert "usage: support-gateway explain" in explain.stdout and "--at AT" in explain.stdout
