"""Templates are ours: a broken one stops check-config and run with its name, a reload keeps the
old set, and the built-in set is found through the package wherever it is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.core.clock import FakeClock
from gateway.core.config import Config, parse_config
from gateway.daemon.app import Gateway, StartRefused
from gateway.mail.mime import Composer
from gateway.mail.samples import sample_contexts
from gateway.mail.templating import PackageTemplates, Template, file_names
from tests.conftest import MONDAY_10

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "deploy" / "support-gateway.toml"


def _config_text(tmp_path: Path, templates_dir: Path | None) -> str:
    """The example config, its state and its secrets (as the unit's credentials) under
    ``tmp_path``."""
    credentials = tmp_path / "credentials"
    credentials.mkdir(exist_ok=True)
    for name in ("imap-password", "smtp-password"):
        (credentials / name).write_text("secret\n")
    text = EXAMPLE.read_text().replace("${CREDENTIALS_DIRECTORY}", str(credentials))
    text = text.replace('templates_dir = ""', f'templates_dir = "{templates_dir or ""}"')
    return text.replace("/var/lib/support-gateway", str(tmp_path / "state"))


def _minimal(**extra: object) -> Config:
    people = [{"name": "Sam Engineer", "address": "sam@example.com", "role": "se"}]
    return parse_config({"people": people, "routing": {"default_se": "sam@example.com"}, **extra})


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_template_file_ships_in_the_package_and_renders() -> None:
    loader = PackageTemplates()
    shipped = set(loader.list_templates())
    for template in Template:
        for name in file_names(template):
            assert name in shipped, f"{name} is not in the package's templates"
    assert set(sample_contexts()) == set(Template), "every template has sample data"
    composer = Composer(_minimal(imap={"enabled": False}), FakeClock(MONDAY_10))
    assert composer.template_problems() == []


def test_the_package_loader_refuses_paths_out_of_its_directory() -> None:
    from jinja2 import TemplateNotFound

    env = Composer(_minimal(imap={"enabled": False}), FakeClock(MONDAY_10)).env
    for name in ("../pyproject.toml", "/etc/passwd", "a/../../x.j2"):
        with pytest.raises(TemplateNotFound):
            PackageTemplates().get_source(env, name)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Dear {{ customer_name }, {% if %}", "TemplateSyntaxError"),
        ("Dear {{ customer_nmae }},", "customer_nmae"),
        ("{{ points | frobnicate }}", "frobnicate"),
    ],
)
def test_check_config_names_a_broken_operator_template(
    tmp_path: Path, source: str, expected: str
) -> None:
    ours = tmp_path / "templates"
    ours.mkdir()
    (ours / "ack.html.j2").write_text(source)
    config = tmp_path / "gateway.toml"
    config.write_text(_config_text(tmp_path, ours))
    run = _check_config(config)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "template ack.html.j2" in run.stderr
    assert expected in run.stderr
    assert "ack.txt.j2" not in run.stderr, "only the broken file is named"

    (ours / "ack.html.j2").write_text("<p>Dear {{ customer_name }}, {{ ticket.key }}</p>")
    run = _check_config(config)
    assert run.returncode == 0, run.stderr
    assert "every template renders" in run.stdout


async def test_run_refuses_to_start_with_a_broken_template(tmp_path: Path) -> None:
    ours = tmp_path / "templates"
    ours.mkdir()
    (ours / "revised_eta.txt.j2").write_text("{% for r in revisions %}{{ r.nope }}")
    config = _minimal(
        imap={"enabled": False},
        metrics={"enabled": False},
        database={"path": str(tmp_path / "g.db")},
        templates_dir=str(ours),
    )
    gateway = Gateway(config, FakeClock(MONDAY_10))
    with pytest.raises(StartRefused) as refused:
        await gateway.start()
    assert [k for k, _ in refused.value.problems] == ["template revised_eta.txt.j2"]
    assert not gateway.store.started, "nothing was started"


def test_the_run_command_exits_2_naming_a_broken_template(tmp_path: Path) -> None:
    ours = tmp_path / "templates"
    ours.mkdir()
    (ours / "revised_eta.txt.j2").write_text("{% for r in revisions %}{{ r.nope }}")
    path = tmp_path / "gateway.toml"
    path.write_text(_config_text(tmp_path, ours).replace("enabled = true", "enabled = false"))
    run = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "refusing to start" in run.stderr and "revised_eta.txt.j2" in run.stderr


async def test_reload_with_a_broken_template_keeps_the_old_set(tmp_path: Path) -> None:
    ours = tmp_path / "templates"
    ours.mkdir()
    path = tmp_path / "gateway.toml"
    path.write_text(_config_text(tmp_path, ours))
    (ours / "ack.txt.j2").write_text("Hello {{ customer_name }} ({{ ticket.key }})\n")
    from gateway.core.config import load_config

    gateway = Gateway(load_config(path), FakeClock(MONDAY_10))
    gateway.config_path = str(path)
    before = gateway.services
    (ours / "ack.txt.j2").write_text("Hello {{ customer_name }\n")
    assert gateway.reload() is False
    assert gateway.services is before
    assert gateway.processor.services is before and gateway.scheduler.s is before
    (ours / "ack.txt.j2").write_text("Hi {{ customer_name }}\n")
    assert gateway.reload() is True
    assert gateway.services is not before


async def test_the_demo_says_why_when_its_story_does_not_happen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import demo
    from gateway.core.models import MailKind

    build = Composer.build

    def broken(self: Composer, kind: MailKind, *args: object, **kwargs: object) -> object:
        if kind is MailKind.ACK:
            raise RuntimeError("the ack template's data is missing")
        return build(self, kind, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Composer, "build", broken)
    monkeypatch.setattr(demo, "FIRST_MAIL_SECONDS", 3.0)
    assert await demo.run_demo() == 1
    out = capsys.readouterr().out
    assert "The story stopped: expected 2 messages at the SMTP sink, got 0" in out
    assert "message 1: " in out, "what happened to the customer's mail"
    assert "RuntimeError: the ack template's data is missing" in out


def test_a_template_cache_that_cannot_be_written_or_read_costs_no_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled templates are cached between runs; a full or read-only disk under the cache
    must not fail a render (a mail would wait on it)."""
    import jinja2
    import jinja2.bccache

    from gateway.mail import templating

    def full(*args: object, **kwargs: object) -> object:
        raise OSError(28, "No space left on device")

    env = jinja2.Environment(
        loader=jinja2.DictLoader({"t": "hello {{ name }}"}),
        bytecode_cache=templating._Cache(str(tmp_path)),
    )
    monkeypatch.setattr(jinja2.bccache.tempfile, "NamedTemporaryFile", full)
    assert env.get_template("t").render(name="Ann") == "hello Ann"
    monkeypatch.undo()
    assert env.cache is not None
    env.cache.clear()  # (compiled templates kept in memory: the next get reads the disk cache)
    monkeypatch.setattr("builtins.open", full)
    assert env.get_template("t").render(name="Bo") == "hello Bo"
