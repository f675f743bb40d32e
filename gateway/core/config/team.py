"""The config's people: the support mailbox, SEs, SCs and leads, accounts, products,
knowledge-base articles, the on-duty rota, the relay and routing."""

from __future__ import annotations

import colorsys
import re
from datetime import date, time
from typing import Literal

from pydantic import Field, field_validator

from gateway.core.config.base import (
    WEEKDAYS,
    Section,
    check_address,
    check_language,
)
from gateway.core.config.policy import (
    check_timezone,
    check_windows,
    parse_days,
    parse_window,
)
from gateway.core.models import Role
from gateway.text.details import Detail


class SupportSection(Section):
    address: str = Field(
        "support@example.com", description="The support mailbox customers write to."
    )
    display_name: str = Field("Support", description="Display name on every mail we send.")
    message_id_domain: str = Field(
        "", description="Domain of our Message-IDs; empty means the support address's domain."
    )
    ticket_prefix: str = Field("SUP", description="Ticket keys look like [SUP-1001].")
    first_ticket_number: int = Field(1001, ge=1, description="Number of the first ticket.")
    our_color: str = Field(
        "#1a5fb4", description="Colour of our words in HTML mail (#rrggbb; any but red)."
    )
    own_addresses: list[str] = Field(
        default_factory=list,
        description="Other addresses that are ours (never answered automatically).",
    )
    ask_for: list[Detail] = Field(
        default_factory=lambda: list(Detail),
        description="What the acknowledgement of a fault report asks for when the mail lacks it"
        " (version, error, since); a product's ask_for overrides; [] asks nothing.",
    )
    language: str = Field(
        "en",
        description="Language of customer mail when neither the account's language nor the"
        " customer's first mail decides (en, de, es, or a templates/<lang>/ you add).",
    )
    detect_language: bool = Field(
        True,
        description="Answer a new customer in the language their first mail is written in,"
        " when we have templates for it (else in support.language).",
    )

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        return check_language(v)

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str) -> str:
        return check_address(v)

    @field_validator("ticket_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9]{1,9}", v):
            raise ValueError("2-10 capital letters or digits, starting with a letter")
        return v

    @field_validator("our_color")
    @classmethod
    def _color(cls, v: str) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", v):
            raise ValueError("a colour as #rrggbb")
        r, g, b = (int(v[i : i + 2], 16) / 255 for i in (1, 3, 5))
        hue, _, sat = colorsys.rgb_to_hls(r, g, b)
        if sat > 0.25 and (hue < 20 / 360 or hue > 340 / 360) and r > 0.35:
            raise ValueError(f"{v} is a shade of red: customers read red as an error")
        return v

    @field_validator("own_addresses")
    @classmethod
    def _own(cls, v: list[str]) -> list[str]:
        return [check_address(a) for a in v]

    @property
    def domain(self) -> str:
        return self.message_id_domain or self.address.rsplit("@", 1)[1]


class Person(Section):
    name: str = Field(description="Full name, as shown to customers.")
    address: str = Field(description="Email address.")
    role: Role = Field(description="se (support engineer), sc (sales consultant) or lead.")
    timezone: str = Field(
        "", description="The person's time zone, in which their hours are given; '' = the team's."
    )
    hours: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Their working hours (shift) per weekday in their time zone, e.g. {mon ="
        ' ["09:00-17:00"], tue = ["09:00-13:00"]}; a weekday not named is off; {} = the team\'s'
        " open hours. New mail and dates outside them go to who covers.",
    )

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return check_timezone(v) if v else v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, windows in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not a weekday ({', '.join(WEEKDAYS)})")
            check_windows(windows)
        if v and not any(v.values()):
            raise ValueError("no working hours on any weekday")
        return v

    def weekly(self) -> list[list[tuple[time, time]]] | None:
        """Their shift's windows, Monday first (None: the team's open hours)."""
        if not self.hours:
            return None
        return [sorted(parse_window(w) for w in self.hours.get(d, [])) for d in WEEKDAYS]

    away: list[str] = Field(
        default_factory=list,
        description='Days away: dates and ranges, e.g. ["2026-12-24", "2026-12-28..2027-01-01"].',
    )

    @field_validator("away")
    @classmethod
    def _away(cls, v: list[str]) -> list[str]:
        parse_days(tuple(v))
        return v

    replies_per_day: float | None = Field(
        None, gt=0, description="This SE's replies a business day (unset: capacity's default)."
    )

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str) -> str:
        return check_address(v)


