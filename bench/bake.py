"""What baking costs and gains (issue 17): the fp32 model beside its int8 and ternary bakes.

Run: ``python bench/bake.py [--model fast|default|PATH] [--data ../shared/data]
[--qat-steps 200] [--blend-steps 200] [--speed-bytes 200000] [--speed-repeats 1] [--keep]
[--profile]``.

For each of fp32, int8 (post-training), ternary by post-training quantization (a diagnostic)
and ternary by quantization-aware fine-tuning (``--qat-steps`` steps of batch 8 on the first
90% of the HS11286 chromosome, the trained model as teacher), and int8 and fine-tuned ternary
again with the embedding (and the tied head) stored as int8 rows, one row:

* size: the quantized body (the layers a bake replaces: fp32 weights before, integers and
  scales after), the full-precision remainder, and the whole folder;
* resident memory and whole-process throughput of ``bytescope score`` over ``--speed-bytes``
  of the chromosome (a fresh process, no cache), and the ratio to fp32 in the same run;
* held-out bits per base on the last 10% of CP003200.1 (the project's held-out rule), the
  model conditioned on everything before, with and without the repeat expert;
* patch agreement with fp32: entropy-mode boundaries at the same target patch size (6) over
  the held-out tenth, F1 of boundaries within 1 bp.

``--profile`` prints torch.profiler's top operators for one scoring batch of each model.
"""

from __future__ import annotations

import argparse
import json
import lzma
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.bake.convert import bake_folder  # noqa: E402
from engine.bake.qat import qat_train_config  # noqa: E402
from engine.bake.report import bake_report, format_report, held_out_span, ratios  # noqa: E402
from engine.io import open_sequences  # noqa: E402
from engine.models import load_model  # noqa: E402
from engine.models.defaults import resolve_model_path  # noqa: E402
from engine.train import Trainer  # noqa: E402

CHROM = "CP003200.1"


def chromosome_fasta(data: Path, folder: Path) -> Path:
    """The HS11286 chromosome alone, as a plain FASTA in ``folder``."""
    out = folder / "hs11286_chromosome.fa"
    if not out.exists():
        text = lzma.open(data / "klebsiella_hs11286.fna.xz").read().decode()
        first = ">" + text.split(">")[1]
        out.write_text(first)
    return out


def profile(folder: Path, fasta: Path, label: str, rows: int = 8) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    model = load_model(folder)
    record = open_sequences(fasta)[CHROM]
    idx = torch.from_numpy(np.frombuffer(record.fetch(0, 8 * model.max_len), np.uint8)
                           .astype(np.int64).reshape(8, -1) % 4)
    with torch.inference_mode():
        model(idx)  # warm: caches, torch.ao's packing
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            model(idx)
    print(f"\n{label}: top operators over one batch of 8 x {model.max_len} tokens")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="fast")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bytescope-bake")
    p.add_argument("--qat-steps", type=int, default=200)
    p.add_argument("--qat-batch", type=int, default=8)
    p.add_argument("--blend-steps", type=int, default=200,
                   help="QAT: steps over which the ternary forward is blended in (200)")
    p.add_argument("--speed-bytes", type=int, default=200_000)
    p.add_argument("--speed-repeats", type=int, default=1,
                   help="time each model this many times, in turn, and keep the median")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--keep", action="store_true",
                   help="reuse the quantization-aware run of an earlier call in --dir")
    args = p.parse_args()
    if not (args.data / "klebsiella_hs11286.fna.xz").exists():
        sys.exit(f"no HS11286 genome in {args.data} (give --data ../shared/data)")
    args.dir.mkdir(parents=True, exist_ok=True)
    fasta = chromosome_fasta(args.data, args.dir)
    source = resolve_model_path(args.model)
    name = source.name
    folders = {"fp32": source}
    for label, to, options in (("int8", "int8", {}), ("ternary ptq", "ternary", {})):
        folders[label] = args.dir / f"{name}-{to}-ptq"
        bake_folder(source, folders[label], to, **options)
    qat_folder = args.dir / f"{name}-ternary-qat"
    if args.keep and (qat_folder / "bake.json").exists():
        folders["ternary qat"] = qat_folder
        print(f"QAT: reusing {qat_folder}")
    elif args.qat_steps:
        # fine-tune on the first 90% only: the chromosome's head as its own file
        record = open_sequences(fasta)[CHROM]
        head = args.dir / "hs11286_first90.fa"
        start, _ = held_out_span(record.length)
        head.write_bytes(b">head\n" + record.fetch(0, start) + b"\n")
        cfg = qat_train_config(source, [str(head)], steps=args.qat_steps,
                               qat={"to": "ternary", "blend_steps": args.blend_steps},
                               batch_size=args.qat_batch, held_out=0.05,
                               eval_every=max(1, args.qat_steps // 4),
                               checkpoint_every=args.qat_steps, log_every=10)
        run_dir = args.dir / f"{name}-qat-run"
        shutil.rmtree(run_dir, ignore_errors=True)
        t0 = time.perf_counter()
        summary = Trainer(cfg, run_dir).run()
        qat_seconds = time.perf_counter() - t0
        folders["ternary qat"] = qat_folder
        bake_folder(summary["best_checkpoint"] or summary["last_checkpoint"],
                    folders["ternary qat"], "ternary", method="qat", repeats_from=source)
        print(f"QAT: {args.qat_steps} steps of {args.qat_batch} x {cfg.seq_len} in "
              f"{qat_seconds:,.0f} s (run folder {run_dir})")
    # the embedding (and the tied head) as int8 rows too, beside each bake that keeps it fp32
    folders["int8 + int8 embedding"] = args.dir / f"{name}-int8-ptq-i8e"
    bake_folder(source, folders["int8 + int8 embedding"], "int8", embedding="int8")
    run_dir = args.dir / f"{name}-qat-run"
    if "ternary qat" in folders and run_dir.exists():
        folders["ternary qat + int8 embedding"] = args.dir / f"{name}-ternary-qat-i8e"
        bake_folder(resolve_model_path(run_dir), folders["ternary qat + int8 embedding"],
                    "ternary", method="qat", embedding="int8", repeats_from=source)

    print(f"bake figures; model {name}; held-out last 10% of {CHROM}; throughput over "
          f"{args.speed_bytes:,} bases, whole process, median of {args.speed_repeats}\n",
          flush=True)
    reports = bake_report(folders, fasta, CHROM, speed_bytes=args.speed_bytes,
                          speed_repeats=args.speed_repeats)
    print(format_report(reports))
    print("\nratios to fp32: " + "; ".join(
        f"{r['label']}: body {r['body_smaller']:.1f}x smaller, folder {r['folder_smaller']:.1f}x, "
        f"{r['speed']:.2f}x throughput, {r['bits_delta']:+.4f} bits/base, F1 {r['f1']:.3f}"
        for r in ratios(reports)))
    (args.dir / f"{name}-results.json").write_text(
        json.dumps([r.as_dict() for r in reports], indent=1))
    if args.profile:
        for label, folder in folders.items():
            profile(folder, fasta, label)


if __name__ == "__main__":
    main()
