"""Sequence logos: letter heights from a PPM, drawn as self-contained SVG or as a PNG.

Heights follow Schneider & Stephens (Nucleic Acids Res. 18:6097, 1990): at position j,

    IC_j = log2 A - H_j,   H_j = -sum_k p_jk log2 p_jk      (bits; 0 for a uniform column)
    height_jk = p_jk * IC_j

and with background frequencies b, ``IC_j = sum_k p_jk log2(p_jk / b_k)`` (relative entropy).
The drawing functions take any (w, A) heights, signed too: positive letters stack upward from
the baseline, negative ones downward (a CWM, or per-letter attributions, drawn as in
tangermeme's ``plot_logo``). In each stack the tallest letter is furthest from the baseline.
Colours: A green, C blue, G orange, T/U red (igv.js dynseq, logomaker "classic"); protein
letters by chemistry (weblogo); anything else grey.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from engine.atomic import atomic_path

from .motif_db import MissingExtra

PNG_MISSING = 'PNG logos need matplotlib: pip install "bytescope[motifs]"'
DNA_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839",
               "U": "#D62839"}
PROTEIN_COLOURS = {**dict.fromkeys("GSTYC", "#109648"), **dict.fromkeys("NQ", "#8E44AD"),
                   **dict.fromkeys("KRH", "#255C99"), **dict.fromkeys("DE", "#D62839"),
                   **dict.fromkeys("AVLIPWFM", "#222222")}
OTHER_COLOUR = "#666666"
# Cap height and advance width of a bold sans-serif capital, in font-size units: scaling by
# their inverses makes a letter fill its box (DejaVu/Arial capitals are close to these).
CAP_HEIGHT = 0.73
LETTER_WIDTH = 0.72
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


def ppm_logo_heights(ppm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """(w, A) letter heights ``p_jk * IC_j`` in bits (module docstring); 0 log 0 = 0."""
    p = np.asarray(ppm, np.float64)
    if p.ndim != 2:
        raise ValueError("a PPM is (width, alphabet size)")
    safe = np.where(p > 0, p, 1.0)
    if background is None:
        ic = np.log2(p.shape[1]) + (p * np.log2(safe)).sum(axis=1)
    else:
        b = np.asarray(background, np.float64)
        if b.shape != (p.shape[1],) or np.any(b <= 0):
            raise ValueError(f"background must be {p.shape[1]} positive frequencies")
        ic = (p * np.log2(safe / (b / b.sum()))).sum(axis=1)
    return p * np.maximum(ic, 0.0)[:, None]


def _label(byte: int) -> str:
    """The character drawn for a byte: printable Latin-1 as itself, a space as an open box,
    anything else (control bytes, which XML cannot hold) as a middle dot."""
    if byte == 0x20:
        return "\u2423"
    if 0x20 < byte < 0x7F or byte >= 0xA1:
        return chr(byte)
    return "\u00b7"


def _colours(alphabet: bytes) -> list[str]:
    letters = alphabet.decode("latin-1").upper()
    table = DNA_COLOURS if set(letters) <= set("ACGTUN") else PROTEIN_COLOURS
    return [table.get(c, OTHER_COLOUR) for c in letters]


def _stacks(heights: np.ndarray) -> list[list[tuple[int, float, float]]]:
    """Per column, (letter, bottom, top) in data units: positives stacked up from 0 in
    ascending order, negatives down from 0 in ascending magnitude (tallest outermost)."""
    out = []
    for column in heights:
        boxes = []
        for sign in (1.0, -1.0):
            level = 0.0
            values = sign * column
            for k in np.argsort(values, kind="stable"):
                if values[k] <= 0:
                    continue
                nxt = level + sign * values[k]
                boxes.append((int(k), min(level, nxt), max(level, nxt)))
                level = nxt
        out.append(boxes)
    return out


def _check(heights: np.ndarray, alphabet: bytes) -> np.ndarray:
    h = np.asarray(heights, np.float64)
    if h.ndim != 2 or h.shape[1] != len(alphabet):
        raise ValueError(f"heights must be (width, {len(alphabet)}) for alphabet {alphabet!r}")
    return np.nan_to_num(h, nan=0.0, posinf=0.0, neginf=0.0)


def logo_svg(heights: np.ndarray, alphabet: bytes, title: str = "", width_per_col: int = 24,
             height: int = 120) -> str:
    """A logo of (w, A) ``heights`` as SVG text: one ``<text>`` glyph per letter, scaled by
    its transform to its box; the vertical scale fits the tallest stacks above and below the
    baseline, and the axis is labelled with that range."""
    h = _check(heights, alphabet)
    w = h.shape[0]
    left, top = 34, 18 if title else 6
    plot_h = max(height - top - 6, 10)
    up = float(np.clip(h, 0, None).sum(axis=1).max(initial=0.0))
    down = float(np.clip(-h, 0, None).sum(axis=1).max(initial=0.0))
    span = up + down if up + down > 0 else 1.0
    scale = plot_h / span  # pixels per unit
    baseline = top + up * scale
    total_w = left + w * width_per_col + 6
    colours = _colours(alphabet)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{height}" '
             f'viewBox="0 0 {total_w} {height}" font-family="{FONT}">']
    if title:
        parts.append(f'<text x="{left}" y="13" font-size="12">{escape(title)}</text>')
    for j, boxes in enumerate(_stacks(h)):
        cx = left + (j + 0.5) * width_per_col
        for k, bottom, upper in boxes:
            box_h = (upper - bottom) * scale
            if box_h < 0.05:
                continue
            y = baseline - bottom * scale  # the glyph's baseline sits on the box's bottom
            sx = 0.92 * width_per_col / (100 * LETTER_WIDTH)
            sy = box_h / (100 * CAP_HEIGHT)
            parts.append(f'<text font-size="100" font-weight="bold" text-anchor="middle" '
                         f'fill="{colours[k]}" transform="translate({cx:.2f},{y:.2f}) '
                         f'scale({sx:.4f},{sy:.4f})">{escape(_label(alphabet[k]))}</text>')
    axis_x = left - 4
    parts.append(f'<line x1="{axis_x}" y1="{top}" x2="{axis_x}" y2="{top + plot_h}" '
                 'stroke="#444" stroke-width="1"/>')
    parts.append(f'<line x1="{axis_x}" y1="{baseline:.2f}" x2="{total_w - 6}" '
                 f'y2="{baseline:.2f}" stroke="#444" stroke-width="0.5"/>')
    for value, y in ((up, top), (-down, top + plot_h)):
        if value != 0:
            parts.append(f'<text x="{axis_x - 2}" y="{y + 4:.2f}" font-size="9" '
                         f'text-anchor="end">{value:.2g}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_logo_png(path: str | Path, heights: np.ndarray, alphabet: bytes,
                   title: str = "") -> None:
    """A PNG logo of ``heights`` drawn with matplotlib's Agg canvas (no pyplot state), each
    letter a glyph path scaled to its box; written atomically. Without matplotlib (the
    ``motifs`` extra) a :class:`MissingExtra` error says how to install it."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.font_manager import FontProperties
        from matplotlib.patches import PathPatch
        from matplotlib.textpath import TextPath
        from matplotlib.transforms import Affine2D
    except ImportError:
        raise MissingExtra(PNG_MISSING, path=path) from None
    h = _check(heights, alphabet)
    w = h.shape[0]
    fig = Figure(figsize=(max(1.5, 0.3 * w + 0.6), 1.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    font = FontProperties(family="DejaVu Sans", weight="bold")
    colours = _colours(alphabet)
    for j, boxes in enumerate(_stacks(h)):
        for k, bottom, upper in boxes:
            glyph = TextPath((0, 0), _label(alphabet[k]), size=1, prop=font)
            ext = glyph.get_extents()
            if ext.width <= 0 or ext.height <= 0:
                continue
            fit = (Affine2D().translate(-ext.x0, -ext.y0)
                   .scale(0.92 / ext.width, (upper - bottom) / ext.height)
                   .translate(j + 0.04, bottom))
            ax.add_patch(PathPatch(fit.transform_path(glyph), facecolor=colours[k],
                                   edgecolor="none"))
    up = float(np.clip(h, 0, None).sum(axis=1).max(initial=0.0))
    down = float(np.clip(-h, 0, None).sum(axis=1).max(initial=0.0))
    ax.set_xlim(0, max(w, 1))
    ax.set_ylim(-down, up if up + down > 0 else 1.0)
    ax.axhline(0, color="#444", linewidth=0.5)
    ax.set_xticks(np.arange(w) + 0.5, [str(i + 1) for i in range(w)], fontsize=6)
    ax.tick_params(axis="y", labelsize=6)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
