"""Charts drawn on the server as small SVG documents: no script, no network, no inline styles.

Colours come from CSS classes (app.css), and every mark also carries its letter or value
as text, so the charts read without colour. Callers pass words already translated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup


@dataclass(frozen=True, slots=True)
class Mark:
    """One trainee line on the call's time axis."""

    index: int  # turn index, for the #turn-N link
    at_s: float
    label: str  # label id: the CSS class mk-<label>
    letter: str
    name: str  # the label's name in the page's language


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


def timeline_svg(marks: Sequence[Mark], duration_s: float, band: tuple[float, float], title: str,
                 turn_word: str, band_word: str) -> Markup:
    """Each question a lettered, coloured mark along the call; the recommended length as a band."""
    width, height, left, right, axis_y = 640, 96, 16, 16, 64
    span = max(duration_s, band[0], *(m.at_s for m in marks), 1.0) * 1.05
    inner = width - left - right

    def x(seconds: float) -> float:
        return left + inner * min(seconds, span) / span

    parts = [f'<svg class="chart timeline" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    lo, hi = x(band[0]), x(min(band[1], span))
    if hi > lo:
        parts.append(f'<rect class="band" x="{lo:.1f}" y="8" width="{hi - lo:.1f}" height="{axis_y - 8}">'
                     f'<title>{escape(band_word)}</title></rect>')
    parts.append(f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}"/>')
    step = 30 if span <= 240 else 60
    tick = 0
    while tick <= span:
        tx = x(tick)
        parts.append(f'<line class="tick" x1="{tx:.1f}" y1="{axis_y}" x2="{tx:.1f}" y2="{axis_y + 5}"/>'
                     f'<text class="tick-label" x="{tx:.1f}" y="{axis_y + 20}" text-anchor="middle">'
                     f'{_clock(tick)}</text>')
        tick += step
    last_x = -100.0
    row = 0
    for m in marks:
        mx = x(m.at_s)
        row = row + 1 if mx - last_x < 18 and row < 2 else 0  # stack marks that would overlap
        last_x = mx
        cy = axis_y - 14 - row * 18
        label = f"{turn_word} {m.index}: {m.name} ({_clock(m.at_s)})"
        parts.append(f'<a href="#turn-{m.index}" aria-label="{escape(label)}"><g class="mk mk-{escape(m.label)}">'
                     f'<title>{escape(label)}</title><circle cx="{mx:.1f}" cy="{cy}" r="8"/>'
                     f'<text x="{mx:.1f}" y="{cy + 4}" text-anchor="middle">{escape(m.letter)}</text></g></a>')
    parts.append("</svg>")
    return Markup("".join(parts))


def totals_svg(points: Sequence[tuple[str, int, str]], title: str, pass_mark: int, pass_word: str) -> Markup:
    """Totals (0..100) in order, as a line with a dot and value per call; points are (label, total, href)."""
    width, height, left, right, top, bottom = 640, 200, 34, 12, 12, 28
    inner_w, inner_h = width - left - right, height - top - bottom

    def y(value: float) -> float:
        return top + inner_h * (1 - value / 100)

    def x(i: int) -> float:
        return left + (inner_w * i / (len(points) - 1) if len(points) > 1 else inner_w / 2)

    parts = [f'<svg class="chart totals" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for v in (0, 25, 50, 75, 100):
        parts.append(f'<line class="grid" x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}"/>'
                     f'<text class="tick-label" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    parts.append(f'<line class="pass" x1="{left}" y1="{y(pass_mark):.1f}" x2="{width - right}" '
                 f'y2="{y(pass_mark):.1f}"><title>{escape(pass_word)}: {pass_mark}</title></line>')
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v, _) in enumerate(points))
        parts.append(f'<polyline class="line" points="{path}"/>')
    every = max(1, len(points) // 10)
    for i, (name, value, href) in enumerate(points):
        label = f"{name}: {value}"
        parts.append(f'<a href="{escape(href)}" aria-label="{escape(label)}"><g class="dot"><title>{escape(label)}'
                     f'</title><circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="5"/></g></a>')
        if i % every == 0 or i == len(points) - 1:
            parts.append(f'<text class="value" x="{x(i):.1f}" y="{y(value) - 9:.1f}" text-anchor="middle">'
                         f'{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars_svg(items: Sequence[tuple[str, str, int, str]], title: str) -> Markup:
    """Horizontal bars; items are (css id, letter, value, name). Each bar is labelled with its letter and count."""
    width, row_h, left, right = 640, 30, 150, 60
    height = row_h * max(len(items), 1) + 8
    top = max((v for _, _, v, _ in items), default=0) or 1
    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (css, letter, value, name) in enumerate(items):
        y = 4 + i * row_h
        w = (width - left - right) * value / top
        parts.append(f'<g class="bar mk-{escape(css)}"><title>{escape(name)}: {value}</title>'
                     f'<text class="bar-name" x="{left - 8}" y="{y + 19}" text-anchor="end">{escape(letter)} · '
                     f'{escape(name)}</text><rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}"/>'
                     f'<text class="value" x="{left + w + 6:.1f}" y="{y + 19}">{value}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
