"""``bytescope bake MODEL --to int8|ternary --out BAKED``: a trained model, quantized."""

from __future__ import annotations

import argparse
import json
import time

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
    p.add_argument("--method", default="ptq", choices=("ptq",),
                   help="ptq: quantize the trained weights as they are (default)")
    p.add_argument("--packing", default="2bit", choices=("2bit", "trits"),
                   help="ternary codes: 2bit (4 a byte, default) or trits (5 a byte, 1.6 bits)")
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
    started = time.perf_counter()
    baked = bake_folder(folder, out, args.to, method=args.method, packing=args.packing)
    seconds = time.perf_counter() - started
    before, after = folder_size(folder), folder_size(out, baked)
    report = {"model": str(folder), "out": str(out), **baked.bake, "seconds": seconds,
              "fp32": before.as_dict(), "baked": after.as_dict()}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    spec = baked.bake
    how = f"{args.to}" + (f", {spec['packing']} packing" if "packing" in spec else "")
    print(f"baked {folder.name} -> {out} ({how}, {args.method}, {len(spec['layers'])} layers, "
          f"kernel {spec['kernel']}) in {seconds:.2f} s")
    print(f"  quantized body  {before.body:>12,} B fp32 -> {after.body:>10,} B "
          f"({before.body / max(1, after.body):.1f}x smaller)")
    print(f"  fp32 remainder  {before.remainder:>12,} B")
    print(f"  whole folder    {before.folder:>12,} B      -> {after.folder:>10,} B "
          f"({before.folder / max(1, after.folder):.1f}x smaller)")
    if args.to == "ternary":
        print("  post-training ternary is a diagnostic: compare `bytescope score FILE --model "
              f"{out}` with the fp32 model's bits per byte")
    return 0
