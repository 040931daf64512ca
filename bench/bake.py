"""What baking costs and gains (issue 17): the fp32 model beside its int8 and ternary bakes.

Run: ``python bench/bake.py [--model fast|default|PATH] [--data ../shared/data]
[--qat-steps 200] [--tail 533395] [--speed-bytes 200000] [--profile]``.

For each of fp32, int8 (post-training), ternary by post-training quantization (a diagnostic)
and ternary by quantization-aware fine-tuning (``--qat-steps`` steps of batch 8 on the first
90% of the HS11286 chromosome, the trained model as teacher), one row:

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
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.bake.convert import bake_folder, folder_size  # noqa: E402
from engine.bake.qat import qat_train_config  # noqa: E402
from engine.io import open_sequences  # noqa: E402
from engine.models import load_model  # noqa: E402
from engine.models.defaults import resolve_model_path  # noqa: E402
from engine.patching import PatchConfig, Patcher  # noqa: E402
from engine.scoring import score  # noqa: E402
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


def boundary_f1(a: np.ndarray, b: np.ndarray, within: int = 1) -> float:
    """F1 of patch starts ``b`` against ``a``: a start counts when one of the other's lies
    within ``within`` bases (both sorted)."""
    if not len(a) or not len(b):
        return 0.0

    def hits(x: np.ndarray, y: np.ndarray) -> float:
        i = np.clip(np.searchsorted(y, x), 1, len(y) - 1)
        near = np.minimum(np.abs(y[i] - x), np.abs(y[i - 1] - x))
        return float((near <= within).mean())

    precision, recall = hits(b, a), hits(a, b)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def timed_score(fasta: Path, folder: Path, n: int) -> tuple[float, float, float]:
    """(bytes/s, peak RSS MB, seconds) of a fresh ``bytescope score`` process over ``n`` bases."""
    argv = [sys.executable, "-m", "engine", "score", str(fasta), "--record", CHROM,
            "--region", f"0-{n}", "--model", str(folder), "--no-cache", "--json"]
    gnu_time = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        t0 = time.perf_counter()
        subprocess.run([gnu_time, "-v", "-o", report.name, *argv], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        rss = next((int(line.split()[-1]) / 1024 for line in report.read().splitlines()
                    if "Maximum resident" in line), math.nan)
    return n / seconds, rss, seconds


def held_out(folder: Path, fasta: Path, tail: int) -> tuple[float, float | None, np.ndarray]:
    """Bits per base on the last ``tail`` bases with and without the repeat expert (None when
    the model has none), and the network-alone entropies there (for the patches)."""
    record = open_sequences(fasta)[CHROM]
    model = load_model(folder)
    start = record.length - tail
    alone = score(model, record, start, record.length, repeats=False)
    expert = score(model, record, start, record.length, repeats=True).bits_per_byte \
        if model.repeats is not None else None
    return alone.bits_per_byte, expert, alone.entropy


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
    p.add_argument("--tail", type=int, default=533_395, help="held-out bases (the last 10%%)")
    p.add_argument("--speed-bytes", type=int, default=200_000)
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
        head.write_bytes(b">head\n" + record.fetch(0, record.length - args.tail) + b"\n")
        cfg = qat_train_config(source, [str(head)], steps=args.qat_steps,
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

    print(f"bake figures; model {name}; held-out tail {args.tail:,} bases of {CHROM}; "
          f"throughput over {args.speed_bytes:,} bases, whole process\n")
    print("| model | body | fp32 remainder | folder | RSS scoring | throughput | vs fp32 "
          "| bits/base, network | with expert | boundary F1 vs fp32 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    base_rate, base_starts, results = None, None, {}
    config = PatchConfig(mode="entropy", target_patch_size=6.0)
    for label, folder in folders.items():
        size = folder_size(folder)
        rate, rss, _ = timed_score(fasta, folder, args.speed_bytes)
        alone, expert, entropy = held_out(folder, fasta, args.tail)
        starts = Patcher(config).patch(entropy).starts
        if base_rate is None:
            base_rate, base_starts = rate, starts
        f1 = boundary_f1(base_starts, starts)
        results[label] = {"size": size.as_dict(), "rss_mb": rss, "bytes_per_s": rate,
                          "bits_per_base": alone, "bits_per_base_expert": expert, "f1": f1}
        shown = "" if expert is None else f"{expert:.4f}"
        print(f"| {label} | {size.body:,} B | {size.remainder:,} B | {size.folder:,} B "
              f"| {rss:,.0f} MB | {rate / 1e3:,.1f} kB/s | {rate / base_rate:.2f}x "
              f"| {alone:.4f} | {shown} | {f1:.3f} |")
    fp32 = results["fp32"]
    print("\nratios to fp32: " + "; ".join(
        f"{label}: body {fp32['size']['body_bytes'] / r['size']['body_bytes']:.1f}x smaller, "
        f"folder {fp32['size']['folder_bytes'] / r['size']['folder_bytes']:.1f}x, "
        f"{r['bits_per_base'] - fp32['bits_per_base']:+.4f} bits/base"
        for label, r in results.items() if label != "fp32"))
    (args.dir / f"{name}-results.json").write_text(json.dumps(results, indent=1))
    if args.profile:
        for label, folder in folders.items():
            profile(folder, fasta, label)


if __name__ == "__main__":
    main()
