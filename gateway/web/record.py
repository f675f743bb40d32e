"""The promise record: the dates the team kept, per week, SE and account, and its CSV."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import (
    Response,
)

from gateway.promise import keeping as report
from gateway.store import outcomes
from gateway.store.db import Db
from gateway.web import auth, charts
from gateway.web.site import (
    Refused,
    SiteBase,
)

log = logging.getLogger("gateway.web")


_MEASURES = (
    ("Dates kept", "dates"),
    ("Acknowledged within the target", "ack"),
    ("Answered by the first date", "answered"),
    ("Resolved by the target", "resolved"),
)


class RecordPages(SiteBase):
    # -- the promise record ------------------------------------------------------------------

    def _period(self, request: Request) -> tuple[date, date]:
        today = self.clock.now().astimezone(self._tz()).date()
        q = request.query_params
        try:
            since = date.fromisoformat(q.get("since", ""))
        except ValueError:
            since = today.replace(day=1)
        try:
            until = date.fromisoformat(q.get("until", ""))
        except ValueError:
            until = today
        return since, max(since, until)

    async def _figures(self, request: Request) -> tuple[date, date, list[dict[str, Any]]]:
        since, until = self._period(request)
        tz = self._tz()
        ack_minutes, now = self.config().sla.acknowledge_minutes, self.clock.now()

        def job(db: Db) -> list[outcomes.Tally]:
            # Only the weeks that can hold tickets (any dates may be asked for).
            span = outcomes.received_span(db)
            if span is None:
                return []
            first, last = (t.astimezone(tz).date() for t in span)
            weeks = _weeks(max(since, first), min(until, last), tz)
            return outcomes.tallies(db, weeks, ack_minutes, now)

        rows = await self.reader.run(job)
        return since, until, report.figures(rows, ("week", "se", "product", "account"))

    async def promise_record(self, request: Request, who: auth.Viewer) -> Response:
        if not who.staff:
            raise Refused("the promise record is for leads and engineers")
        since, until, figures = await self._figures(request)
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in figures:
            groups.setdefault(r["scope"], []).append(r)
        weeks = sorted(groups.get("week", []), key=lambda r: r["name"])
        week_charts = [
            charts.columns(title, [_bar(r, measure, short=True) for r in weeks])
            for title, measure in _MEASURES
        ]
        week_charts.append(
            charts.columns(
                "Revised dates sent",
                [charts.Bar(r["name"][5:], r["revised_etas"]) for r in weeks],
                share=False,
            )
        )
        by = {
            scope: charts.bars(
                f"Dates kept, by {label}",
                [_bar(r, "dates") for r in sorted(groups.get(scope, []), key=lambda r: r["name"])],
            )
            for scope, label in (("se", "engineer"), ("product", "product"), ("account", "account"))
        }
        return self.page(
            request,
            "report.html.j2",
            since=since,
            until=until,
            overall=groups["all"][0],
            week_charts=week_charts,
            by=by,
            groups=groups,
            csv_link="/report.csv?" + urlencode({"since": since, "until": until}),
        )

    async def report_csv(self, request: Request, who: auth.Viewer) -> Response:
        if not who.staff:
            raise Refused("the promise record is for leads and engineers")
        since, until, figures = await self._figures(request)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=report.COLUMNS)
        writer.writeheader()
        writer.writerows(figures)
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="promises-{since}-{until}.csv"'},
        )


def _weeks(since: date, until: date, tz: tzinfo) -> list[tuple[str, datetime, datetime]]:
    """The local weeks (Monday to Monday) from ``since`` to ``until``, cut at those days."""

    def midnight(d: date) -> datetime:
        return datetime.combine(d, time.min, tz)

    weeks = []
    monday = since - timedelta(days=since.weekday())
    while monday <= until:
        end = min(monday + timedelta(days=7), until + timedelta(days=1))
        weeks.append((monday.isoformat(), midnight(max(monday, since)), midnight(end)))
        monday += timedelta(days=7)
    return weeks


def _bar(r: dict[str, Any], measure: str, short: bool = False) -> charts.Bar:
    label = r["name"][5:] if short else r["name"]  # weeks: "11-02" of "2026-11-02"
    done, of = {
        "dates": (r["dates_met"], r["dates_met"] + r["dates_missed"]),
        "ack": (r["acknowledged_in_time"], r["tickets"]),
        "answered": (r["answered_in_time"], r["reply_came_due"]),
        "resolved": (r["resolved_in_time"], r["resolution_came_due"]),
    }[measure]
    return charts.Bar(label, done / of if of else None, f"{done}/{of}")
