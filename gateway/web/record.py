"""The promise record: the dates the team kept, per week, SE and account, and its CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import (
    Response,
)

from gateway.promise import keeping as report
from gateway.store import outcomes
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
        start = datetime.combine(since, time.min, tz)
        end = datetime.combine(until + timedelta(days=1), time.min, tz)
        rows = await self.reader.run(lambda db: outcomes.per_ticket(db, start, end))

        weeks: dict[str, str] = {}  # by the minute received (UTC): the same local week

        def week(r: Any, field: str) -> str:
            if field != "week":
                return str(getattr(r, field)) or "(none)"
            minute = r.received_at[:16]
            if minute not in weeks:
                d = datetime.fromisoformat(r.received_at).astimezone(tz).date()
                weeks[minute] = (d - timedelta(days=d.weekday())).isoformat()
            return weeks[minute]

        # Thousands of tickets' sums: in a worker thread, never on the daemon's event loop.
        figures = await asyncio.to_thread(
            report.figures,
            rows,
            self.config().sla.acknowledge_minutes,
            self.clock.now(),
            ("week", "se", "product", "account"),
            week,
        )
        return since, until, figures

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


def _bar(r: dict[str, Any], measure: str, short: bool = False) -> charts.Bar:
    label = r["name"][5:] if short else r["name"]  # weeks: "11-02" of "2026-11-02"
    done, of = {
        "dates": (r["dates_met"], r["dates_met"] + r["dates_missed"]),
        "ack": (r["acknowledged_in_time"], r["tickets"]),
        "answered": (r["answered_in_time"], r["reply_came_due"]),
        "resolved": (r["resolved_in_time"], r["resolution_came_due"]),
    }[measure]
    return charts.Bar(label, done / of if of else None, f"{done}/{of}")
