"""Training throughput and peak memory: Hyena vs sliding-window attention at 1k, 4k and 16k.

Run: ``python bench/train.py [--preset tiny] [--tokens 16384] [--steps 3]``.

Each (architecture, length) runs in a fresh process so its peak RSS is its own: a batch of
``tokens`` tokens (batch = tokens / L), one warm-up step, then ``steps`` timed AdamW steps.
Hyena's cost per token should grow about as log L (FFT convolution); the attention baseline's
stays flat in L (its window is fixed) but pays the window's constant.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, torch, torch.nn.functional as F
from engine.models import build_model, model_config
arch, preset, L, tokens, steps, window = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
torch.manual_seed(0)
extra = {"window": window} if arch == "attention" else {}
model = build_model(model_config(arch, preset, max_len=L, **extra))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
batch = max(1, tokens // L)
x = torch.randint(0, 256, (batch, L + 1))
def step():
    loss = F.cross_entropy(model(x[:, :-1]).reshape(-1, 259), x[:, 1:].reshape(-1))
    opt.zero_grad(); loss.backward(); opt.step()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = (time.perf_counter() - t0) / steps
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tokens_per_s": batch * L / dt, "peak_mb": peak / 1024,
                  "params": sum(p.numel() for p in model.parameters()), "batch": batch}))
"""


def run(arch: str, preset: str, length: int, tokens: int, steps: int, window: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, arch, preset, str(length), str(tokens), str(steps),
         str(window)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--tokens", type=int, default=16384, help="tokens per step")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--window", type=int, default=512, help="attention window")
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096, 16384])
    args = parser.parse_args()

    results = {}
    for length in args.lengths:
        for arch in ("hyena", "attention"):
            results[arch, length] = run(arch, args.preset, length, args.tokens, args.steps,
                                        args.window)
    first = args.lengths[0]
    print(f"preset {args.preset}, {args.tokens:,} tokens per step, attention window "
          f"{args.window}, mean of {args.steps} timed steps after one warm-up\n")
    print(f"{'arch':<10} {'L':>6} {'batch':>5} {'tokens/s':>10} {'peak MB':>8} "
          f"{'cost/token vs L=' + str(first):>20} {'L log L ratio':>14} {'hyena/attn speed':>17}")
    for length in args.lengths:
        for arch in ("hyena", "attention"):
            r = results[arch, length]
            cost = results[arch, first]["tokens_per_s"] / r["tokens_per_s"]
            nlogn = math.log(length) / math.log(first)
            speed = (results["hyena", length]["tokens_per_s"]
                     / results["attention", length]["tokens_per_s"])
            print(f"{arch:<10} {length:>6} {r['batch']:>5} {r['tokens_per_s']:>10,.0f} "
                  f"{r['peak_mb']:>8.0f} {cost:>20.2f} {nlogn:>14.2f} "
                  f"{speed if arch == 'hyena' else float('nan'):>17.2f}")
    print("\ncost/token vs L=first: (tokens/s at the first length) / (tokens/s at L); for an "
          "L log L operator with a fixed token budget this tracks log L / log L_first.")


if __name__ == "__main__":
    main()
