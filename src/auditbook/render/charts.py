"""SVG charts drawn by auditbook for the PDF audit pack.

The charts are inline SVG that WeasyPrint draws as vectors, so they print
sharply and their labels stay text. Verdict fills differ in lightness as well
as hue, and not-applicable segments are hatched, so a greyscale print keeps
the segments apart; each segment is labelled with its count.
"""

from __future__ import annotations

from collections import Counter

from markupsafe import Markup, escape

from auditbook.models import Status
from auditbook.render import VERDICT_COLUMNS
from auditbook.report import NOT_COLLECTED

# Verdict to (fill, text colour, legend label).
VERDICT_STYLE = {
    Status.FAIL.value: ("#b91c1c", "#ffffff", "FAIL"),
    Status.ERROR.value: ("#f59e0b", "#111827", "ERROR"),
    NOT_COLLECTED: ("#ffffff", "#111827", "NOT COLLECTED"),
    Status.PASS.value: ("#86efac", "#14532d", "PASS"),
    Status.NOT_APPLICABLE.value: ("url(#hatch)", "#111827", "NOT APPLICABLE"),
}

WIDTH = 640
LABEL_WIDTH = 170
TOTAL_WIDTH = 70
ROW_HEIGHT = 28
BAR_HEIGHT = 18
LEGEND_HEIGHT = 34
# Narrowest segment, in SVG units, that fits its count as a label.
MIN_LABELLED_WIDTH = 18

_DEFS = (
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
    ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3f4f6"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#6b7280" stroke-width="2"/>'
    "</pattern></defs>"
)


def verdict_bar_chart(
    rows: list[tuple[str, Counter[str]]], unit: str = "controls"
) -> Markup:
    """Draw one stacked horizontal bar of verdict counts per row, as SVG.

    Args:
        rows: a label, such as a layer name, and its counts by verdict.
        unit: what is counted, for the totals at the end of each bar.
    """
    bar_width = WIDTH - LABEL_WIDTH - TOTAL_WIDTH
    largest = max((sum(counts.values()) for _, counts in rows), default=0) or 1
    height = len(rows) * ROW_HEIGHT + LEGEND_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        'font-family="DejaVu Sans, sans-serif" font-size="11">',
        _DEFS,
    ]

    for index, (label, counts) in enumerate(rows):
        top = index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        middle = top + BAR_HEIGHT / 2 + 4
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        x = float(LABEL_WIDTH)
        for verdict in VERDICT_COLUMNS:
            count = counts.get(verdict, 0)
            if not count:
                continue
            width = count / largest * bar_width
            parts.append(_segment(verdict, count, x, top, width))
            x += width
        total = sum(counts.values())
        parts.append(
            f'<text x="{x + 6:.1f}" y="{middle:.1f}">{total} {escape(unit)}</text>'
        )

    parts.append(_legend(len(rows) * ROW_HEIGHT + 12))
    parts.append("</svg>")
    return Markup("".join(parts))


def _segment(verdict: str, count: int, x: float, top: float, width: float) -> str:
    fill, text_colour, _ = VERDICT_STYLE[verdict]
    dash = ' stroke-dasharray="3 2"' if verdict == NOT_COLLECTED else ""
    shape = (
        f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" '
        f'fill="{fill}" stroke="#374151" stroke-width="0.8"{dash}/>'
    )
    if width < MIN_LABELLED_WIDTH:
        return shape
    label = (
        f'<text x="{x + width / 2:.1f}" y="{top + BAR_HEIGHT / 2 + 4:.1f}" '
        f'text-anchor="middle" fill="{text_colour}" font-weight="bold">{count}</text>'
    )
    return shape + label


def _legend(top: float) -> str:
    parts = []
    x = float(LABEL_WIDTH)
    for verdict in VERDICT_COLUMNS:
        fill, _, label = VERDICT_STYLE[verdict]
        dash = ' stroke-dasharray="3 2"' if verdict == NOT_COLLECTED else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="12" height="12" fill="{fill}" '
            f'stroke="#374151" stroke-width="0.8"{dash}/>'
            f'<text x="{x + 16:.1f}" y="{top + 10:.1f}" font-size="9">{label}</text>'
        )
        x += 16 + len(label) * 6 + 14
    return "".join(parts)
