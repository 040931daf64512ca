"""The patch-level model beside the byte-level one: validation bits/byte for the same data and
the same number of training bytes, and what each costs.

    python bench/latent.py [--data ../shared/data/klebsiella_hs11286.fna.xz] [--steps 300]
                           [--seq-len 1024] [--batch-size 8] [--threads 2]

Trains, with the project's Trainer and the same seed, data order and schedule:

* ``hyena``, preset ``tiny`` (the byte-level Hyena model);
* ``hyena-blt``, preset ``tiny``, dense (patches from the bundled ``fast`` entropy model, mean
  patch length 6, the default);
* ``hyena-blt``, preset ``tiny``, with 4 experts (top 2) and 4 memory experts.

Validation bits/byte is on the held-out last 10% of every record, the same windows for all
(the patch-level models read them with their patches). Tokens/s is the run's own figure over
its last half; the first run also pays for scoring the data once with the entropy model
(cached for the others and for later runs), which is reported apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "klebsiella_hs11286.fna.xz"
RUNS = (
    ("hyena (byte level)", "hyena", {}),
    ("hyena-blt, dense", "hyena-blt", {}),
    ("hyena-blt, 4 experts + 4 memories", "hyena-blt",
     {"n_experts": 4, "top_k": 2, "n_memories": 4, "segment_len": 16}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seq-len", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from engine.models import build_model, model_config
    from engine.patch_starts import EntropyPatches
    from engine.train import TrainConfig, Trainer, read_metrics

    data = args.data if args.data.exists() else REPO / "resources" / "samples" / "lambda_phage.fa"
    t0 = time.perf_counter()
    from engine.io import open_sequences

    patches = EntropyPatches("fast", {"mode": "entropy", "target_patch_size": 6.0})
    with open_sequences(data) as sf:
        for record in sf:
            patches(data, record)  # scores and caches every record once
    patch_seconds = time.perf_counter() - t0

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, arch, extra in RUNS:
            cfg = TrainConfig(files=[str(data)], arch=arch, preset="tiny", model=extra,
                              steps=args.steps, seq_len=args.seq_len,
                              batch_size=args.batch_size, warmup_steps=max(1, args.steps // 10),
                              eval_every=args.steps, eval_batches=16,
                              checkpoint_every=args.steps, threads=args.threads, seed=0)
            run = Path(tmp) / arch / str(len(rows))
            summary = Trainer(cfg, run).run()
            steps = read_metrics(run / "metrics.h5")["step"]
            half = len(steps["step"]) // 2
            tps = float(np.median(steps["tokens_per_s"][half:]))
            params = sum(p.numel() for p in build_model(
                model_config(arch, "tiny", max_len=args.seq_len, **extra)).parameters())
            rows.append((label, params, summary["best_val_bits_per_byte"], tps,
                         summary["seconds"]))

    base = rows[0]
    print(f"# {args.steps} steps of {args.batch_size} x {args.seq_len} bytes on {data.name}, "
          f"{args.threads} threads; entropy-model patches computed once in {patch_seconds:.1f} s")
    print(f"{'model':<36} {'parameters':>10} {'val bits/byte':>13} {'tokens/s':>9} "
          f"{'time':>7} {'bits vs byte':>12}")
    for label, params, val, tps, seconds in rows:
        print(f"{label:<36} {params:>10,} {val:>13.4f} {tps:>9,.0f} {seconds:>6.0f}s "
              f"{val - base[2]:>+12.4f}")


if __name__ == "__main__":
    main()
