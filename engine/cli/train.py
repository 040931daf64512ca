"""``bytescope train FILE... --out RUN_DIR``: train a byte model; ``--resume RUN_DIR`` goes on."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli.arguments import (
    count,
    json_argument,
    nonnegative_float,
    positive_float,
    positive_int,
)
from engine.errors import InputError

if TYPE_CHECKING:  # torch loads when a run starts, not when the CLI starts (``info`` is quick)
    from engine.train import TrainConfig, TrainEvent


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a byte model (Hyena, attention, or the patch-level hyena-blt) on files",
        description="Train on the first 90% of every record, evaluate on the last 10%. "
        "Runs under torchrun too: torchrun --nproc_per_node=N -m engine.train FILE... --out DIR",
    )
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--out", type=Path, help="run folder (created)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue a stopped run from its latest checkpoint (one that ended "
                   "before its first checkpoint starts again from step 0)")
    p.add_argument("--restart", action="store_true",
                   help="with --out: delete the run already in that folder (its checkpoints, "
                   "metrics and config; run.log keeps its history) and start this one")
    p.add_argument("--weights", type=nonnegative_float, nargs="+", help="mixture weight per FILE")
    # checked by engine.models.model_config when the run starts (one list, in the engine)
    p.add_argument("--arch", metavar="{attention,hyena,hyena-blt}", default=None)
    p.add_argument("--preset", metavar="{tiny,small,base}", default=None)
    p.add_argument("--steps", type=positive_int)
    p.add_argument("--seq-len", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float)
    p.add_argument("--warmup-steps", type=count,
                   help="linear lr warm-up (default: a tenth of --steps, at most 100)")
    p.add_argument("--eval-every", type=positive_int)
    p.add_argument("--checkpoint-every", type=positive_int)
    p.add_argument("--log-every", type=positive_int, help="steps between metric rows (default 10)")
    p.add_argument("--seqlen-warmup", action="store_true", help="HyenaDNA length doubling")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--threads", type=positive_int,
                   help="torch threads (default: the cores other processes leave free)")
    p.add_argument("--seed", type=count)
    p.add_argument("--model-config", type=json_argument, metavar="JSON",
                   help='model field overrides, e.g. \'{"d_model": 192, "n_layers": 4}\'')
    p.add_argument("--init", metavar="MODEL", dest="init_from",
                   help="fine-tune: start from these weights (a model, checkpoint or run "
                   "folder, or a bundled name such as nucleotide) instead of a fresh model")
    p.add_argument("--patch-model", metavar="MODEL",
                   help="hyena-blt: the entropy model its patches come from (default: fast)")
    p.add_argument("--patching", type=json_argument, metavar="JSON",
                   help='hyena-blt: the entropy patcher, e.g. \'{"mode": "entropy", '
                   '"target_patch_size": 6}\' (the default)')
    task = p.add_argument_group("task heads (fine-tuning on labels)")
    task.add_argument("--task", choices=("per-base", "sequence"),
                      help="train a classification head instead of a language model: a class "
                      "per base, or one per sequence; with --init the backbone is that model")
    task.add_argument("--labels", metavar="FILE",
                      help="per-base: an annotation file (GFF3, GTF, BED whose names are the "
                      "classes; default: the FILEs' own annotations); Hyena-GLT records: "
                      ".jsonl or .tsv with sequence and labels")
    task.add_argument("--types", metavar="T1,T2",
                      help="per-base classes from these feature types (default CDS,tRNA,rRNA; "
                      "the rest is intergenic)")
    task.add_argument("--strand", action="store_true", help="a class per type and strand")
    task.add_argument("--phase", action="store_true",
                      help="CDS bases by codon position along their strand (CDS+0, CDS+1...)")
    task.add_argument("--freeze-backbone", action="store_true", help="train the head alone")
    task.add_argument("--class-weights", choices=("balanced", "none"),
                      help="balanced (default): each class weighs as much in the loss")
    p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    p.set_defaults(run=run)


_FLAGS = ("arch", "preset", "steps", "seq_len", "batch_size", "lr", "warmup_steps",
          "eval_every", "checkpoint_every", "log_every", "device", "threads", "seed")


def build_config(args: argparse.Namespace) -> tuple[TrainConfig, Path, bool]:
    from engine.train import TrainConfig
    from engine.train.runs import occupied

    if args.resume and args.restart:
        raise InputError("--restart goes with FILE... --out RUN_DIR (a new run in place of the "
                         "old); --resume goes on with the run's own config")
    if args.resume:
        config_path = args.resume / "config.json"
        if not config_path.exists():
            raise InputError("not a run folder (no config.json)", path=args.resume)
        cfg = TrainConfig.from_json(config_path)
        if args.steps:
            cfg.steps = args.steps
        for name in ("device", "threads"):
            if getattr(args, name) is not None:
                setattr(cfg, name, getattr(args, name))
        return cfg, args.resume, True
    if args.task and args.labels and not args.files and \
            Path(args.labels).suffix.lower() in (".jsonl", ".tsv"):
        args.files = [args.labels]  # labelled records carry their own sequences
    if not args.files or args.out is None:
        raise InputError("give training FILEs and --out RUN_DIR (or --resume RUN_DIR)")
    if (args.out / "config.json").exists() and not args.restart:
        raise InputError(occupied(args.out), path=args.out)  # before any data is read
    cfg = TrainConfig(files=[str(Path(f).resolve()) for f in args.files],
                      weights=args.weights or [])
    for name in _FLAGS:
        value = getattr(args, name)
        if value is not None:
            setattr(cfg, name, value)
    if args.seqlen_warmup:
        cfg.seqlen_warmup = True
    if args.init_from:
        cfg.init_from = str(args.init_from)
    if args.patch_model:
        cfg.patch_model = args.patch_model
    if args.patching:
        cfg.patching = args.patching
    cfg.model = args.model_config or {}
    if args.task:
        _task_settings(args, cfg)
    elif args.labels or args.freeze_backbone or args.types:
        raise InputError("--labels, --types and --freeze-backbone go with --task")
    cfg.eval_every = min(cfg.eval_every, cfg.steps)
    cfg.checkpoint_every = min(cfg.checkpoint_every, cfg.steps)
    return cfg, args.out, False


def _task_settings(args: argparse.Namespace, cfg) -> None:
    """A task run: its TaskConfig, and the backbone's shape from --init (so a bundled model
    fine-tunes as it is, without repeating its config)."""
    from engine.models.defaults import resolve_model_path
    from engine.train.config import model_of

    task = {"task": args.task, "labels": str(Path(args.labels).resolve()) if args.labels else "",
            "strand": args.strand, "phase": args.phase, "freeze_backbone": args.freeze_backbone}
    if args.types:
        task["types"] = [t.strip() for t in args.types.split(",") if t.strip()]
    if args.class_weights:
        task["class_weights"] = args.class_weights
    cfg.task = task
    if args.init_from:
        folder = resolve_model_path(args.init_from)
        cfg.init_from = str(folder)
        arch, model, max_len = model_of(folder)
        if args.arch is None:
            cfg.arch = arch
        cfg.model = {**model, **(args.model_config or {})}
        if args.seq_len is None:
            cfg.seq_len = max_len


class ProgressLine:
    """A one-line progress bar on stderr (a line per evaluation when not a terminal)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.tty = sys.stderr.isatty()
        self.last_val = math.nan
        self.task = False
        self.last_row: dict = {"loss": math.nan, "tokens_per_s": math.nan}
        self.t0 = time.perf_counter()

    def __call__(self, event: TrainEvent) -> None:
        if event.kind == "eval":
            m = event.metrics
            self.task = "macro_f1" in m  # a task head: its loss and macro F1, not bits
            self.last_val = m["macro_f1"] if self.task else m["val_bits_per_byte"]
            if not self.tty:
                shown = (f"val loss {m['val_loss']:.4f}, macro F1 {m['macro_f1']:.4f}, "
                         f"MCC {m['mcc']:.4f}" if self.task else
                         f"val {self.last_val:.4f} bits/byte")
                print(f"step {event.step}/{self.total}  {shown}", file=sys.stderr, flush=True)
        elif event.kind == "log" and event.metrics.get("level") == "warning":
            print(f"note: {event.message}", file=sys.stderr, flush=True)  # before any step
        elif event.kind == "step" and self.tty:
            self.last_row = event.metrics
            self.draw(event.step)
        elif event.kind in ("finished", "failed") and self.tty:
            # rows come every --log-every steps: redraw at the step the run really ended on
            self.draw(event.step, final=True)
            print(file=sys.stderr)

    def draw(self, step: int, final: bool = False) -> None:
        m = self.last_row
        done = step / self.total
        bar = "#" * int(30 * done)
        elapsed = time.perf_counter() - self.t0
        eta = "" if final else f"ETA {elapsed / max(done, 1e-9) * (1 - done):,.0f}s "
        print(f"\r[{bar:<30}] {step}/{self.total} loss {m['loss']:.3f} "
              f"val {self.last_val:.3f} {'F1' if self.task else 'b/B'} "
              f"{m['tokens_per_s']:,.0f} tok/s {eta}",
              end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from engine.threads import set_threads
    from engine.train import Trainer
    from engine.train.trainer import describe_outcome

    cfg, run_dir, resume = build_config(args)
    if not cfg.threads:  # else the Trainer sets the run's own count
        set_threads()
    trainer = Trainer(cfg, run_dir, resume=resume, restart=args.restart)
    trainer.subscribe(ProgressLine(cfg.steps))

    def on_interrupt(signum, frame):  # first Ctrl-C: stop at the end of the step, checkpoint
        print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        trainer.request_stop()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        summary = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if trainer.rank != 0:
        return 0
    if args.json:
        print(json.dumps(summary))
    else:
        if summary["stopped"]:
            print(f"resume with: bytescope train --resume {run_dir}", file=sys.stderr)
        state = "stopped" if summary["stopped"] else "finished"
        print(f"{state} at step {summary['step']}/{summary['steps']} in "
              f"{summary['seconds']:.1f}s, {summary['parameters']:,} parameters: "
              f"{describe_outcome(summary, run_dir)} (in {run_dir})")
    return 0
