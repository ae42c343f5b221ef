"""SVG charts drawn by auditbook for the PDF audit pack.

The charts are inline SVG that WeasyPrint draws as vectors, so they print
sharply and their labels stay text. Verdict fills differ in lightness as well
as hue, and not-applicable segments are hatched, so a greyscale print keeps
the segments apart. Each segment wide enough for a label shows its count.
"""

from __future__ import annotations

from collections import Counter

from markupsafe import Markup, escape

from auditbook.attestations import ATTESTATION_EXPIRED, ATTESTED, EVIDENCE_MISSING
from auditbook.models import Status
from auditbook.render import VERDICT_COLUMNS
from auditbook.report import NOT_COLLECTED, VERDICT_LABELS
from auditbook.riskexceptions import EXCEPTED

# Verdict to (fill, text colour on the fill). Legend labels are the report's
# verdict labels.
VERDICT_STYLE = {
    Status.FAIL.value: ("#b91c1c", "#ffffff"),
    Status.ERROR.value: ("#f59e0b", "#111827"),
    ATTESTATION_EXPIRED: ("#c2410c", "#ffffff"),
    EVIDENCE_MISSING: ("#fecaca", "#111827"),
    NOT_COLLECTED: ("#ffffff", "#111827"),
    EXCEPTED: ("#c4b5fd", "#111827"),
    ATTESTED: ("#5eead4", "#111827"),
    Status.PASS.value: ("#86efac", "#14532d"),
    Status.NOT_APPLICABLE.value: ("url(#{chart}-hatch)", "#111827"),
}

# Verdicts drawn with a dashed outline: evidence that is absent.
DASHED = (NOT_COLLECTED, EVIDENCE_MISSING)

WIDTH = 640
TOTAL_WIDTH = 80
# Label column bounds, and an estimate of the average width of one character
# of an 11-unit DejaVu Sans label, used to fit the column to the longest
# label. A label wider than MAX_LABEL_WIDTH is clipped at the left edge.
MIN_LABEL_WIDTH = 110
MAX_LABEL_WIDTH = 250
CHAR_WIDTH = 6.6
ROW_HEIGHT = 28
BAR_HEIGHT = 18
LEGEND_LINE_HEIGHT = 16
LEGEND_GAP = 12
# An estimate of the width of one character of a 9-unit legend label.
LEGEND_CHAR_WIDTH = 6
# Narrowest segment, in SVG units, that fits its count as a label.
MIN_LABELLED_WIDTH = 18

_DEFS = (
    '<defs><pattern id="{chart}-hatch" width="6" height="6" '
    'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="6" height="6" fill="#f3f4f6"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#6b7280" stroke-width="2"/>'
    "</pattern></defs>"
)


def verdict_bar_chart(
    chart: str,
    rows: list[tuple[str, Counter[str]]],
    unit: tuple[str, str] = ("control", "controls"),
) -> Markup:
    """Draw one stacked horizontal bar of verdict counts per row, as SVG.

    Args:
        chart: an id unique in the HTML document, such as ``layers``, because
            ids inside inline SVG share the document's namespace.
        rows: a label, such as a layer name, and its counts by verdict.
        unit: what is counted, singular and plural, for the total after each bar.
    """
    longest = max((len(label) for label, _ in rows), default=0)
    label_width = min(max(longest * CHAR_WIDTH + 12, MIN_LABEL_WIDTH), MAX_LABEL_WIDTH)
    bar_width = WIDTH - label_width - TOTAL_WIDTH
    largest = max((sum(counts.values()) for _, counts in rows), default=0) or 1
    present = [v for v in VERDICT_COLUMNS if any(c.get(v) for _, c in rows)]
    legend, legend_height = _legend(chart, present, label_width, len(rows) * ROW_HEIGHT)
    height = len(rows) * ROW_HEIGHT + legend_height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        'font-family="DejaVu Sans, sans-serif" font-size="11">',
        _DEFS.format(chart=chart),
    ]

    for index, (label, counts) in enumerate(rows):
        top = index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        middle = top + BAR_HEIGHT / 2 + 4
        parts.append(
            f'<text x="{label_width - 8:.1f}" y="{middle:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        x = label_width
        for verdict in VERDICT_COLUMNS:
            count = counts.get(verdict, 0)
            if not count:
                continue
            width = count / largest * bar_width
            parts.append(_segment(chart, verdict, count, x, top, width))
            x += width
        total = sum(counts.values())
        noun = unit[0] if total == 1 else unit[1]
        parts.append(
            f'<text x="{x + 6:.1f}" y="{middle:.1f}">{total} {escape(noun)}</text>'
        )

    parts.append(legend)
    parts.append("</svg>")
    return Markup("".join(parts))


def _segment(
    chart: str, verdict: str, count: int, x: float, top: float, width: float
) -> str:
    fill, text_colour = VERDICT_STYLE[verdict]
    fill = fill.format(chart=chart)
    dash = ' stroke-dasharray="3 2"' if verdict in DASHED else ""
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


def _legend(
    chart: str, verdicts: list[str], left: float, top: float
) -> tuple[str, float]:
    """Draw a swatch and label per verdict, wrapping lines; return SVG and height."""
    parts = []
    x = left
    y = top + LEGEND_GAP
    for verdict in verdicts:
        fill, _ = VERDICT_STYLE[verdict]
        fill = fill.format(chart=chart)
        label = escape(VERDICT_LABELS[verdict])
        width = 16 + len(label) * LEGEND_CHAR_WIDTH + 14
        if x > left and x + width > WIDTH:
            x = left
            y += LEGEND_LINE_HEIGHT
        dash = ' stroke-dasharray="3 2"' if verdict in DASHED else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" fill="{fill}" '
            f'stroke="#374151" stroke-width="0.8"{dash}/>'
            f'<text x="{x + 16:.1f}" y="{y + 10:.1f}" font-size="9">{label}</text>'
        )
        x += width
    height = y - top + LEGEND_LINE_HEIGHT + 4 if verdicts else 0
    return "".join(parts), height
