"""The whole config: :class:`Config` (every section, and the checks that span them) and how a
parsed TOML document becomes one, each problem named by its dotted key."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from pydantic import Field, ValidationError
from pydantic import model_validator as _model_validator

from gateway.core.config.base import (
    WEEKDAYS,
    ConfigError,
    Secret,
    Section,
)
from gateway.core.config.policy import (
    CapacitySection,
    HoursSection,
    ReportsSection,
    RetentionSection,
    RetrySection,
    SafetySection,
    SchedulerSection,
    SlaSection,
)
from gateway.core.config.servers import (
    DatabaseSection,
    ImapSection,
    IngressSection,
    LogSection,
    MetricsSection,
    SmtpSection,
    WebSection,
)
from gateway.core.config.team import (
    Account,
    Article,
    Person,
    Product,
    RelaySection,
    RequestKind,
    RotaSection,
    RoutingSection,
    SupportSection,
    default_requests,
)
from gateway.core.models import Role


class Config(Section):
    support: SupportSection = Field(default_factory=SupportSection)
    imap: ImapSection = Field(default_factory=ImapSection)
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    ingress: IngressSection = Field(default_factory=IngressSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    hours: HoursSection = Field(default_factory=HoursSection)
    sla: SlaSection = Field(default_factory=SlaSection)
    capacity: CapacitySection = Field(default_factory=CapacitySection)
    safety: SafetySection = Field(default_factory=SafetySection)
    scheduler: SchedulerSection = Field(default_factory=SchedulerSection)
    retry: RetrySection = Field(default_factory=RetrySection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    web: WebSection = Field(default_factory=WebSection)
    retention: RetentionSection = Field(default_factory=RetentionSection)
    log: LogSection = Field(default_factory=LogSection)
    templates_dir: str = Field("", description="Operator templates overriding the built-in ones.")
    routing: RoutingSection = Field(default_factory=RoutingSection)
    rota: RotaSection = Field(default_factory=RotaSection)
    relay: RelaySection = Field(default_factory=RelaySection)
    people: list[Person] = Field(default_factory=list, description="SEs, SCs and leads.")
    products: list[Product] = Field(default_factory=list, description="Products and owners.")
    accounts: list[Account] = Field(default_factory=list, description="Customer accounts.")
    articles: list[Article] = Field(
        default_factory=list, description="Self-help articles suggested in acknowledgements."
    )
    requests: list[RequestKind] = Field(
        default_factory=default_requests,
        description="Requests the account's SC owns (quote, pricing, licence, billing, contract"
        " out of the box), recognised by their words in the customer's points; [] = none.",
    )
    reports: ReportsSection = Field(default_factory=ReportsSection)

    def secret_problems(self) -> list[tuple[str, str]]:
        """(key, why) for each secret this config uses that cannot be read now."""
        used: list[tuple[str, Secret]] = []
        if self.imap.enabled and self.imap.auth == "password":
            used.append(("imap.password", self.imap.password))
        if self.imap.enabled and self.imap.auth == "xoauth2":
            used.append(("imap.oauth2_token", self.imap.oauth2_token))
        if self.smtp.user and self.smtp.auth == "password":
            used.append(("smtp.password", self.smtp.password))
        if self.smtp.user and self.smtp.auth == "xoauth2":
            used.append(("smtp.oauth2_token", self.smtp.oauth2_token))
        return [(key, why) for key, secret in used if (why := secret.problem())]

    @property
    def ingress_domains(self) -> frozenset[str]:
        """The domains the ingress takes mail for."""
        if self.ingress.domains:
            return frozenset(d.strip().rstrip(".").lower() for d in self.ingress.domains)
        addresses = [self.support.address, *self.support.own_addresses]
        return frozenset(a.rpartition("@")[2].lower() for a in addresses)

    @_model_validator(mode="after")
    def _references(self) -> Config:
        problems = list(self.reference_problems())
        if problems:
            raise ValueError("; ".join(f"{k}: {m}" for k, m in problems))
        return self

    def reference_problems(self) -> Iterator[tuple[str, str]]:
        roles = {p.address: p.role for p in self.people}
        seen: set[str] = set()
        for i, p in enumerate(self.people):
            if p.address in seen:
                yield f"people[{i}].address", f"{p.address} is listed twice"
            seen.add(p.address)

        def ref(key: str, addr: str, role: Role, required: bool) -> Iterator[tuple[str, str]]:
            if not addr:
                if required:
                    yield key, f"required: the address of a configured {role}"
                return
            got = roles.get(addr.lower())
            if got is None:
                yield key, f"{addr} is not in [[people]]"
            elif got is not role and not (role is Role.SE and got is Role.LEAD):
                yield key, f"{addr} is a {got}, not an {role}"

        yield from ref("routing.default_se", self.routing.default_se, Role.SE, True)
        yield from ref("routing.default_sc", self.routing.default_sc, Role.SC, False)
        esc = self.routing.escalation
        if esc and esc.lower() not in roles:
            yield "routing.escalation", f"{esc} is not in [[people]]"
        kept = self.retention.resolved_mail_days
        if kept and kept <= self.sla.reopen_days:
            reopen = f"sla.reopen_days ({self.sla.reopen_days:g})"
            why = f"{kept} days is within {reopen}: a reply reopening a ticket would not find it"
            yield "retention.resolved_mail_days", why
        products = {p.name for p in self.products}
        for i, pr in enumerate(self.products):
            yield from ref(f"products[{i}].owner", pr.owner, Role.SE, True)
            yield from ref(f"products[{i}].backup", pr.backup, Role.SE, False)
        for i, a in enumerate(self.accounts):
            yield from ref(f"accounts[{i}].se", a.se, Role.SE, False)
            yield from ref(f"accounts[{i}].sc", a.sc, Role.SC, False)
            yield from ref(f"accounts[{i}].backup_se", a.backup_se, Role.SE, False)
            yield from ref(f"accounts[{i}].backup_sc", a.backup_sc, Role.SC, False)
            if a.product and a.product not in products:
                yield f"accounts[{i}].product", f"{a.product} is not in [[products]]"
            if not a.domains and not a.addresses:
                yield f"accounts[{i}]", "give domains or addresses"
        for day in WEEKDAYS:
            yield from ref(f"rota.{day}", getattr(self.rota, day), Role.SE, False)
        for day, addr in self.rota.overrides.items():
            yield from ref(f"rota.overrides.{day}", addr, Role.SE, False)
        if self.imap.enabled:
            if not self.imap.user:
                yield "imap.user", "required when imap.enabled"
            secret = self.imap.oauth2_token if self.imap.auth == "xoauth2" else self.imap.password
            name = "imap.oauth2_token" if self.imap.auth == "xoauth2" else "imap.password"
            if not secret.configured:
                yield name, "give file, env or command"
        if self.smtp.user and self.smtp.auth == "xoauth2":
            if not self.smtp.oauth2_token.configured:
                yield "smtp.oauth2_token", "give file, env or command when smtp.auth = xoauth2"
        elif self.smtp.user and not self.smtp.password.configured:
            yield "smtp.password", "give file or env when smtp.user is set"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"function-after[", "function-before["} or "[" in str(part):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def parse_config(data: dict[str, Any]) -> Config:
    """Validate a config mapping; raise :class:`ConfigError` listing every problem by key (the
    cross-references too: a bad value elsewhere in the file does not hide them)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        # A field's error stops the checks across sections (routing.default_se in [[people]],
        # and the like): run them too, with each bad value left out.
        trimmed = copy.deepcopy(data)
        if any([_drop(trimmed, tuple(err["loc"])) for err in exc.errors()]):
            try:
                Config.model_validate(trimmed)
            except ValidationError as again:
                problems += [
                    p for p in _problems(again) if p not in problems and p[1] != "Field required"
                ]
        raise ConfigError(problems) from None


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        key = _loc(tuple(err["loc"]))
        # Cross-reference problems carry their own keys ("key: message; key: message").
        if key == "(top level)" and ": " in msg:
            for part in msg.split("; "):
                k, _, m = part.partition(": ")
                problems.append((k, m))
        else:
            problems.append((key, msg))
    return problems


def _drop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` (a dict key) from ``data``; whether one was removed."""
    for step in loc[:-1]:
        if (isinstance(data, dict) and step in data) or (
            isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data)
        ):
            data = data[step]
        else:
            return False
    if loc and isinstance(data, dict) and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False
