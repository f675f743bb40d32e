"""Every template renders exactly its reviewed golden rendering (tests/golden/), for every kind
and state it is sent in; after a deliberate change, ``scripts/golden`` rewrites the files and the
diff is what the reviewer reads."""

from __future__ import annotations

import pytest

from gateway.mail.templating import Template
from tests.golden import CASES, GOLDEN, render


def test_every_template_has_a_golden_rendering() -> None:
    assert {template for _, template, _, _ in CASES} == set(Template)


@pytest.mark.parametrize(
    ("name", "template", "context", "ticket"), CASES, ids=[c[0] for c in CASES]
)
def test_golden_rendering(name: str, template: Template, context: dict, ticket: object) -> None:
    rendered = render(template, context, ticket)  # type: ignore[arg-type]
    for part, text in rendered.items():
        path = GOLDEN / f"{name}.{part}"
        assert path.exists(), f"no golden rendering {path.name}: run scripts/golden"
        assert text == path.read_text(encoding="utf-8"), (
            f"{path.name} changed: if deliberate, run scripts/golden and review the diff"
        )
