"""Small server-side SVG charts: no JavaScript, no CDN, prints as it shows.

Each chart carries what a clerk needs to read it on paper: axes with their scale
(ticks and grid lines), the value at each bar, the dates or names along the axis, a
legend naming each colour, and a <title> for screen readers. Styling is by SVG
presentation attributes (fill=, stroke=, font-size=) and classes for the stylesheets
(static/css/app.css, bulletin.css; each series' bars and swatch carry
`chart-series-N`, so that the black-and-white bulletin can give them greys a printer
keeps apart): never a style attribute (the CSP forbids them).
"""

import math

from django.utils.html import escape

INK = "#1b1b1b"  # text: black on paper
GRID = "#d0d0d0"
AXIS = "#555"


def nice_ticks(top: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round tick values from 0 to at least `top` (about `count` steps of 1, 2, 2.5 or
    5 times a power of ten; whole numbers only when `whole`, for counts)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    if whole:
        raw = max(raw, 1)
    power = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole and power < 10 else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in multiples if m * power >= raw)
    steps = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(steps + 1)]


def _number(value: float, percent: bool) -> str:
    if percent:
        text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
        return f"{text}%"
    return f"{value:g}"


def _open(width: float, height: float, title: str) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}" '
        f'role="img" class="chart"' + (f' aria-label="{escape(title)}">' if title else ">")
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    return parts


def _legend(entries: list[tuple[str, str]], x: float, y: float) -> list[str]:
    """A row of colour swatches, each with its name; returns the SVG parts."""
    parts = ['<g class="chart-legend">']
    for k, (name, colour) in enumerate(entries):
        parts.append(
            f'<rect class="chart-series-{k}" x="{x:g}" y="{y:g}" width="14" height="14" '
            f'fill="{colour}" '
            f'stroke="{AXIS}" stroke-width="0.5"/>'
            f'<text x="{x + 19:g}" y="{y + 12:g}" font-size="13" fill="{INK}">{escape(name)}</text>'
        )
        x += 19 + 13 * _text_units(name) + 24
    parts.append("</g>")
    return parts


def _text_units(text: str) -> float:
    """The width of a text in em, roughly: a CJK character is one, others half."""
    return sum(1 if ord(c) > 0x2E80 else 0.55 for c in str(text))


