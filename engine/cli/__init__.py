"""The ``bytescope`` command line: one module per subcommand, each with ``add_parser`` and ``run``.

User-facing failures (:class:`engine.errors.BytescopeError`) become one line on stderr and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine import __version__
from engine.errors import BytescopeError

from . import (
    attribute,
    bake,
    compare,
    gui,
    info,
    inspect,
    motifs,
    patch,
    predict,
    repeats,
    score,
    train,
)
from .display import screen_problem

# Subcommands in the order ``--help`` lists them.
COMMANDS = (info, score, patch, compare, train, predict, repeats, bake, inspect, attribute,
            motifs, gui)


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line, naming the flag, exit code 2 (the usage block
    argparse prints would bury the one line that matters); subcommands inherit it."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="bytescope",
        description="A workbench for byte- and nucleotide-level sequence models: next-byte "
        "entropy, dynamic patching, and what the models look at.",
    )
    parser.add_argument("--version", action="version", version=f"bytescope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would blame the top-level command for a subcommand's unknown flag
        prog = f"bytescope {args.command}" if args.command else "bytescope"
        print(f"{prog}: error: unrecognized arguments: {' '.join(extra)} (see {prog} --help)",
              file=sys.stderr)
        return 2
    if args.command is None:
        # Plain ``bytescope`` opens the window on the bundled samples when there is a screen to
        # show it on; headless (ssh, CI, offscreen) it describes the sample instead.
        problem = screen_problem()
        if problem is None:
            args = parser.parse_args(["gui"])
            args.screen_checked = True  # gui.run need not ask again
        else:
            print(f"bytescope: no window: {problem}; describing the bundled sample instead "
                  "(bytescope gui --screenshot OUT.png renders the window offscreen)",
                  file=sys.stderr)
            args = parser.parse_args(["info"])
    try:
        return int(args.run(args) or 0)
    except BytescopeError as error:
        print(f"bytescope {args.command or 'info'}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bytescope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # ``bytescope info ... | head`` closes the pipe early: not an error worth a traceback.
        return 0


def module_main(command: str) -> None:
    """``python -m engine.<command>`` (what torchrun starts): ``bytescope <command>`` with this
    process's arguments. Under torchrun, torch's c10d threads can still be joinable when C++
    static destructors run, and abort a finished run at exit ("terminate called without an
    active exception", SIGABRT, so torchrun reports failure). By then the command has closed
    its files and destroyed the process group: flush and leave without those destructors."""
    import os

    code = main([command, *sys.argv[1:]])
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
