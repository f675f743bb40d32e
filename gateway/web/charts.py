"""Charts as inline SVG, drawn on the server: no scripts, no fonts fetched, works offline and
prints. Every bar carries its number as text (a chart is read aloud by a screen reader too)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

BAR = "#2b6cb0"  # blue: a figure, never red
EMPTY = "#e2e8f0"
INK = "#1a202c"
MUTED = "#4a5568"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # a share (0..1) or a count; None: nothing came due
    note: str = ""  # e.g. "12/14"


def _text(value: float | None, share: bool, note: str) -> str:
    if value is None:
        return "-"
    shown = f"{value:.0%}" if share else f"{value:g}"
    return f"{shown} ({note})" if note else shown


def _opening(title: str, width: int, height: int) -> list[str]:
    """An SVG chart's start: its size, its name for screen readers, its title drawn."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="bold" fill="{INK}">{escape(title)}</text>',
    ]


def bars(title: str, items: list[Bar], share: bool = True) -> Markup:
    """A horizontal bar chart: one labelled bar per item (shares: 0..100%)."""
    label_w, bar_w, text_w, row = 170, 260, 110, 22
    top = 26
    width = label_w + bar_w + text_w
    height = top + row * max(1, len(items)) + 6
    most = 1.0 if share else max([i.value or 0 for i in items] + [1])
    out = _opening(title, width, height)
    for n, item in enumerate(items):
        y = top + n * row
        label = item.label if len(item.label) <= 24 else item.label[:23] + "…"
        filled = 0.0 if item.value is None else bar_w * min(1.0, item.value / most)
        out += [
            f'<text x="0" y="{y + 15}" font-size="12" fill="{INK}">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="15" fill="{EMPTY}"/>',
            f'<rect x="{label_w}" y="{y + 3}" width="{filled:.1f}" height="15" fill="{BAR}"/>',
            f'<text x="{label_w + bar_w + 6}" y="{y + 15}" font-size="12" fill="{MUTED}">'
            f"{escape(_text(item.value, share, item.note))}</text>",
        ]
    if not items:
        out.append(f'<text x="0" y="{top + 15}" font-size="12" fill="{MUTED}">no tickets</text>')
    out.append("</svg>")
    return Markup("".join(out))


def columns(title: str, items: list[Bar], share: bool = True) -> Markup:
    """A column chart over time (weeks): one labelled column per item, oldest first."""
    col, gap, plot_h, top = 34, 8, 120, 26
    width = max(300, len(items) * (col + gap) + gap)
    height = top + plot_h + 36
    most = 1.0 if share else max([i.value or 0 for i in items] + [1])
    out = _opening(title, width, height)
    for n, item in enumerate(items):
        x = gap + n * (col + gap)
        h = 0.0 if item.value is None else plot_h * min(1.0, item.value / most)
        out += [
            f'<rect x="{x}" y="{top}" width="{col}" height="{plot_h}" fill="{EMPTY}"/>',
            f'<rect x="{x}" y="{top + plot_h - h:.1f}" width="{col}" height="{h:.1f}"'
            f' fill="{BAR}"><title>{escape(item.label)}: '
            f"{escape(_text(item.value, share, item.note))}</title></rect>",
            f'<text x="{x + col / 2}" y="{top + plot_h + 14}" font-size="10" fill="{MUTED}"'
            f' text-anchor="middle">{escape(_text(item.value, share, ""))}</text>',
            f'<text x="{x + col / 2}" y="{top + plot_h + 28}" font-size="10" fill="{INK}"'
            f' text-anchor="middle">{escape(item.label)}</text>',
        ]
    out.append("</svg>")
    return Markup("".join(out))
