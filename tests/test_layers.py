"""The house's layout holds: each package in its layer (pyproject's [tool.importlinter]),
the top level only entry points, and every package saying what lives there."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gateway"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = config["contracts"][0]
    # A layer may hold siblings that must not import each other: "a | b".
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    # In a process of its own: import-linter reconfigures logging for the rest of its process.
    check = (
        "from importlinter.cli import lint_imports; import sys;"
        f" sys.exit(lint_imports(config_filename={str(ROOT / 'pyproject.toml')!r}, no_cache=True))"
    )
    run = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_every_package_is_in_a_layer_and_the_top_level_holds_only_entry_points() -> None:
    layers = set(_layers())
    packages = {f"gateway.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    # gateway.pipeline is layered module by module (its order above the steps, its work below)
    covered = {name.split(".")[0] + "." + name.split(".")[1] for name in layers}
    assert packages - {"gateway.templates"} <= covered, packages - covered
    modules = {p.name for p in PACKAGE.glob("*.py")}
    assert modules == {"__init__.py", "__main__.py"}
    pipeline = {f"gateway.pipeline.{p.stem}" for p in (PACKAGE / "pipeline").glob("[!_]*.py")}
    assert pipeline <= layers, pipeline - layers


def test_every_package_says_what_lives_there() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init.relative_to(ROOT)} has no docstring worth the name"


def test_the_readme_names_every_pipeline_step_in_order() -> None:
    from gateway.pipeline.order import PIPELINE

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("       parse -> ") : readme.index("-> outbox rows")]
    block = re.sub(r"\([^()]*\)", "", block)  # the asides
    assert re.findall(r"(?:^|->)\s*(\w+)", block.strip()) == [name for name, _ in PIPELINE]


def test_modules_stay_small_enough_to_read_in_one_sitting() -> None:
    """No module over 400 lines; no function over 80 in the steps, commands and operator
    commands (the places a newcomer reads first)."""
    long_modules = {
        str(p.relative_to(ROOT)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long_modules
    long_functions = []
    for folder in ("steps", "commands", "cli"):
        for path in (PACKAGE / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 80:
                        long_functions.append(f"{path.relative_to(ROOT)}: {node.name} {length}")
    assert not long_functions
