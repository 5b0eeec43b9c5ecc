"""Charts drawn as inline SVG for the reports (WeasyPrint draws SVG; no chart library)."""

from __future__ import annotations

import math
from html import escape

from caseflow.domain.reliability import UptimePoint


def uptime_bars(points: list[UptimePoint], guarantee: float | None, title: str) -> str:
    """Monthly uptime as bars from a floor below the lowest value to 100%, the guarantee as a
    dashed line; a month with no covered hours has no bar."""
    width, height, left, bottom, top = 640, 220, 46, 30, 14
    values = [p.uptime_percent for p in points if p.uptime_percent is not None]
    lowest = min([*values, guarantee or 100.0, 100.0])
    floor = max(0.0, min(90.0, math.floor((lowest - 1) / 5) * 5))
    span = 100.0 - floor

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - (value - floor) / span)

    step = (width - left) / max(len(points), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" class="chart" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for tick in (floor, floor + span / 2, 100.0):
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="10" fill="#666">{tick:g}%</text>')
    for index, point in enumerate(points):
        x = left + index * step + step * 0.15
        w = step * 0.7
        label = escape(point.period[-2:] + "月" if len(point.period) == 7 else point.period)
        parts.append(f'<text x="{x + w / 2:.1f}" y="{height - bottom + 14}" '
                     f'text-anchor="middle" font-size="10" fill="#666">{label}</text>')
        if point.uptime_percent is None:
            continue
        low = guarantee is not None and point.uptime_percent < guarantee
        top_y = y(max(point.uptime_percent, floor))
        parts.append(f'<rect x="{x:.1f}" y="{top_y:.1f}" width="{w:.1f}" '
                     f'height="{y(floor) - top_y:.1f}" fill="{"#c62828" if low else "#1f6fb2"}"/>')
        parts.append(f'<text x="{x + w / 2:.1f}" y="{top_y - 3:.1f}" text-anchor="middle" '
                     f'font-size="9" fill="#222">{point.uptime_percent:.1f}</text>')
    if guarantee is not None:
        parts.append(f'<line x1="{left}" x2="{width}" y1="{y(guarantee):.1f}" '
                     f'y2="{y(guarantee):.1f}" stroke="#2e7d32" stroke-dasharray="6 4"/>')
    parts.append("</svg>")
    return "".join(parts)


def count_bars(counts: list[tuple[str, int]], title: str) -> str:
    """Horizontal bars: one per label, its count at the end."""
    width, row, left = 640, 22, 180
    height = row * max(len(counts), 1) + 8
    most = max([c for _, c in counts] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" class="chart" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for index, (label, count) in enumerate(counts):
        y = 4 + index * row
        length = (width - left - 40) * count / most
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11" '
                     f'fill="#222">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" '
                     'fill="#1f6fb2"/>')
        parts.append(f'<text x="{left + length + 4:.1f}" y="{y + 14}" font-size="11" '
                     f'fill="#222">{count}</text>')
    parts.append("</svg>")
    return "".join(parts)
