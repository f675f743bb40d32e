"""Who handles a thread: the customer's account decides the SE and the SC; else the default SE."""

from __future__ import annotations

from gateway.config import Config
from gateway.models import Route


class Directory:
    """People and accounts from the config, indexed for lookups."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.people = {p.address: p for p in config.people}
        self._by_address = {a: acc for acc in config.accounts for a in acc.addresses}
        self._by_domain = {d: acc for acc in config.accounts for d in acc.domains}

    def name_of(self, address: str) -> str:
        person = self.people.get(address)
        return person.name if person else address

    def is_staff(self, address: str) -> bool:
        return address in self.people

    def route(self, sender: str) -> Route:
        """Route a new thread from ``sender`` (an address) to an SE and the account's SC."""
        default_se = self.config.routing.default_se
        default_sc = self.config.routing.default_sc
        domain = sender.rsplit("@", 1)[-1]
        account, how = self._by_address.get(sender), f"address {sender}"
        if account is None:
            account, how = self._by_domain.get(domain), f"domain {domain}"
        if account is None:
            return Route("", default_se, default_sc, f"no account for {sender}: default SE")
        return Route(
            account.name,
            account.se or default_se,
            account.sc or default_sc,
            f"account {account.name} by {how}" + ("" if account.se else ": default SE"),
        )