class Account(Section):
    name: str = Field(description="Customer account name.")
    domains: list[str] = Field(default_factory=list, description="The customer's mail domains.")
    addresses: list[str] = Field(
        default_factory=list, description="Single customer addresses of this account."
    )
    sc: str = Field("", description="Address of the account's sales consultant.")
    backup_sc: str = Field(
        "", description="The SC in CC instead of the account's SC while they are away."
    )
    se: str = Field("", description="Address of the account's support engineer.")
    backup_se: str = Field(
        "", description="The SE who covers for the account's SE outside their hours or on leave."
    )
    product: str = Field("", description="The account's product (a [[products]] name), if one.")
    tier: str = Field(
        "", description="Support tier: its targets are in sla.tiers (else informational)."
    )
    language: str = Field(
        "", description="Language of the account's customer mail (e.g. de); '' detects it."
    )
    report: bool = Field(
        True, description="The account gets the customer report (reports.customer_every_weeks)."
    )
    report_contacts: list[str] = Field(
        default_factory=list,
        description="Who gets the account's customer report, of all its tickets; [] = each person"
        " on its open tickets, of the tickets they are on.",
    )

    @field_validator("report_contacts")
    @classmethod
    def _contacts(cls, v: list[str]) -> list[str]:
        return [check_address(a) for a in v]

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        return check_language(v) if v else v

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in v]

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        return [check_address(a) for a in v]


class Product(Section):
    name: str = Field(description="Product name; also the plus-address: support+NAME@...")
    keywords: list[str] = Field(
        default_factory=list, description="Words in subject or body that point to the product."
    )
    owner: str = Field(description="The owning SE's address.")
    backup: str = Field("", description="The SE who takes over while the owner is away.")
    ask_for: list[Detail] | None = Field(
        None,
        description="What to ask a fault report about this product for when it lacks it"
        " (version, error, since); unset: support.ask_for.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", v):
            raise ValueError("lower-case letters, digits, - and _ (it is used in addresses)")
        return v


class Article(Section):
    title: str = Field(description="Knowledge-base article title.")
    url: str = Field(description="Its address.")
    keywords: list[str] = Field(description="Words in the customer's mail that make it relevant.")


class RotaSection(Section):
    """Who is on duty outside open hours: a weekly pattern and dated overrides."""

    mon: str = Field("", description="On-duty SE on Mondays.")
    tue: str = Field("", description="On-duty SE on Tuesdays.")
    wed: str = Field("", description="On-duty SE on Wednesdays.")
    thu: str = Field("", description="On-duty SE on Thursdays.")
    fri: str = Field("", description="On-duty SE on Fridays.")
    sat: str = Field("", description="On-duty SE on Saturdays.")
    sun: str = Field("", description="On-duty SE on Sundays.")
    overrides: dict[str, str] = Field(
        default_factory=dict, description='Dated exceptions: {"2026-11-26" = "sam@example.com"}.'
    )

    @field_validator("overrides")
    @classmethod
    def _dates(cls, v: dict[str, str]) -> dict[str, str]:
        for day in v:
            date.fromisoformat(day)
        return {k: a.lower() for k, a in v.items()}

    def on_duty(self, day: date) -> str:
        return self.overrides.get(day.isoformat()) or getattr(self, WEEKDAYS[day.weekday()])


