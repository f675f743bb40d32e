"""The pages: sign-in, tickets, a ticket's story, the promise record, operations, each area in a
module of its own (signin, ticket_pages, record, operations; what they share is site.py), joined
here with the URL table.

Every page but sign-in, ``/healthz``, ``/metrics`` and the style sheet needs a signed-in person;
every POST needs the session's CSRF token; every read runs on the read-only connection, every
action in one transaction of the daemon's store, recorded with who took it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.routing import Route

from gateway.web.operations import OperationsPages
from gateway.web.record import RecordPages
from gateway.web.signin import SignInPages
from gateway.web.site import DATE_KIND_WORDS, SECURITY_HEADERS, Refused, local_target
from gateway.web.ticket_pages import TicketPages

__all__ = ["DATE_KIND_WORDS", "SECURITY_HEADERS", "Refused", "Site", "local_target", "routes"]


class Site(SignInPages, TicketPages, RecordPages, OperationsPages):
    """The web view: every page, over the dependencies of :class:`~gateway.web.site.SiteBase`."""


def routes(site: Site, guard: Callable[..., Any]) -> list[Route]:
    """The URL table (``guard`` wraps a page that needs a signed-in person)."""
    return [
        Route("/healthz", site.healthz),
        Route("/metrics", site.metrics),
        Route("/site.css", site.style),
        Route("/login", site.login_page, methods=["GET"]),
        Route("/login", site.login, methods=["POST"]),
        Route("/logout", site.logout, methods=["POST"]),
        Route("/", guard(site.home)),
        Route("/tickets", guard(site.ticket_list)),
        Route("/tickets/{key}", guard(site.ticket)),
        Route("/mail/{direction}/{id:int}", guard(site.raw)),
        Route("/report", guard(site.promise_record)),
        Route("/report.csv", guard(site.report_csv)),
        Route("/ops", guard(site.operations)),
        Route("/ops/inbox/{id:int}", guard(site.held_mail)),
        Route("/ops/{what}/{target}/{action}", guard(site.act), methods=["POST"]),
    ]
