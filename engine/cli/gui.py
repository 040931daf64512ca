"""``bytescope gui FILE...``: the workbench window; ``--screenshot OUT.png`` renders it offscreen.

The engine never imports Qt: the ``gui`` package is loaded by name here, only when this command
runs, so ``engine`` installs and runs headless.
"""

from __future__ import annotations

import argparse
import importlib
import os

from engine.atomic import check_writable
from engine.cli.arguments import positive_float
from engine.errors import InputError
from engine.io.entropy_files import entropy_metavar

from .display import screen_problem


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gui",
        help="open the workbench window (sequences, entropy, patches, annotations)",
        description="Open files in the workbench window. With no FILE, the bundled samples. "
        "--screenshot renders the window offscreen at --locus, saves a PNG and exits.",
    )
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="sequences (FASTA, FASTQ, GFF3 with ##FASTA, GenBank, EMBL, bytes)")
    p.add_argument("--annotations", action="append", default=[], metavar="GFF|BED|GBK",
                   help="annotation file shown as a track (repeatable)")
    p.add_argument("--locus", metavar="REC:START-END",
                   help="where to look: record:start-end as IGV and samtools write it (1-based, "
                   "inclusive: chr1:101-200 is BED's chr1 100 200), record:pos (± 20 bases), a "
                   "record, or a feature name")
    p.add_argument("--model", metavar="default|fast|PATH",
                   help="entropy model: 'default' (bundled, by alphabet; the default, or the "
                   "session's), 'fast' (a 0.11 M-parameter nucleotide model, 5x faster: for "
                   "whole genomes), a model, checkpoint or run folder")
    p.add_argument("--entropies", metavar=entropy_metavar("X"),
                   help="precomputed entropies for the first record shown (instead of a model)")
    p.add_argument("--no-repeats", action="store_true",
                   help="leave out the model's repeat expert (the network's entropies alone)")
    p.add_argument("--session", metavar="SESSION.json",
                   help="open a saved session (instead of FILE; --locus, --model, "
                   "--annotations, --entropies and --no-repeats then apply on top of it)")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="render offscreen, save the window as PNG, exit")
    p.add_argument("--whole", action="store_true",
                   help="--screenshot waits for the whole record's scores and the comparison "
                   "with annotations (by default only for the view)")
    p.add_argument("--size", default="1600x1000", metavar="WxH",
                   help="window size for --screenshot (default 1600x1000)")
    p.add_argument("--timeout", type=positive_float, default=300.0, metavar="SECONDS",
                   help="--screenshot waits at most this long for the view's scores "
                   "(default 300; --whole on a large genome: --model fast, or raise this)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.screenshot and not args.screenshot.lower().endswith(".png"):
        raise InputError(f"--screenshot {args.screenshot!r}: the name must end in .png")
    if args.screenshot:
        check_writable(args.screenshot, "--screenshot")  # before the window and its scores
    if args.session and args.files:
        raise InputError(f"give FILE or --session, not both ({args.files[0]!r} with --session "
                         f"{args.session!r}); open more files into a session with File ▸ Open")
    if args.session:
        # A bad session is its error at once, before a screen, Qt or a window is needed (the
        # window reads the file again, as from its menu). The view model is Qt-free.
        importlib.import_module("gui.model.session").SessionState.load(args.session)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    elif not getattr(args, "screen_checked", False):
        problem = screen_problem()
        if problem is not None:
            raise InputError(f"cannot open a window: {problem}; --screenshot OUT.png renders "
                             "the window offscreen")
    try:
        app = importlib.import_module("gui.app")
    except ImportError as error:
        raise InputError(f"the window needs PySide6 and pyqtgraph ({error}); install them "
                         "with: pip install PySide6-Essentials pyqtgraph") from None
    return int(app.run(args))
