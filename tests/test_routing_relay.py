"""Routing decisions and the parsing of SEs' replies: pure, no servers."""

from __future__ import annotations

import contextvars
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.commands import TABLE
from gateway.core.config import HoursSection, parse_config
from gateway.mail.staff_reply import WhenError, find_relay, parse_reply, parse_when, relay_address
from gateway.promise.calendar import BusinessCalendar
from gateway.promise.routing import Directory, Load, RouteRequest

NY = ZoneInfo("America/New_York")
MONDAY = date(2026, 11, 23)
CAL = BusinessCalendar.from_config(HoursSection())


def directory(**over: Any) -> Directory:
    data: dict[str, Any] = {
        "imap": {"enabled": False},
        "people": [
            {"name": "Sam", "address": "sam@example.com", "role": "se", "away": ["2026-12-24"]},
            {"name": "Dana", "address": "dana@example.com", "role": "se"},
            {"name": "Kim", "address": "kim@example.com", "role": "se"},
            {"name": "Casey", "address": "casey@example.com", "role": "sc"},
        ],
        "routing": {"default_se": "dana@example.com"},
        "products": [
            {
                "name": "exports",
                "keywords": ["export", "csv"],
                "owner": "sam@example.com",
                "backup": "kim@example.com",
            },
            {"name": "billing", "keywords": ["invoice", "refund"], "owner": "dana@example.com"},
        ],
        "accounts": [
            {
                "name": "Acme",
                "domains": ["acme.example"],
                "sc": "casey@example.com",
                "product": "exports",
            },
            {"name": "Solo", "addresses": ["vip@gmail.example"], "se": "kim@example.com"},
        ],
        "rota": {
            "sat": "kim@example.com",
            "mon": "dana@example.com",
            "overrides": {"2026-11-28": "dana@example.com"},
        },
    }
    data.update(over)
    return Directory(parse_config(data))


def req(sender: str, subject: str = "Help", text: str = "", **kw: Any) -> RouteRequest:
    return RouteRequest(
        sender=sender,
        recipients=kw.pop("recipients", ("support@example.com",)),
        subject=subject,
        text=text,
        today=kw.pop("today", MONDAY),
        in_hours=kw.pop("in_hours", True),
        loads=kw.pop("loads", {}),
    )


def test_account_product_owner_and_sc() -> None:
    r = directory().route(req("jane@acme.example"))
    assert (r.account, r.product, r.se, r.sc) == (
        "Acme",
        "exports",
        "sam@example.com",
        "casey@example.com",
    )
    assert r.reason == (
        "account Acme by domain acme.example; product exports of the account; owner sam@example.com"
    )


def test_plus_address_beats_the_account_product() -> None:
    r = directory().route(req("jane@acme.example", recipients=("support+billing@example.com",)))
    assert (r.product, r.se) == ("billing", "dana@example.com")


def test_keywords_pick_the_product_with_most_hits() -> None:
    r = directory().route(req("x@else.example", "Refund for invoice 7", "the csv is fine"))
    assert (r.product, r.se) == ("billing", "dana@example.com")
    assert "2 keyword(s)" in r.reason


def test_the_backup_takes_over_while_the_owner_is_away() -> None:
    r = directory().route(req("jane@acme.example", today=date(2026, 12, 24)))
    assert r.se == "kim@example.com"
    assert "owner sam@example.com away: backup kim@example.com" in r.reason


def test_single_address_account_and_its_se() -> None:
    r = directory().route(req("vip@gmail.example", "hello"))
    assert (r.account, r.se) == ("Solo", "kim@example.com")


def test_least_loaded_with_round_robin_on_ties() -> None:
    d = directory()
    t0 = datetime(2026, 11, 20, tzinfo=NY)
    loads = {
        "sam@example.com": Load(3, t0),
        "dana@example.com": Load(1, t0 + timedelta(hours=2)),
        "kim@example.com": Load(1, t0 + timedelta(hours=1)),
    }
    r = d.route(req("nobody@unknown.example", "hello", loads=loads))
    assert r.se == "kim@example.com"  # fewest open; of the two, assigned longest ago
    assert "least loaded SE kim@example.com" in r.reason


def test_after_hours_the_on_duty_se_gets_the_triage_copy() -> None:
    saturday = date(2026, 11, 28)  # override: Dana on duty, not Kim
    r = directory().route(req("jane@acme.example", today=saturday, in_hours=False))
    assert (r.se, r.triage_se) == ("sam@example.com", "dana@example.com")
    r = directory().route(req("jane@acme.example", today=MONDAY, in_hours=False))
    assert r.triage_se == "dana@example.com"
    assert directory().route(req("jane@acme.example", today=MONDAY)).triage_se == ""


