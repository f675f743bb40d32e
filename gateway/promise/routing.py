"""Who handles a thread, decided from the directory in the config, each decision with its reason.

The order, as data in :meth:`Directory.route`:
1. the account, from the sender's address, else their domain;
2. the product, from a plus-address (``support+<product>@``), else the account's product, else
   keywords in the subject and body (the product with most keyword hits);
3. the SE: the product's owner, or its backup while the owner is away; else the account's SE;
   else the least-loaded SE (fewest open tickets), the one assigned longest ago on ties
   (round-robin);
4. outside open hours, the on-duty SE (rota) gets a triage copy; the owner keeps the ticket.
Follow-ups stick to the ticket's SE (the pipeline does not route them again).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from gateway.core.config import Account, Config, Person, Product
from gateway.core.models import Role, Route


@dataclass(frozen=True)
class Load:
    """An SE's open tickets and when they were last given one (for least-loaded routing)."""

    open_tickets: int = 0
    last_assigned: datetime | None = None


@dataclass(frozen=True)
class RouteRequest:
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    today: date  # the support team's local date
    in_hours: bool
    loads: Mapping[str, Load] = field(default_factory=dict)


class Directory:
    """People, products, accounts and the rota from the config, indexed for lookups."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.people: dict[str, Person] = {p.address: p for p in config.people}
        self.products: dict[str, Product] = {p.name: p for p in config.products}
        self._by_address = {a: acc for acc in config.accounts for a in acc.addresses}
        self._by_domain = {d: acc for acc in config.accounts for d in acc.domains}
        local, _, domain = config.support.address.partition("@")
        # Leave set by mail is read in each transaction that routes or covers; it is kept in a
        # context variable, so each job (each message's journey, each scheduler pass) sees the
        # leave its own transaction read, never another thread's, nor one not yet committed.
        self._mail_leave: ContextVar[Mapping[str, tuple[tuple[date, date], ...]]] = ContextVar(
            f"mail_leave_{id(self)}", default=MappingProxyType({})
        )
        self._plus = re.compile(rf"^{re.escape(local)}\+([a-z0-9_-]+)@{re.escape(domain)}$")

    # The config's addresses are lower-case; mail may spell a local part otherwise (one mailbox
    # at every provider we know of), so lookups of people and accounts ignore case.
    def name_of(self, address: str) -> str:
        person = self.people.get(address.lower())
        return person.name if person else address

    def is_staff(self, address: str) -> bool:
        return address.lower() in self.people

    def is_se(self, address: str) -> bool:
        person = self.people.get(address.lower())
        return person is not None and person.role in (Role.SE, Role.LEAD)

    def ses(self) -> list[str]:
        return [p.address for p in self.config.people if p.role is Role.SE]

    def find_person(self, text: str) -> Person | None:
        """A person by address or (case-insensitive) name."""
        text = text.strip().strip("<>").lower()
        for p in self.config.people:
            if text in (p.address, p.name.lower()):
                return p
        return None

    def replies_per_day(self, se: str) -> float:
        """Replies a business day to plan ``se``'s dates with: their own figure, else the
        team's, with the capacity's headroom kept free."""
        person = self.people.get(se.lower())
        own = person.replies_per_day if person is not None else None
        c = self.config.capacity
        return (own or c.replies_per_day) * c.headroom

    def set_mail_leave(self, leave: Mapping[str, tuple[tuple[date, date], ...]]) -> None:
        """Leave set by mail (#away), as this job's transaction reads it (at the start of each
        message's routing and each scheduler pass): for this job (its context) only."""
        self._mail_leave.set(MappingProxyType(dict(leave)))

    def is_away(self, address: str) -> Callable[[date], bool]:
        """Whether ``address`` is away on a day (a stranger to the config is never in)."""
        return lambda day: not self.available(address, day)

    def available(self, address: str, today: date) -> bool:
        person = self.people.get(address.lower())
        if person is None or person.away_on(today):
            return False
        spans = self._mail_leave.get().get(address.lower(), ())
        return not any(first <= today <= last for first, last in spans)

    # -- the decision --------------------------------------------------------------------

    def account_for(self, sender: str) -> tuple[Account | None, str]:
        sender = sender.lower()
        account = self._by_address.get(sender)
        if account is not None:
            return account, f"account {account.name} by address {sender}"
        domain = sender.rsplit("@", 1)[-1]
        account = self._by_domain.get(domain)
        if account is not None:
            return account, f"account {account.name} by domain {domain}"
        return None, f"no account for {sender}"

    def product_for(self, req: RouteRequest, account: Account | None) -> tuple[Product | None, str]:
        for rcpt in req.recipients:
            m = self._plus.match(rcpt.lower())
            if m and m.group(1) in self.products:
                return self.products[m.group(1)], f"product {m.group(1)} by address {rcpt}"
        if account is not None and account.product:
            return self.products[account.product], f"product {account.product} of the account"
        words = set(re.findall(r"[\w-]+", f"{req.subject} {req.text}".lower()))
        best, hits = None, 0
        for product in self.config.products:
            n = sum(1 for k in product.keywords if k.lower() in words)
            if n > hits:
                best, hits = product, n
        if best is not None:
            return best, f"product {best.name} by {hits} keyword(s)"
        return None, "no product"

    def preferred(self, req: RouteRequest) -> tuple[Account | None, Product | None, str, list[str]]:
        """Account, product, and the SE they name who is not away ('' when none): steps 1-3
        without the load rule."""
        account, account_why = self.account_for(req.sender)
        product, product_why = self.product_for(req, account)
        reasons = [account_why, product_why]
        se = ""
        if product is not None:
            if self.available(product.owner, req.today):
                se = product.owner
                reasons.append(f"owner {product.owner}")
            elif product.backup and self.available(product.backup, req.today):
                se = product.backup
                reasons.append(f"owner {product.owner} away: backup {product.backup}")
        if not se and account is not None and account.se and self.available(account.se, req.today):
            se = account.se
            reasons.append(f"account SE {account.se}")
        return account, product, se, reasons

    def route(self, req: RouteRequest) -> Route:
        account, product, se, reasons = self.preferred(req)
        if not se:
            se = self.least_loaded(req)
            reasons.append(f"least loaded SE {se}")
        sc = (account.sc if account else "") or self.config.routing.default_sc
        triage = ""
        if not req.in_hours:
            duty = self.config.rota.on_duty(req.today)
            if duty and duty != se and self.available(duty, req.today):
                triage = duty
                reasons.append(f"after hours: triage copy to on-duty {duty}")
        return Route(
            account=account.name if account else "",
            se=se,
            sc=sc,
            reason="; ".join(reasons),
            product=product.name if product else "",
            triage_se=triage,
        )

    def sc_cover(self, sc: str, account_name: str, today: date) -> str:
        """Who is in CC for ``sc`` today: themselves, or while they are away the account's
        backup SC, else the team's default SC; ``sc`` again when nobody can stand in."""
        if not sc or not self.is_staff(sc) or self.available(sc, today):
            return sc
        account = next((a for a in self.config.accounts if a.name == account_name), None)
        for cover in ((account.backup_sc if account else ""), self.config.routing.default_sc):
            if cover and cover.lower() != sc.lower() and self.available(cover, today):
                return cover
        return sc

    def se_cover(
        self, product_name: str, account_name: str, today: date, loads: Mapping[str, Load]
    ) -> tuple[str, str]:
        """(who takes an away SE's ticket, why): the product's owner or backup, else the
        account's SE, whoever is in; else the least-loaded SE who is in."""
        product = self.products.get(product_name)
        account = next((a for a in self.config.accounts if a.name == account_name), None)
        for who, why in (
            (product.owner if product else "", f"owner of {product_name}"),
            (product.backup if product else "", f"backup for {product_name}"),
            (account.se if account else "", f"SE of {account_name}"),
        ):
            if who and self.available(who, today):
                return who, why
        req = RouteRequest(
            sender="", recipients=(), subject="", text="", today=today, in_hours=True, loads=loads
        )
        return self.least_loaded(req), "least loaded SE who is in"

    def least_loaded(self, req: RouteRequest) -> str:
        candidates = [a for a in self.ses() if self.available(a, req.today)]
        if not candidates:
            return self.config.routing.default_se
        never = datetime.min

        def key(address: str) -> tuple[int, datetime, str]:
            load = req.loads.get(address, Load())
            last = load.last_assigned.replace(tzinfo=None) if load.last_assigned else never
            return (load.open_tickets, last, address)

        return min(candidates, key=key)
