"""Server-side SVG charts: no script, no network, no inline styles (the CSP forbids them).

Colours come from CSS classes in manage.css; sizes are SVG presentation attributes. Every chart
has a <title> and a text alternative for screen readers; labels are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

SPIN_KEYS = ("situation", "problem", "implication", "need_payoff")


def _nice_max(value: float) -> int:
    """A top for the axis that splits into four whole, round steps (4, 8, 20, 40, 100, ...)."""
    needed = max(1, -(-int(value) // 4))
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if s >= needed), needed)
    return step * 4


def bars(points: Sequence[tuple[str, int, int]], title: str, first_name: str, second_name: str) -> Markup:
    """Grouped day bars: (label, first, second) e.g. calls and meetings per day."""
    width, height, left, bottom, top = 640, 220, 36, 36, 12
    inner_w, inner_h = width - left - 8, height - bottom - top
    peak = _nice_max(max((max(a, b) for _, a, b in points), default=1))
    slot = inner_w / max(1, len(points))
    bar_w = max(2.0, slot * 0.38)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-days-t">',
             f'<title id="chart-days-t">{escape(title)}</title>']
    for i in range(5):
        value = peak * i / 4
        y = top + inner_h - inner_h * i / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    every = max(1, len(points) // 7)
    for i, (label, first, second) in enumerate(points):
        x = left + slot * i + slot * 0.1
        for j, (value, cls, name) in enumerate(((first, "bar-a", first_name), (second, "bar-b", second_name))):
            h = inner_h * value / peak
            parts.append(f'<rect class="{cls}" x="{x + j * bar_w:.1f}" y="{top + inner_h - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}"><title>{escape(label)}: {escape(name)} {value}'
                         f'</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x + bar_w:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def mix(rows: Sequence[tuple[str, dict[str, int]]], title: str, names: dict[str, str]) -> Markup:
    """One stacked horizontal bar per trainee: the share of S, P, I and N among their questions."""
    row_h, left, width = 28, 110, 640
    height = max(1, len(rows)) * row_h + 8
    inner = width - left - 48
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-mix-t">',
             f'<title id="chart-mix-t">{escape(title)}</title>']
    for i, (name, counts) in enumerate(rows):
        y = 4 + i * row_h
        total = sum(counts.get(k, 0) for k in SPIN_KEYS)
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 17}" text-anchor="end">{escape(name)}</text>')
        x = float(left)
        for key in SPIN_KEYS:
            n = counts.get(key, 0)
            if not total or not n:
                continue
            w = inner * n / total
            parts.append(f'<rect class="seg-{key}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 8}">'
                         f'<title>{escape(name)}: {escape(names.get(key, key))} {n} ({100 * n / total:.0f}%)'
                         f'</title></rect>')
            x += w
        parts.append(f'<text class="axis" x="{left + inner + 6}" y="{y + 17}">{total}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
