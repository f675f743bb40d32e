"""Promise only what a person has agreed to (issue 15): the policy's resolution date is a target;
an engineer's resolution date is a promise, kept or revised; status updates name what is owed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gateway.cli.sink import Received, SmtpSink
from gateway.core.clock import FakeClock
from gateway.core.config import Config
from gateway.pipeline.work import Services
from gateway.promise.words import dates_owed
from gateway.store import tickets
from gateway.store.commitments import Commitment
from tests.conftest import customer_mail
from tests.harness import Harness
from tests.test_engineer import se_reply


def kind(h: Harness, name: str) -> list[Received]:
    return [m for m in h.sink.messages if m["X-Support-Kind"] == name]


async def test_the_resolution_target_is_never_revised_to_the_customer(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Can we get view-only accounts?"))
    ack = kind(h, "ack")[0].text()
    assert "Our usual target for a resolution is Friday 27 November, 10:00 EST" in ack
    assert "Sam Engineer will confirm a date once they have looked into it." in ack
    promised = await h.scalar("SELECT promised FROM commitments WHERE kind = 'resolution'")
    assert promised == 0
    await h.later(timedelta(days=5))  # both the reply date and the target pass unanswered
    revised = " ".join(m.text() for m in kind(h, "revised-eta"))
    assert "resolved" not in revised, "no revised resolution date nobody promised"
    alerts = " ".join(m.text() for m in kind(h, "missed-alert"))
    assert "a resolution was due Friday 27 November" in alerts and "#eta resolve" in alerts


async def test_an_engineers_resolution_date_is_a_promise_kept_or_revised(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))
    await h.receive(se_reply(h, "#eta resolve +2bd\nHello Jane, a bad index: a fix is coming."))
    [reply] = kind(h, "reply")
    assert "We will have it resolved by Wednesday 25 November, 10:00 EST." in reply.text()
    assert "resolution date set: Wednesday 25 November" in kind(h, "se-confirm")[0].text()
    rows = await h.joined(
        "SELECT promised || ':' || made_by FROM commitments"
        " WHERE kind = 'resolution' AND superseded_by IS NULL ORDER BY id",
        " ",
    )
    assert rows == "1:sam@example.com", "the engineer's date supersedes the target"
    await h.later(timedelta(days=2, minutes=6))  # Wednesday 10:06: not resolved
    [revised] = kind(h, "revised-eta")
    assert "We said you would have a resolution on ticket SUP-1001 by Wednesday" in revised.text()
    assert "Sam Engineer now expects to have it resolved by" in revised.text()


async def test_a_date_alone_for_the_resolution(h: Harness) -> None:
    await h.receive(customer_mail(1))
    await h.receive(se_reply(h, "#eta resolve 2026-11-30"))
    [eta] = kind(h, "eta")
    assert "will have it resolved by Monday 30 November, 17:00 EST" in eta.text()
    await h.receive(se_reply(h, "#eta resolve", n="x"))
    assert "write #eta resolve <when>" in kind(h, "se-error")[0].text()


def _c(n: int, kind: str, told: str, point: str = "", promised: bool = True) -> Commitment:
    return Commitment(n, 1, kind, datetime(2026, 11, 24, tzinfo=UTC), told, point, promised)


def test_what_is_owed_names_each_point_once_per_date() -> None:
    owed = [
        _c(1, "actionable", "Tue"),
        _c(2, "point", "Tue", "Why E42?"),
        _c(3, "point", "Tue", "Is 4.2 affected?"),
        _c(4, "point", "Wed", "Does the import fail too?"),
        _c(5, "update", "Wed"),
        _c(6, "resolution", "Fri", promised=False),
    ]
    assert dates_owed(owed) == [
        {
            "words": "Tue",
            "what": "an answer to \u201cWhy E42?\u201d and \u201cIs 4.2 affected?\u201d",
            "target": "",
        },
        {
            "words": "Wed",
            "what": "an answer to \u201cDoes the import fail too?\u201d and an update",
            "target": "",
        },
        {"words": "Fri", "what": "", "target": "yes"},
    ]
    assert dates_owed([_c(1, "actionable", "Tue"), _c(2, "resolution", "Fri")]) == [
        {"words": "Tue", "what": "a reply", "target": ""},
        {"words": "Fri", "what": "a resolution", "target": ""},
    ]


async def test_an_urgent_ticket_gets_an_update_every_business_hour_we_owe_one(
    h: Harness,
) -> None:
    await h.receive(customer_mail(1, body="Production is down. Can you help?"))
    await h.receive(customer_mail(2, sender="li@globex.example", body="Why E42?"))  # normal
    await h.receive(se_reply(h, "#priority urgent"))
    assert "every 1 business hour(s)" in kind(h, "se-confirm")[0].text()
    await h.later(timedelta(hours=1, minutes=1))  # 11:01
    await h.later(timedelta(hours=1, minutes=1))  # 12:02
    updates = kind(h, "status-update")
    assert [u["To"] for u in updates] == ["jane@acme.example", "jane@acme.example"]
    assert "By Tuesday 24 November, 10:00 EST: an answer to" in updates[0].text()
    # Waiting on the customer: the ball is in their court, no more updates.
    await h.receive(se_reply(h, "#waiting\nCould you send the log?", n="w"))
    await h.later(timedelta(hours=3))
    assert len(kind(h, "status-update")) == 2
    missed = await h.scalar("SELECT count(*) FROM outbox WHERE kind = 'status-update'")
    assert missed == 2, "the normal ticket got none in the same hours"


async def test_with_updates_for_urgent_tickets_only_the_others_are_not_read_at_every_pass(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    """``status_update_business_days = 0``: only urgent tickets get updates. An ordinary
    ticket, once a pass has seen it, is known to owe none and is not read again at every pass
    (its due time stayed unknown, so each pass read every such ticket again); turned on by a
    reload, its update is due two business days after our last mail."""
    from tests.conftest import harness

    config = make_config(sla={"status_update_business_days": 0})
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1, body="Production is down. Can you help?"))
        await h.receive(customer_mail(2, sender="li@globex.example", body="Why E42?"))
        await h.receive(se_reply(h, "#priority urgent"))
        await h.later(timedelta(minutes=1))
        assert await h.store.run(tickets.update_due_unknown) == []
        await h.later(timedelta(hours=1, minutes=1))
        assert [u["To"] for u in kind(h, "status-update")] == ["jane@acme.example"]
        await h.later(timedelta(minutes=1))  # (the urgent one's next, after that update)
        assert await h.store.run(tickets.update_due_unknown) == []

        h.scheduler.s = Services.build(make_config(), h.clock)  # a reload: updates on
        h.scheduler.policy_changed()
        await h.later(timedelta(minutes=1))
        due = await h.scalar(
            "SELECT update_due_at FROM tickets WHERE customer_address = 'li@globex.example'"
        )
        assert str(due).startswith("2026-11-25T15:00"), "Wednesday 10:00 New York"


async def test_an_away_se_and_sc_are_covered(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    from tests.conftest import ACCOUNTS, PEOPLE, harness

    away = {"away": ["2026-11-24..2026-11-27"]}
    people = [p | away if p["name"] in ("Sam Engineer", "Casey Consultant") else p for p in PEOPLE]
    accounts = [
        a | {"backup_sc": "robin@example.com"} if a["name"] == "Acme" else a for a in ACCOUNTS
    ]
    config = make_config(people=people, accounts=accounts)
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1, body="Why does the export fail?"))  # Monday: Sam's
        assert kind(h, "ack")[0]["Cc"] == "casey@example.com", "Casey is in on Monday"
        await h.later(timedelta(days=1))  # Tuesday 10:00: Sam and Casey are away
        handed = [m for m in kind(h, "se-copy") if m["To"] == "dana@example.com"]
        assert len(handed) == 1 and "Sam Engineer is away today" in handed[0].text()
        assert "Why does the export fail?" in handed[0].text(), "the new owner gets the story"
        assert handed[0]["Cc"] == "robin@example.com", "the account's backup SC stands in"
        assert await h.scalar("SELECT se FROM tickets") == "dana@example.com"
        await h.later(timedelta(minutes=6))  # the reply date passed unanswered
        [revised] = kind(h, "revised-eta")
        assert "Dana Default will reply by" in revised.text(), "names who is actually on it"
        assert revised["Cc"] == "robin@example.com"
        await h.later(timedelta(hours=1))
        assert len([m for m in kind(h, "se-copy") if m["To"] == "dana@example.com"]) == 1


async def test_an_accounts_tier_sets_its_targets(
    make_config: Callable[..., Config], clock: FakeClock, sink: SmtpSink
) -> None:
    from tests.conftest import ACCOUNTS, harness

    accounts = [a | {"tier": "gold"} if a["name"] == "Acme" else a for a in ACCOUNTS]
    tiers = [{"name": "gold", "resolution_business_days": 2}, {"name": "bronze"}]
    config = make_config(accounts=accounts, sla={"tiers": tiers})
    async with harness(config, clock, sink) as h:
        await h.receive(customer_mail(1, body="The export fails."))  # Acme: gold
        await h.receive(customer_mail(2, sender="li@globex.example", body="The export fails."))
        gold, default = (m.text() for m in kind(h, "ack"))
        assert "will reply by Tuesday 24 November, 10:00 EST" in gold, "gold's reply: the default"
        assert "target for a resolution is Wednesday 25 November, 10:00 EST" in gold
        assert "target for a resolution is Friday 27 November, 10:00 EST" in default


async def test_leave_set_by_mail_moves_tickets_like_leave_in_the_config(h: Harness) -> None:
    await h.receive(customer_mail(1, body="Why does the export fail?"))  # Acme: Sam's
    await h.receive(se_reply(h, "#away someday"))
    assert "days are today, tomorrow or YYYY-MM-DD" in kind(h, "se-error")[0].text()
    await h.receive(se_reply(h, "#away tomorrow 2026-11-27", n="away"))
    done = kind(h, "se-confirm")[-1].text()
    assert "you are away Tuesday 24 November to Friday 27 November" in done
    assert await h.scalar("SELECT se FROM tickets") == "sam@example.com", "Sam is in today"
    await h.later(timedelta(days=1))  # Tuesday: his open ticket goes to who covers
    handed = [m for m in kind(h, "se-copy") if m["To"] == "dana@example.com"]
    assert len(handed) == 1 and "Sam Engineer is away today" in handed[0].text()
    await h.receive(customer_mail(2, sender="bob@acme.example", body="Imports fail too."))
    assert await h.scalar("SELECT se FROM tickets WHERE id = 2") == "dana@example.com"
    by = await h.scalar("SELECT set_by || ' ' || first_day || '..' || last_day FROM leave")
    assert by == "sam@example.com 2026-11-24..2026-11-27"