def test_relay_addresses_round_trip() -> None:
    address = relay_address("support@example.com", "SUP-1042", "k7f3qz2abc")
    assert address == "support+sup-1042.k7f3qz2abc@example.com"
    assert find_relay(("a@b.example", address.upper()), "support@example.com") == (
        "SUP-1042",
        "k7f3qz2abc",
    )
    assert find_relay(("support+sup-1042.k7@other.example",), "support@example.com") is None
    assert find_relay(("support@example.com",), "support@example.com") is None


def test_commands_and_the_words_above_the_quote() -> None:
    reply = parse_reply(
        "#eta tomorrow 15:00\n#priority high\n\nHello Jane,\n\nPlease try again.\n\n"
        "On Mon, 23 Nov 2026 at 10:00, Support <support@example.com> wrote:\n"
        "> ## Reply above this line: ... ##\n> New ticket SUP-1001\n",
        "",
        TABLE,
    )
    assert [(c.name, c.arg) for c in reply.commands] == [
        ("eta", "tomorrow 15:00"),
        ("priority", "high"),
    ]
    assert reply.errors == ()
    assert reply.text == "Hello Jane,\n\nPlease try again."


def test_invalid_commands_are_named() -> None:
    reply = parse_reply("#eta\n#urgent\n#priority extreme\nText", "", TABLE)
    assert len(reply.errors) == 3
    assert reply.errors[0].startswith("#eta: #eta needs a value")
    assert "#urgent: unknown command" in reply.errors[1]
    assert "priority is one of low, normal, high, urgent" in reply.errors[2]


def test_outlook_style_quote_and_only_commands() -> None:
    reply = parse_reply("#waiting\n\n-----Original Message-----\nFrom: Support\n", "", TABLE)
    assert [c.name for c in reply.commands] == ["waiting"] and reply.text == ""


def test_a_command_below_the_text_runs_and_is_not_sent() -> None:
    reply = parse_reply(
        "Hello Jane,\n\nFixed in 4.2.1.\n#resolved\nOur #1 priority was this.\n\n"
        "On Mon, Jane wrote:\n> Why does it fail?\n#eta +1bd\n> Anything else?\n",
        "",
        TABLE,
    )
    # Below the text, and as an "inline answer" between quoted lines: both run, both go.
    assert [(c.name, c.below) for c in reply.commands] == [("resolved", True), ("eta", True)]
    assert reply.text == "Hello Jane,\n\nFixed in 4.2.1.\nOur #1 priority was this."
    assert not any(c.name in line.text for line in reply.lines for c in reply.commands)
    assert [c.line for c in reply.moved] == ["#resolved", "#eta +1bd"]


def test_a_bad_command_below_the_text_is_an_error_not_text() -> None:
    reply = parse_reply("Hello Jane,\nDone.\n#priority soonish\n", "", TABLE)
    assert reply.commands == () and reply.text == "Hello Jane,\nDone."
    assert reply.errors == ("#priority soonish: priority is one of low, normal, high, urgent",)


def test_command_help_in_an_unquoted_copy_below_is_not_run() -> None:
    # Outlook puts the copy below a header block, unquoted: its command help is not the SE's.
    reply = parse_reply(
        "Hello Jane, fixed.\n\nFrom: Support <support@example.com>\nSent: Monday\n"
        "#resolved  close the ticket\n#eta +2bd  set a date\n",
        "",
        TABLE,
    )
    assert reply.commands == () and reply.errors == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+2bd", "Wed 2026-11-25 10:00"),
        ("tomorrow 15:00", "Tue 2026-11-24 15:00"),
        ("today 16:30", "Mon 2026-11-23 16:30"),
        ("2026-11-25 10:00", "Wed 2026-11-25 10:00"),
        ("2026-11-27", "Fri 2026-11-27 17:00"),
    ],
)
def test_parse_when(text: str, expected: str) -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=NY)
    assert parse_when(text, now, CAL).astimezone(NY).strftime("%a %Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize("text", ["yesterday", "today 09:00", "2026-11-26", "2026-13-01 10:00"])
def test_parse_when_refuses(text: str) -> None:
    with pytest.raises(WhenError):
        parse_when(text, datetime(2026, 11, 23, 10, 0, tzinfo=NY), CAL)


def test_leave_a_job_read_is_that_jobs_alone() -> None:
    """Leave set by mail is read in each transaction: one job's (a #away not yet committed, or
    a pass reading a moment later) never changes what another job, in another thread, sees."""
    d = directory()
    monday = date(2026, 11, 23)
    job = contextvars.copy_context()  # what asyncio.to_thread gives each store job
    job.run(d.set_mail_leave, {"dana@example.com": ((monday, monday),)})
    assert job.run(d.available, "dana@example.com", monday) is False
    assert d.available("dana@example.com", monday) is True  # every other job: still in
    other = contextvars.copy_context()
    assert other.run(d.available, "dana@example.com", monday) is True