def bars(
    items: list[tuple[str, float, str]],
    *,
    width: int = 640,
    bar_height: int = 22,
    percent: bool = True,
    title: str = "",
    axis_label: str = "",
    legend: list[tuple[str, str]] | None = None,
) -> str:
    """Horizontal bars: (label, value, colour), the names along the left axis, the value
    at each bar's end, a scale along the bottom axis (named by `axis_label`), and a
    legend of (name, colour) when given. Values are fractions when `percent`."""
    if not items:
        return ""
    label_w, pad, value_w = 150, 6, 60
    legend_h = 26 if legend else 0
    axis_h = 22 + (20 if axis_label else 0)
    ticks = nice_ticks(max((v for _, v, _ in items), default=0))
    top = ticks[-1] or 1
    plot_w = width - label_w - value_w
    plot_top = legend_h + pad
    plot_h = len(items) * (bar_height + pad)
    height = plot_top + plot_h + axis_h

    def x_of(value: float) -> float:
        return label_w + plot_w * value / top

    parts = _open(width, height, title)
    if legend:
        parts += _legend(legend, label_w, 4)
    parts.append('<g class="chart-grid">')
    for tick in ticks:
        x = x_of(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{plot_top}" x2="{x:.1f}" y2="{plot_top + plot_h}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
    parts.append("</g>")
    for i, (label, value, colour) in enumerate(items):
        y = plot_top + pad / 2 + i * (bar_height + pad)
        w = x_of(value) - label_w
        parts.append(
            f'<text class="chart-label" x="{label_w - 6}" y="{y + bar_height - 6:g}" '
            f'text-anchor="end" font-size="13" fill="{INK}">{escape(label)}</text>'
            f'<rect class="chart-bar chart-series-0" x="{label_w}" y="{y:g}" width="{w:.1f}" '
            f'height="{bar_height}" fill="{colour}"/>'
            f'<text class="chart-value" x="{label_w + w + 5:.1f}" y="{y + bar_height - 6:g}" '
            f'font-size="13" fill="{INK}">{_number(value, percent)}</text>'
        )
    base = plot_top + plot_h
    parts.append(
        f'<g class="chart-axis"><line x1="{label_w}" y1="{plot_top}" x2="{label_w}" '
        f'y2="{base}" stroke="{AXIS}" stroke-width="1"/>'
        f'<line x1="{label_w}" y1="{base}" x2="{label_w + plot_w}" y2="{base}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
    )
    for tick in ticks:
        x = x_of(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="{AXIS}"/>'
            f'<text x="{x:.1f}" y="{base + 17}" text-anchor="middle" font-size="11" '
            f'fill="{INK}">{_number(tick, percent)}</text>'
        )
    if axis_label:
        parts.append(
            f'<text class="chart-axis-label" x="{label_w + plot_w / 2:.1f}" y="{base + 36}" '
            f'text-anchor="middle" font-size="12" fill="{INK}">{escape(axis_label)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)


def columns(
    series: list[tuple[str, list[int], str]],
    labels: list[str],
    *,
    width: int = 640,
    height: int = 200,
    title: str = "",
    y_label: str = "",
    x_label: str = "",
) -> str:
    """Grouped columns per label (e.g. per week): series of (name, values, colour),
    with a legend naming each series, a scale up the left axis (named by `y_label`),
    the labels (dates) along the bottom axis (named by `x_label`) and the value above
    each column. `height` is that of the plot and its legend; the axes' labels add to
    it."""
    if not labels:
        return ""
    ticks = nice_ticks(max((v for _, values, _ in series for v in values), default=0), whole=True)
    top = ticks[-1] or 1
    left = 44 + (16 if y_label else 0)
    legend_h, bottom = 26, 22 + (20 if x_label else 0)
    plot_top = legend_h + 8
    plot_h = height - plot_top - 8
    total_h = plot_top + plot_h + bottom
    slot = (width - left - 4) / len(labels)
    bar_w = slot * 0.8 / max(len(series), 1)
    base = plot_top + plot_h

    def y_of(value: float) -> float:
        return base - plot_h * value / top

    parts = _open(width, total_h, title)
    parts += _legend([(name, colour) for name, _values, colour in series], left, 4)
    parts.append('<g class="chart-grid">')
    for tick in ticks[1:]:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 4}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
    parts.append("</g>")
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for k, (_name, values, colour) in enumerate(series):
            y = y_of(values[i])
            parts.append(
                f'<rect class="chart-bar chart-series-{k}" x="{x0 + k * bar_w:.1f}" y="{y:.1f}" '
                f'width="{bar_w:.1f}" height="{base - y:.1f}" fill="{colour}"/>'
            )
            if values[i]:
                parts.append(
                    f'<text class="chart-value" x="{x0 + (k + 0.5) * bar_w:.1f}" '
                    f'y="{y - 3:.1f}" text-anchor="middle" font-size="10" '
                    f'fill="{INK}">{values[i]}</text>'
                )
        parts.append(
            f'<text class="chart-label" x="{x0 + slot * 0.4:.1f}" y="{base + 16}" '
            f'text-anchor="middle" font-size="11" fill="{INK}">{escape(label)}</text>'
        )
    parts.append(
        f'<g class="chart-axis"><line x1="{left}" y1="{plot_top}" x2="{left}" y2="{base}" '
        f'stroke="{AXIS}" stroke-width="1"/>'
        f'<line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" stroke="{AXIS}" '
        f'stroke-width="1"/>'
    )
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" stroke="{AXIS}"/>'
            f'<text x="{left - 7}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{INK}">{tick:g}</text>'
        )
    if y_label:
        middle = plot_top + plot_h / 2
        parts.append(
            f'<text class="chart-axis-label" x="12" y="{middle:.1f}" text-anchor="middle" '
            f'font-size="12" fill="{INK}" transform="rotate(-90 12 {middle:.1f})">'
            f"{escape(y_label)}</text>"
        )
    if x_label:
        parts.append(
            f'<text class="chart-axis-label" x="{left + (width - left) / 2:.1f}" '
            f'y="{base + 36}" text-anchor="middle" font-size="12" fill="{INK}">'
            f"{escape(x_label)}</text>"
        )
    parts.append("</g></svg>")
    return "".join(parts)
