"""Config files: reading one, its ``[[teams]]`` (each team the shared keys with its own over
them), and the checks across teams."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.core.config.base import (
    ConfigError,
)
from gateway.core.config.schema import Config, parse_config


def _read(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError([("(file)", f"cannot read {path}: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("(file)", f"not valid TOML: {exc}")]) from None


def load_config(path: str | Path, team: str | None = None) -> Config:
    """Read and validate a TOML config file; of a file with ``[[teams]]``, the named team's."""
    teams = parse_teams(_read(path))
    if team is None:
        if len(teams) > 1 or teams[0][0]:
            names = ", ".join(name for name, _ in teams)
            raise ConfigError([("teams", f"this file serves teams ({names}): name one (--team)")])
        return teams[0][1]
    for name, config in teams:
        if name == team:
            return config
    known = ", ".join(name for name, _ in teams if name) or "none"
    raise ConfigError([("--team", f"no team {team!r} in this file (its teams: {known})")])


def load_teams(path: str | Path) -> list[tuple[str, Config]]:
    """Every team a config file serves, by name (one unnamed team for a file without
    ``[[teams]]``)."""
    return parse_teams(_read(path))


_TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: tables merged key by key, anything else (lists of people,
    accounts, products) replaced whole."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_teams(data: dict[str, Any]) -> list[tuple[str, Config]]:
    """Several support mailboxes (teams) in one file: each ``[[teams]]`` table is laid over the
    rest of the file (what the teams share: the relay, retries, retention, logging), so a team
    has its own address, mailbox, people, accounts, hours, policy and database. One process
    serves them all; no two may share an address, a mailbox, a database or a port."""
    if "teams" not in data:
        return [("", parse_config(data))]
    shared = {k: v for k, v in data.items() if k != "teams"}
    tables = data["teams"]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ConfigError([("teams", "a list of tables: [[teams]] with a name each")])
    problems: list[tuple[str, str]] = []
    teams: list[tuple[str, Config]] = []
    for i, table in enumerate(tables):
        name = str(table.get("name", ""))
        where = f"teams[{i}]" if not _TEAM_NAME.fullmatch(name) else f"teams.{name}"
        if not _TEAM_NAME.fullmatch(name):
            problems.append((f"{where}.name", "a short name: lower-case letters, digits, '-'"))
        try:
            config = parse_config(merged(shared, {k: v for k, v in table.items() if k != "name"}))
        except ConfigError as exc:
            problems += [(f"{where}.{key}", msg) for key, msg in exc.problems]
            continue
        teams.append((name, config))
    problems += _shared_by_two(teams)
    if problems:
        raise ConfigError(problems)
    return [(name, _with_siblings(config, teams)) for name, config in teams]


def _with_siblings(config: Config, teams: list[tuple[str, Config]]) -> Config:
    """A team's config with its sibling teams' addresses among its own: a mail one team's
    mailbox copies to another's is never a customer adding a participant, nor answered."""
    own = list(config.support.own_addresses)
    for _, other in teams:
        for address in (other.support.address, *other.support.own_addresses):
            if address.lower() != config.support.address.lower() and address not in own:
                own.append(address)
    support = config.support.model_copy(update={"own_addresses": own})
    return config.model_copy(update={"support": support})


def _shared_by_two(teams: list[tuple[str, Config]]) -> list[tuple[str, str]]:
    """What two teams must not share: their name, address, mailbox, database and ports."""

    def things(c: Config) -> Iterator[tuple[str, tuple[str, object]]]:
        """(its key, what it is) of each thing a team must have to itself."""
        yield "support.address", ("address", c.support.address.lower())
        database = c.database.url or os.path.realpath(c.database.path)  # ./x is x
        yield "database", ("database", database)
        yield "support.ticket_prefix", ("ticket prefix", c.support.ticket_prefix.upper())
        if c.imap.enabled:
            yield "imap", ("mailbox", (c.imap.host, c.imap.port, c.imap.user, c.imap.inbox))
        for key, on, port in (
            ("metrics.port", c.metrics.enabled, c.metrics.port),
            ("web.port", c.web.enabled, c.web.port),
            ("ingress.port", c.ingress.enabled, c.ingress.port),
        ):
            if on and port:
                yield key, ("port", port)

    problems: list[tuple[str, str]] = []
    names: set[str] = set()
    owner: dict[tuple[str, object], str] = {}
    for name, config in teams:
        if name in names:
            problems.append((f"teams.{name}.name", "two teams have this name"))
        names.add(name)
        for key, thing in things(config):
            first = owner.setdefault(thing, name)
            if first != name:
                problems.append((f"teams.{name}.{key}", f"the same as team {first}'s"))
    return problems
