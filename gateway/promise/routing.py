"""Who handles a thread, decided from the directory in the config, each decision with its reason.

The order, as data in :meth:`Directory.route`:
1. the account, from the sender's address, else their domain;
2. the product, from a plus-address (``support+<product>@``), else the account's product, else
   keywords in the subject and body (the product with most keyword hits);
3. the SE: the product's owner, or its backup while the owner is away; else the account's SE,
   or its backup SE; else the least-loaded SE (fewest open tickets), the one assigned longest
   ago on ties (round-robin). In open hours, an SE whose shift (``people[].hours``) is over
   counts as away: who covers takes the mail;
4. outside open hours, the on-duty SE (rota) gets a triage copy; the owner keeps the ticket.
A mail whose points are all requests the SC owns (``[[requests]]``) is the SC's ticket:
:meth:`Directory.sc_owner` says which SC (the account's, else who covers for them on shift).
Follow-ups stick to the ticket's owner (the pipeline does not route them again).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from gateway.core.config import Account, Config, Person, Product, parse_days
from gateway.core.models import Role, Route
from gateway.promise.calendar import BusinessCalendar


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
    at: datetime | None = None  # when the mail came (shifts are checked at it, in open hours)


class Directory:
    """People, products, accounts and the rota from the config, indexed for lookups."""

    def __init__(self, config: Config, calendar: BusinessCalendar | None = None) -> None:
        self.config = config
        self.calendar = calendar or BusinessCalendar.from_config(config.hours)
        self.people: dict[str, Person] = {p.address: p for p in config.people}
        self._shifts = {
            p.address: self.calendar.shift(ZoneInfo(p.timezone or config.hours.timezone), week)
            for p in config.people
            if (week := p.weekly()) is not None
        }
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

    def is_sc(self, address: str) -> bool:
        """Whether ``address`` is one of our SCs (an SC's ticket has the SC's targets)."""
        person = self.people.get(address.lower())
        return person is not None and person.role is Role.SC

    def scs(self) -> list[str]:
        return [p.address for p in self.config.people if p.role is Role.SC]

    def sc_accounts(self, today: date) -> dict[str, list[str]]:
        """Each SC's accounts on ``today``, by the SC's address: those naming them as their
        SC, and those whose SC is away while they cover (see :meth:`sc_cover`)."""
        out: dict[str, list[str]] = {}
        for a in self.config.accounts:
            if a.sc:
                out.setdefault(self.sc_cover(a.sc, a.name, today).lower(), []).append(a.name)
        return out

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

    def hours_of(self, address: str) -> BusinessCalendar:
        """When ``address`` works: their shift (people[].hours), else the team's open hours."""
        return self._shifts.get(address.lower(), self.calendar)

    def on_shift(self, address: str, at: datetime) -> bool:
        """Whether ``address`` is working at ``at``: in (not on leave) and within their hours."""
        day = self.hours_of(address).local_date(at)
        return self.available(address, day) and self.hours_of(address).is_open(at)

    def in_at(self, address: str, req: RouteRequest) -> bool:
        """Whether ``address`` can take this mail: in today, and in open hours on shift."""
        if not self.available(address, req.today):
            return False
        return not (req.in_hours and req.at is not None and not self.on_shift(address, req.at))

    def sc_owner(self, account_name: str, at: datetime) -> tuple[str, str]:
        """(the SC who owns a request of this account's that came at ``at``, why): the
        account's SC when working; else its backup SC, the team's default SC, any SC, whoever
        is working; nobody working: the account's SC (or who covers) keeps it for their next
        shift. ('', why) when the account has no SC and the team none by default."""
        account = next((a for a in self.config.accounts if a.name == account_name), None)
        own = (account.sc if account else "") or self.config.routing.default_sc
        if not own:
            return "", "no SC for the account: the SE answers it"
        others = self.scs()
        order = [own, (account.backup_sc if account else ""), self.config.routing.default_sc]
        for who in dict.fromkeys(a for a in (*order, *others) if a):
            if self.on_shift(who, at):
                why = "the account's SC" if who == own else f"covers for {self.name_of(own)}"
                return who, f"SC {who}: {why}"
        today = self.calendar.local_date(at)
        if self.available(own, today):
            return own, f"SC {own}: nobody on shift, theirs at their next shift"
        cover = self.sc_cover(own, account_name, today)
        return cover, f"SC {cover}: nobody on shift, {self.name_of(own)} away"

    def is_away(self, address: str) -> Callable[[date], bool]:
        """Whether ``address`` is away on a day (a stranger to the config is never in), by the
        leave this job's transaction read (a capacity estimate asks it of many days)."""
        person = self.people.get(address.lower())
        if person is None:
            return lambda day: True
        days = parse_days(tuple(person.away))
        spans = self._mail_leave.get().get(address.lower(), ())
        return lambda day: day in days or any(first <= day <= last for first, last in spans)

    def available(self, address: str, today: date) -> bool:
        return not self.is_away(address)(today)

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

        def off(who: str) -> str:
            return "off shift" if self.available(who, req.today) else "away"

        if product is not None:
            if self.in_at(product.owner, req):
                se = product.owner
                reasons.append(f"owner {product.owner}")
            elif product.backup and self.in_at(product.backup, req):
                se = product.backup
                reasons.append(
                    f"owner {product.owner} {off(product.owner)}: backup {product.backup}"
                )
        if not se and account is not None:
            if account.se and self.in_at(account.se, req):
                se = account.se
                reasons.append(f"account SE {account.se}")
            elif account.se and account.backup_se and self.in_at(account.backup_se, req):
                se = account.backup_se
                reasons.append(f"account SE {account.se} {off(account.se)}: backup {se}")
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
        candidates = [a for a in self.ses() if self.in_at(a, req)] or [
            a for a in self.ses() if self.available(a, req.today)
        ]
        if not candidates:
            return self.config.routing.default_se
        never = datetime.min

        def key(address: str) -> tuple[int, datetime, str]:
            load = req.loads.get(address, Load())
            last = load.last_assigned.replace(tzinfo=None) if load.last_assigned else never
            return (load.open_tickets, last, address)

        return min(candidates, key=key)