class RelaySection(Section):
    trusted_authserv_ids: list[str] = Field(
        default_factory=list,
        description="Your border MTA's authserv-id(s): staff mail counts only when the topmost"
        " Authentication-Results, added by one of these, shows the From authenticated (DMARC"
        " pass, or DKIM or SPF pass aligned with the From domain). Empty: From is believed.",
    )
    unauthenticated_cc: Literal["confirm", "add"] = Field(
        "confirm",
        description="With trust configured, people a customer-side mail our border found"
        " unauthenticated copies: confirm (kept on the ticket, no mail to them until an SE's"
        " #cc add) or add (in CC at once, as without trust).",
    )
    alignment: Literal["relaxed", "strict"] = Field(
        "relaxed",
        description="DKIM/SPF alignment with the From domain: relaxed (same organizational"
        " domain) or strict (the same domain).",
    )


class RoutingSection(Section):
    default_se: str = Field("", description="SE of mail that matches no account.")
    default_sc: str = Field("", description="SC in CC when the account names none (optional).")
    escalation: str = Field(
        "", description="Escalation contact (a configured person), told of repeated misses."
    )


def default_requests() -> list[RequestKind]:
    """The requests an SC owns out of the box (the example config lists the same)."""
    return [
        RequestKind(
            name="quote",
            words={
                "en": [
                    "a quote",
                    "the quote",
                    "our quote",
                    "quote for",
                    "quotation",
                    "price offer",
                ],
                "de": ["angebot", "kostenvoranschlag"],
                "es": ["presupuesto", "cotización", "cotizacion"],
            },
        ),
        RequestKind(
            name="pricing",
            words={
                "en": ["pricing", "price list", "how much does", "how much do"],
                "de": ["preis", "preise", "preisliste", "kosten"],
                "es": ["precio", "precios", "cuánto cuesta", "cuanto cuesta"],
            },
        ),
        RequestKind(
            name="licence",
            words={
                "en": [
                    "more licences",
                    "more licenses",
                    "additional licences",
                    "additional licenses",
                    "extra licences",
                    "extra licenses",
                    "licence renewal",
                    "license renewal",
                    "renewal",
                    "renew",
                ],
                "de": ["weitere lizenzen", "zusätzliche lizenzen", "verlängerung", "verlängern"],
                "es": [
                    "más licencias",
                    "licencias adicionales",
                    "renovación",
                    "renovacion",
                    "renovar",
                ],
            },
        ),
        RequestKind(
            name="billing",
            words={
                "en": [
                    "an invoice",
                    "our invoice",
                    "our invoices",
                    "the invoice for",
                    "invoice number",
                    "copy of the invoice",
                    "billing question",
                    "billed",
                    "refund",
                    "credit note",
                ],
                "de": ["rechnung", "rechnungen", "zahlung", "abrechnung", "gutschrift"],
                "es": ["factura", "facturas", "facturación", "facturacion", "pago", "reembolso"],
            },
        ),
        RequestKind(
            name="contract",
            words={
                "en": ["contract", "agreement", "purchase order", "terms of service"],
                "de": ["vertrag", "vertrags", "bestellung"],
                "es": ["contrato", "orden de compra"],
            },
        ),
    ]


class RequestKind(Section):
    """A kind of request the account's SC owns (a quote, an invoice): recognised by its words
    in the customer's points, routed to the SC with the SC's targets (sla.sc)."""

    name: str = Field(description="The kind's name, as explain and the SC's copy show it.")
    words: dict[str, list[str]] = Field(
        description="Words and phrases that show it, per language code (en, de, es, ...);"
        " matched as whole words, case-insensitive."
    )

    @field_validator("words")
    @classmethod
    def _words(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for language in v:
            check_language(language)
        return {lang: [w.strip().lower() for w in ws if w.strip()] for lang, ws in v.items()}
