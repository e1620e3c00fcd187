"""Small server-side SVG charts: no JavaScript, no CDN, prints as it shows."""

from django.utils.html import escape


def bars(
    items: list[tuple[str, float, str]],
    *,
    width: int = 640,
    bar_height: int = 22,
    percent: bool = True,
    title: str,
) -> str:
    """Horizontal bars: (label, value, colour). Values are fractions when `percent`.
    `title` names the chart for screen readers (an image needs a text alternative)."""
    if not items:
        return ""
    label_w, pad = 150, 6
    top = max((v for _, v, _ in items), default=0) or 1
    height = len(items) * (bar_height + pad) + pad
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart">'
        f"<title>{escape(title)}</title>"
    ]
    for i, (label, value, colour) in enumerate(items):
        y = pad + i * (bar_height + pad)
        w = (width - label_w - 70) * (value / top)
        text = f"{value * 100:.1f}%" if percent else f"{value:g}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_height - 6}" text-anchor="end" font-size="13">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height - 6}" font-size="13">{text}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def columns(
    series: list[tuple[str, list[int], str]],
    labels: list[str],
    *,
    width: int = 640,
    height: int = 200,
    title: str,
) -> str:
    """Grouped columns per label (e.g. per week): series of (name, values, colour).
    `title` names the chart for screen readers."""
    if not labels:
        return ""
    top = max((v for _, values, _ in series for v in values), default=0) or 1
    left, bottom, legend = 30, 30, 22
    plot_h = height - bottom - legend
    slot = (width - left) / len(labels)
    bar_w = slot * 0.8 / max(len(series), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart">'
        f"<title>{escape(title)}</title>"
    ]
    for k, (name, _values, colour) in enumerate(series):
        parts.append(
            f'<rect x="{left + k * 110}" y="2" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + k * 110 + 16}" y="13" font-size="12">{escape(name)}</text>'
        )
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for k, (_name, values, colour) in enumerate(series):
            h = plot_h * values[i] / top
            y = legend + plot_h - h
            parts.append(
                f'<rect x="{x0 + k * bar_w:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
            if values[i]:
                parts.append(
                    f'<text x="{x0 + (k + 0.5) * bar_w:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                    f'font-size="10">{values[i]}</text>'
                )
        parts.append(
            f'<text x="{x0 + slot * 0.4:.1f}" y="{height - 10}" text-anchor="middle" font-size="11">{escape(label)}</text>'
        )
    base = legend + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#999"/>'
        f'<text x="{left - 4}" y="{base}" text-anchor="end" font-size="11">0</text></svg>'
    )
    return "".join(parts)
