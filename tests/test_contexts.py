"""The sample data the templates are checked with (``templating.sample_contexts``, what
``check-config`` renders) and the golden renderings' data (tests/golden.py) say what the gateway
really passes: a ticket's life is run through the real pipeline and scheduler, every context
given to a template is recorded, and each template's variables must be the samples'."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from gateway.mail.mime import Composer
from gateway.mail.samples import sample_contexts
from gateway.mail.templating import Template
from tests.conftest import customer_mail, relay_reply
from tests.golden import CASES
from tests.harness import Harness


@pytest.fixture
def contexts(monkeypatch: pytest.MonkeyPatch) -> dict[Template, list[set[str]]]:
    seen: dict[Template, list[set[str]]] = defaultdict(list)
    build = Composer.build

    def recording(self: Composer, kind: Any, template: Template, *args: Any, **kw: Any) -> Any:
        seen[template].append(set(args[2]))  # (ticket, envelope, context, ...)
        return build(self, kind, template, *args, **kw)

    monkeypatch.setattr(Composer, "build", recording)
    return seen


async def _a_tickets_life(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail with E42? Is 4.2 affected?"))
    await h.receive(
        customer_mail(
            2, body="And does the import fail too?", in_reply_to="<customer-1@acme.example>"
        )
    )
    [copy] = [m for m in h.sink.messages if m["X-Support-Kind"] == "se-copy"][:1]
    await h.later(timedelta(hours=24, minutes=10))  # the reply date passes: revised
    await h.receive(
        relay_reply(copy, "#eta resolve 2026-11-27 15:00\n\nA bad index: fixed in 4.2.1.")
    )
    await h.receive(relay_reply(copy, "#bogus", n="se-2"))  # an error
    await h.receive(relay_reply(copy, "#note checked the logs", n="se-3"))
    await h.later(timedelta(days=3))  # status updates
    await h.receive(relay_reply(copy, "#resolved", n="se-4"))


async def test_what_the_gateway_passes_each_template_is_what_its_samples_hold(
    h: Harness, contexts: dict[Template, list[set[str]]]
) -> None:
    await _a_tickets_life(h)
    kinds_of_mail = {
        Template.ACK,
        Template.FOLLOW_UP_ACK,
        Template.SE_COPY,
        Template.REVISED_ETA,
        Template.MISSED_ALERT,
        Template.RELAY_REPLY,
        Template.SE_CONFIRM,
        Template.SE_ERROR,
        Template.NOTE,
        Template.STATUS_UPDATE,
        Template.DONE_SUMMARY,
    }
    assert kinds_of_mail <= set(contexts), kinds_of_mail - set(contexts)
    samples = sample_contexts()
    goldens: dict[Template, list[tuple[str, set[str]]]] = defaultdict(list)
    for name, template, data, _ in CASES:
        goldens[template].append((name, set(data)))
    wrong = []
    for template, calls in sorted(contexts.items()):
        for real in calls:
            for name, said in [(f"sample {template}", set(samples[template])), *goldens[template]]:
                if real != said:
                    wrong.append(
                        f"{name}: missing {sorted(real - said)}, never passed {sorted(said - real)}"
                    )
    assert not wrong, "\n".join(sorted(set(wrong)))
