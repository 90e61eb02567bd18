"""The class's mistake histogram (matplotlib, Agg backend): how often each named mistake was made.

:func:`mistake_histogram` returns the figure's bytes as PNG and SVG; nothing here touches
the disk. The bytes repeat run after run: the SVG carries no date and a fixed hash salt,
the PNG no software tag, and bars are in a fixed order (most frequent first, then by name).
"""

from __future__ import annotations

import io
from collections import Counter

from .grade import ClassReport
from .mistakes import MISTAKES

__all__ = ["mistake_counts", "mistake_histogram", "UNNAMED"]

#: The bar for a wrong answer no known mistake reproduces.
UNNAMED = "no common mistake fits"
_TITLES = {m.name: m.title for m in MISTAKES}


def mistake_counts(report: ClassReport) -> list[tuple[str, int]]:
    """(mistake title, how many wrong answers it explains), most frequent first.

    Only answers that count and are ``incorrect`` are counted (a carried error is the
    consequence of one already counted); one no known mistake reproduces counts under
    :data:`UNNAMED`.
    """
    counts: Counter = Counter()
    for r in report.results:
        for row in r.rows:
            if row.counted and row.verdict == "incorrect":
                counts[_TITLES.get(row.mistake, row.mistake) if row.mistake else UNNAMED] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "backproof"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller SVGs, searchable titles
    return plt


def _short(title: str, width: int = 48) -> str:
    return title if len(title) <= width else title[:width - 1] + "…"


def mistake_histogram(report: ClassReport) -> dict[str, bytes]:
    """The histogram as ``{"png": bytes, "svg": bytes}``: one horizontal bar per mistake
    (titles in plain words, never codes), or a note that no answer was wrong."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator
    counts = mistake_counts(report)
    graded = sum(1 for r in report.results if r.error is None)
    fig, ax = plt.subplots(figsize=(7.2, 1.6 + 0.42 * max(len(counts), 1)), layout="constrained")
    if counts:
        labels = [_short(t) for t, _ in counts][::-1]
        values = [n for _, n in counts][::-1]
        bars = ax.barh(labels, values, color=["tab:gray" if t == UNNAMED else "tab:red" for t, _ in counts][::-1])
        ax.bar_label(bars, padding=3)
        ax.set_xlim(0, max(values) * 1.15 + 0.5)
    else:
        ax.text(0.5, 0.5, "no wrong answers", ha="center", va="center", transform=ax.transAxes, fontsize=12)
        ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("wrong answers it explains")
    ax.set_title(f"Mistakes in the class ({graded} graded submission{'s' * (graded != 1)})")
    ax.grid(True, axis="x", alpha=0.3)
    out = {}
    for fmt, meta in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=110, metadata=meta)
        out[fmt] = buf.getvalue()
    plt.close(fig)
    return out
