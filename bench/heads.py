"""Gene finding with a per-base head (issue 18) beside pyrodigal (Prodigal, meta mode).

Run: ``python bench/heads.py [--minutes 30] [--model default] [--data ../shared/data]
[--batch-size 8] [--eval-minutes 5] [--freeze-backbone]``.

Per-base CDS labels (CDS against everything else) come from
``prokka_annotated.gff3.gz`` (226 contigs, 4.9 Mbp, 4,611 CDS). The head is fine-tuned from
the bundled nucleotide model on the first 90% of every contig for at most ``--minutes`` of
CPU time (the Trainer, both strands), then both are scored on the same bases, the last 10%
of every contig: the head reads each whole contig (its training bases are input there, never
labels) and pyrodigal (meta mode: its bundled models, no training) calls genes on each whole
contig; a base is CDS when a call covers it. Printed: per-base CDS F1 and MCC of each, and
the head's validation F1 (its evaluation windows, a subset of the held-out bases) against
training time, with the ratio to pyrodigal's F1 measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.analysis.predict import predict_bases  # noqa: E402
from engine.io import open_sequences  # noqa: E402
from engine.io.labels import LabelScheme, per_base_labels  # noqa: E402
from engine.models.defaults import resolve_model_path  # noqa: E402
from engine.models.heads import load_task_model  # noqa: E402
from engine.train import TrainConfig, Trainer, read_metrics  # noqa: E402
from engine.train.config import model_of  # noqa: E402
from engine.train.task_metrics import confusion, mcc, per_class_f1  # noqa: E402

SCHEME = LabelScheme(types=("CDS",))


def f1_mcc(truth: np.ndarray, called: np.ndarray) -> tuple[float, float]:
    """Per-base CDS F1 and MCC of boolean calls."""
    c = confusion(truth.astype(int), called.astype(int), 2)
    return float(per_class_f1(c)[1]), mcc(c)


def pyrodigal_calls(records) -> dict[str, np.ndarray]:
    import pyrodigal

    finder = pyrodigal.GeneFinder(meta=True)
    out = {}
    for record in records:
        covered = np.zeros(record.length, bool)
        for gene in finder.find_genes(record.fetch(0, record.length)):
            covered[gene.begin - 1 : gene.end] = True  # 1-based inclusive
        out[record.id] = covered
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--model", default="default")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=0, help="windows (default: the model's)")
    p.add_argument("--eval-minutes", type=float, default=5.0)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--freeze-backbone", action="store_true")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bytescope-heads")
    args = p.parse_args()
    gff = args.data / "prokka_annotated.gff3.gz"
    if not gff.exists():
        sys.exit(f"no {gff.name} in {args.data} (give --data ../shared/data)")
    args.dir.mkdir(parents=True, exist_ok=True)
    sequences = open_sequences(gff)  # open to the end: records read through its map
    records = list(sequences)
    cuts = {r.id: round(r.length * 0.9) for r in records}
    truth = {r.id: per_base_labels(r.length, r.features, SCHEME) == 1 for r in records}
    held = sum(r.length - cuts[r.id] for r in records)

    t0 = time.perf_counter()
    called = pyrodigal_calls(records)
    prodigal_s = time.perf_counter() - t0
    held_truth = np.concatenate([truth[r.id][cuts[r.id]:] for r in records])
    held_prodigal = np.concatenate([called[r.id][cuts[r.id]:] for r in records])
    base_f1, base_mcc = f1_mcc(held_truth, held_prodigal)
    print(f"pyrodigal (meta) on {len(records)} contigs: {prodigal_s:.1f} s; held-out "
          f"{held:,} bases, CDS F1 {base_f1:.4f}, MCC {base_mcc:.4f}", flush=True)

    source = resolve_model_path(args.model)
    arch, model, max_len = model_of(source)
    seq_len = args.seq_len or max_len
    budget = args.minutes * 60
    cfg = TrainConfig(files=[str(gff)], arch=arch, model=model, seq_len=max_len,
                      batch_size=args.batch_size, lr=args.lr, init_from=str(source),
                      steps=1_000_000, eval_every=10**9, checkpoint_every=10**9, log_every=10,
                      eval_batches=16, warmup_steps=50,
                      task={"task": "per-base", "types": ["CDS"],
                            "freeze_backbone": args.freeze_backbone})
    if seq_len != max_len:
        cfg.seq_len = seq_len
    run_dir = args.dir / f"{source.name}-cds-run"
    trainer = Trainer(cfg, run_dir, restart=True)
    started = time.perf_counter()
    last_eval = [started]

    def clock(event) -> None:  # evaluate every --eval-minutes, stop at the budget
        if event.kind == "eval":  # done: no more until the next --eval-minutes
            trainer.config.eval_every = 10**9
            return
        if event.kind != "step":
            return
        now = time.perf_counter()
        if now - started >= budget:
            trainer.request_stop()
        elif now - last_eval[0] >= args.eval_minutes * 60:
            last_eval[0] = now
            trainer.config.eval_every = trainer.step + 1  # the next step evaluates

    trainer.subscribe(clock)
    summary = trainer.run()
    trained_s = time.perf_counter() - started
    weights = summary["last_checkpoint"]
    print(f"head: {summary['step']:,} steps of {args.batch_size} x {cfg.seq_len} in "
          f"{trained_s / 60:.1f} min ({run_dir})", flush=True)

    head = load_task_model(weights)
    t0 = time.perf_counter()
    held_head = np.concatenate([
        predict_bases(head, r)[cuts[r.id]:].argmax(1) == head.config.classes.index("CDS")
        for r in records])
    predict_s = time.perf_counter() - t0
    f1, m = f1_mcc(held_truth, held_head)
    print("\n| what | held-out bases | CDS F1 | MCC | time | F1 vs pyrodigal |")
    print("|---|---|---|---|---|---|")
    print(f"| pyrodigal meta | {held:,} | {base_f1:.4f} | {base_mcc:.4f} | {prodigal_s:.0f} s "
          "(whole contigs) | 1.00 |")
    print(f"| head on {source.name}, {summary['step']:,} steps | {held:,} | {f1:.4f} | {m:.4f} "
          f"| train {trained_s / 60:.1f} min, predict {predict_s:.0f} s | "
          f"{f1 / base_f1:.2f} (gap {base_f1 - f1:+.4f}) |")
    evals = read_metrics(run_dir / "metrics.h5")["eval"]
    print("\nvalidation windows (a subset of the held-out bases) against training time:")
    print("| minutes | step | CDS F1 | MCC | val loss |")
    print("|---|---|---|---|---|")
    for row in zip(evals["time"], evals["step"], evals["f1_CDS"], evals["mcc"],
                   evals["val_loss"], strict=True):
        t, step, f, mm, loss = (float(v) for v in row)
        print(f"| {t / 60:.1f} | {int(step):,} | {f:.4f} | {mm:.4f} | {loss:.4f} |")


if __name__ == "__main__":
    main()
