"""Small server-side SVG charts: horizontal bars (Paretos), lines (trends), stacked bars
(events per hour). Drawn in Python so the pages need no chart library, no script and no
CDN, print and screenshot well, and stay readable without JavaScript. Every chart has a
``<title>`` for screen readers; the pages put the numbers in a table beside it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

PALETTE = (
    "#1f5fa8",
    "#c2410c",
    "#15803d",
    "#7e22ce",
    "#b91c1c",
    "#0e7490",
    "#a16207",
    "#4338ca",
    "#be185d",
    "#3f6212",
    "#525252",
)
INK, GRID = "#1f2937", "#d1d5db"
FONT_PX, MIN_PX = 13, 12
"""Text is FONT_PX in the chart's own units; a chart never shrinks below the width at
which that is MIN_PX on screen (its box scrolls instead), and never grows past 1:1."""
FONT = f"font-family:system-ui,sans-serif;font-size:{FONT_PX}px"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    smallest = int(width * MIN_PX / FONT_PX + 0.5)
    # The box scrolls sideways on a narrow screen, so it takes focus (a keyboard can
    # scroll it: WCAG 2.1.1) and is a region named after the chart.
    head = (
        f'<div class="chart-box" tabindex="0" role="region" aria-label="{escape(title)}">'
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" '
        f'role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px;min-width:{smallest}px;{FONT}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg></div>")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def hbars(rows: Sequence[tuple[str, float]], title: str, width: int = 400) -> Markup:
    """One bar per row, longest first as given; the value at the bar's end."""
    label_w, bar_h, gap = 150, 18, 6
    height = max(1, len(rows)) * (bar_h + gap) + 8
    biggest = max((value for _, value in rows), default=0) or 1
    span = width - label_w - 64
    body = []
    for i, (label, value) in enumerate(rows):
        y = 4 + i * (bar_h + gap)
        length = max(1.0, span * value / biggest)
        body.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="{INK}">'
            f"{escape(_short(str(label), 20))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" '
            f'fill="{colour(0)}"><title>{escape(str(label))}: {_fmt(value)}</title></rect>'
            f'<text x="{label_w + length + 4:.1f}" y="{y + 14}" fill="{INK}">{_fmt(value)}</text>'
        )
    if not rows:
        body.append(f'<text x="8" y="16" fill="{INK}">no data in this period</text>')
    return _svg(width, height, title, body)


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    title: str,
    *,
    percent: bool = False,
    width: int = 400,
    height: int = 200,
) -> Markup:
    """One polyline per series over the labels (days); a legend above."""
    left, right, top, bottom = 48, 24, 26, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    biggest = 1.0 if percent else (max(values, default=0) or 1)
    step = plot_w / max(1, len(labels) - 1)
    body = _axes(left, top, plot_w, plot_h, biggest, percent)
    for i, (name, vs) in enumerate(series):
        points = [
            f"{left + j * step:.1f},{top + plot_h - plot_h * v / biggest:.1f}"
            for j, v in enumerate(vs)
            if v is not None
        ]
        if points:
            body.append(
                f'<polyline fill="none" stroke="{colour(i)}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        x = left + sum(_legend_w(n) for n, _ in series[:i])
        body.append(
            f'<rect x="{x}" y="5" width="10" height="10" fill="{colour(i)}"/>'
            f'<text x="{x + 14}" y="15" fill="{INK}">{escape(name)}</text>'
        )
    body += _xlabels(labels, left, step, top + plot_h + 19, plot_w)
    return _svg(width, height, title, body)


def stacked(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    *,
    width: int = 600,
    height: int = 230,
    colours: Mapping[str, str] | None = None,
) -> Markup:
    """Stacked columns: one per label (hour), one colour per series (system): its own
    from ``colours`` (by series name) if it has one, else the palette's."""
    own = colours or {}
    per_row = 5
    left, right, top, bottom = 54, 10, 26 + 17 * ((len(series) - 1) // per_row), 26
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(vs[j] for _, vs in series) for j in range(len(labels))]
    biggest = max(totals, default=0) or 1
    step = plot_w / max(1, len(labels))
    body = _axes(left, top, plot_w, plot_h, biggest, False)
    base = [0.0] * len(labels)
    for i, (name, vs) in enumerate(series):
        for j, value in enumerate(vs):
            if not value:
                continue
            h = plot_h * value / biggest
            y = top + plot_h - plot_h * base[j] / biggest - h
            base[j] += value
            body.append(
                f'<rect x="{left + j * step + 1:.1f}" y="{y:.1f}" width="{max(1, step - 2):.1f}" '
                f'height="{h:.1f}" fill="{own.get(name, colour(i))}"><title>{escape(name)} '
                f"{escape(labels[j])}: {_fmt(value)}</title></rect>"
            )
        x, y = left + (i % per_row) * 105, 5 + 17 * (i // per_row)
        body.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{own.get(name, colour(i))}"/>'
            f'<text x="{x + 14}" y="{y + 10}" fill="{INK}">{escape(_short(name, 11))}</text>'
        )
    body += _xlabels(labels, left + step / 2, step, top + plot_h + 19, plot_w)
    return _svg(width, height, title, body)


def _axes(left: int, top: int, w: int, h: int, biggest: float, percent: bool) -> list[str]:
    out = []
    for k in range(5):
        value = biggest * k / 4
        y = top + h - h * k / 4
        text = f"{value * 100:.0f}%" if percent else _fmt(round(value, 0 if biggest >= 10 else 1))
        out.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{text}</text>'
        )
    return out


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _legend_w(name: str) -> int:
    """Room for a legend entry: the swatch, the name at ~0.6 em a letter, a gap."""
    return 14 + int(len(name) * FONT_PX * 0.6) + 16


def _xlabels(
    labels: Sequence[str], x0: float, step: float, y: float, room: float = 0.0
) -> list[str]:
    """Every n-th label, n chosen so that labels ~45 units wide do not overlap."""
    fits = max(1, int(room // 48)) if room else 8
    every = max(1, -(-len(labels) // fits))
    return [
        f'<text x="{x0 + j * step:.1f}" y="{y:.1f}" text-anchor="middle" fill="{INK}">'
        f"{escape(label)}</text>"
        for j, label in enumerate(labels)
        if j % every == 0
    ]
