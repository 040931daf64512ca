"""``bytescope bake MODEL --to int8|ternary --out BAKED``: a trained model, quantized."""

from __future__ import annotations

import argparse
import json
import time

from engine.cli.arguments import positive_int
from engine.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bake",
        help="quantize a trained model to int8 or ternary (BitNet b1.58) and save it",
        description="Bake a model folder: its projection and MLP layers become int8 (weights "
        "with one scale per output channel, activations quantized per token) or ternary "
        "(weights in {-1, 0, +1} times one scale, int8 activations), stored packed in "
        "safetensors beside a bake.json. The embedding, norms and Hyena filters stay float32. "
        "The baked folder loads wherever a model is accepted (score, patch, gui, inspect, "
        "attribute). Ternary by post-training quantization (--method ptq) is a diagnostic: "
        "small models lose most of what they learned that way.",
    )
    p.add_argument("model", metavar="MODEL",
                   help="a model folder, or a bundled name (nucleotide, nucleotide-fast, ...)")
    p.add_argument("--to", required=True, choices=("int8", "ternary"), help="what to bake into")
    p.add_argument("--method", default="ptq", choices=("ptq", "qat"),
                   help="ptq: quantize the trained weights as they are (default); qat "
                   "(ternary): fine-tune toward ternary on --data first, the trained model "
                   "as teacher, then bake the run's best checkpoint")
    p.add_argument("--data", nargs="+", metavar="FILE", default=[],
                   help="qat: the sequence files to fine-tune on (their first 90%%)")
    p.add_argument("--steps", type=positive_int, default=2000, help="qat: steps (default 2000)")
    p.add_argument("--batch-size", type=positive_int, default=8,
                   help="qat: windows per step (default 8), each as long as the model's context")
    p.add_argument("--lr", type=float, default=1e-3, help="qat: peak learning rate (1e-3)")
    p.add_argument("--blend-steps", type=int, default=200, metavar="N",
                   help="qat: steps over which the quantized forward is blended in (200)")
    p.add_argument("--distill", type=float, default=0.5, metavar="A",
                   help="qat: weight of the teacher's distribution in the loss (0.5)")
    p.add_argument("--run-dir", metavar="RUN_DIR",
                   help="qat: the training run's folder (default: BAKED.run); its curves show "
                   "in the window's Training panel like any run")
    p.add_argument("--resume", action="store_true",
                   help="qat: go on from the run folder's latest checkpoint")
    p.add_argument("--packing", default="2bit", choices=("2bit", "trits"),
                   help="ternary codes: 2bit (4 a byte, default) or trits (5 a byte, 1.6 bits)")
    p.add_argument("--evaluate", metavar="FILE",
                   help="report the fp32 model beside the bake on FILE's longest record (or "
                   "--record): held-out bits per base on its last 10%%, with and without the "
                   "repeat expert, entropy-patch boundary F1 vs fp32, and whole-process "
                   "scoring throughput and peak memory")
    p.add_argument("--record", metavar="ID", help="--evaluate: the record to report on")
    p.add_argument("--speed-bytes", type=int, default=200_000, metavar="N",
                   help="--evaluate: bases scored to time each model (0: skip; 200000)")
    p.add_argument("--embedding", default="float32", choices=("float32", "int8"),
                   help="the byte embedding (which the output head shares): float32 "
                   "(default) or int8 rows with one scale each, dequantized at load")
    p.add_argument("--out", required=True, metavar="BAKED", help="the baked model folder")
    p.add_argument("--json", action="store_true", help="print what was baked as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.bake.convert import bake_folder, folder_size
    from engine.models.defaults import resolve_model_path

    folder = resolve_model_path(args.model)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", path=out)
    if args.evaluate and not Path(args.evaluate).is_file():
        raise InputError("no such file to --evaluate on", path=args.evaluate)
    started = time.perf_counter()
    source, run_note = folder, None
    if args.method == "qat":
        if args.to != "ternary":
            raise InputError("--method qat bakes ternary; int8 needs no fine-tuning (--method "
                             "ptq)")
        if not args.data:
            raise InputError("--method qat needs --data FILE... to fine-tune on")
        source, run_note = _fine_tune(args, folder, out)
    baked = bake_folder(source, out, args.to, method=args.method, packing=args.packing,
                        embedding=args.embedding, repeats_from=folder)
    seconds = time.perf_counter() - started
    before, after = folder_size(folder), folder_size(out, baked)
    report = {"model": str(folder), "out": str(out), **baked.bake, "seconds": seconds,
              "fp32": before.as_dict(), "baked": after.as_dict()}
    if run_note is not None:
        report["run"] = run_note
    rows = None
    if args.evaluate:
        from engine.bake.report import bake_report, ratios

        label = f"{args.to} {args.method}" + (" + int8 embedding" if args.embedding == "int8"
                                              else "")
        rows = bake_report({"fp32": folder, label: out}, args.evaluate,
                           args.record, speed_bytes=args.speed_bytes,
                           progress=None if args.json else _say)
        report["report"] = [row.as_dict() for row in rows]
        report["ratios"] = ratios(rows)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    spec = baked.bake
    how = f"{args.to}" + (f", {spec['packing']} packing" if "packing" in spec else "") + (
        ", int8 embedding" if spec.get("embeddings") else "")
    print(f"baked {folder.name} -> {out} ({how}, {args.method}, {len(spec['layers'])} layers, "
          f"kernel {spec['kernel']}) in {seconds:.2f} s")
    print(f"  quantized body  {before.body:>12,} B fp32 -> {after.body:>10,} B "
          f"({before.body / max(1, after.body):.1f}x smaller)")
    print(f"  fp32 remainder  {before.remainder:>12,} B")
    print(f"  whole folder    {before.folder:>12,} B      -> {after.folder:>10,} B "
          f"({before.folder / max(1, after.folder):.1f}x smaller)")
    if run_note is not None:
        print(f"  fine-tuned: {run_note['outcome']}; baked {run_note['checkpoint']}")
    elif args.to == "ternary":
        print("  post-training ternary is a diagnostic: compare `bytescope score FILE --model "
              f"{out}` with the fp32 model's bits per byte"
              + ("" if rows else " (or bake again with --evaluate FILE)"))
    if rows:
        from engine.bake.report import format_report

        print()
        print(format_report(rows))
    return 0


def _say(text: str) -> None:
    import sys

    print(f"  evaluating {text}...", file=sys.stderr)


def _fine_tune(args: argparse.Namespace, folder, out) -> tuple:
    """Run quantization-aware training (Ctrl-C: stop at the end of the step, checkpointed,
    resumable); returns the checkpoint to bake and a note on the run."""
    import signal
    import sys
    from pathlib import Path

    from engine.bake.qat import qat_train_config
    from engine.cli.train import ProgressLine
    from engine.threads import set_threads
    from engine.train import Trainer
    from engine.train.trainer import describe_outcome

    run_dir = Path(args.run_dir) if args.run_dir else out.with_name(out.name + ".run")
    config = qat_train_config(folder, args.data, steps=args.steps, batch_size=args.batch_size,
                              lr=args.lr, qat={"to": "ternary", "blend_steps": args.blend_steps,
                                               "distill": args.distill})
    set_threads()
    trainer = Trainer(config, run_dir, resume=args.resume)
    trainer.subscribe(ProgressLine(config.steps))

    def on_interrupt(signum, frame):
        print("\nstopping after this step (Ctrl-C again to abort)", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        trainer.request_stop()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        summary = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if summary["stopped"]:
        raise InputError(f"fine-tuning stopped at step {summary['step']}: go on with the same "
                         "command and --resume", path=run_dir)
    checkpoint = summary.get("best_checkpoint") or summary.get("last_checkpoint")
    if not checkpoint:
        raise InputError("the fine-tuning run wrote no checkpoint", path=run_dir)
    return Path(checkpoint), {"run_dir": str(run_dir), "checkpoint": str(checkpoint),
                              "outcome": describe_outcome(summary, run_dir),
                              "steps": summary["step"]}
