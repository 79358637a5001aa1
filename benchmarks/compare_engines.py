"""Compare the engine of two checkouts, interleaved sample by sample (1 torch thread each).

Usage::

    git worktree add /tmp/before HEAD~3
    python benchmarks/compare_engines.py /tmp/before . [--samples 24] [--rounds 3] [--preset paper]

On a shared machine whose speed drifts by ±20 % from minute to minute (up to 1.7× within an
hour), timing one engine and then the other compares the minutes, not the engines. Here two
worker processes (one per checkout, each importing ``fdif_core`` from its checkout) render the
same samples in turn, alternating which goes first; each sample's fastest of ``--rounds`` runs
counts. The ratio is reproducible to about ±2 % in a steady window and ±4 % across windows
(three paper runs of 32 samples × 3 rounds gave ×0.88, ×0.93 and ×0.93 for the same pair of
engines).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

WORKER = r"""
import sys, time
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
from fdif_core.compose import Composer
from fdif_core.presets import load_preset
composer = Composer(load_preset(sys.argv[2]))
composer.sample(0, 10_000)  # warm-up: displacement fields, allocator
print(sys.modules["fdif_core"].__file__, flush=True)
for line in sys.stdin:
    start = time.process_time()
    composer.sample(0, int(line))
    print(time.process_time() - start, flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="checkout of the reference engine")
    parser.add_argument("after", type=Path, help="checkout of the engine to compare")
    parser.add_argument("--samples", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preset", default="paper")
    args = parser.parse_args()
    workers = []
    for checkout in (args.before, args.after):
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(checkout.resolve()), args.preset],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=checkout.resolve())
        imported = Path(worker.stdout.readline().strip())
        if checkout.resolve() not in imported.parents:
            sys.exit(f"{checkout}: the worker imported fdif_core from {imported}")
        workers.append(worker)
    fastest = [[float("inf")] * args.samples for _ in workers]
    for rnd in range(args.rounds):
        for i in range(args.samples):
            order = (0, 1) if (i + rnd) % 2 == 0 else (1, 0)
            for k in order:
                workers[k].stdin.write(f"{i}\n")
                workers[k].stdin.flush()
                fastest[k][i] = min(fastest[k][i], float(workers[k].stdout.readline()))
    for worker in workers:
        worker.stdin.close()
        worker.wait()
    before, after = (sum(times) / args.samples for times in fastest)
    print(f"preset={args.preset} samples={args.samples} rounds={args.rounds}: "
          f"before {before:.3f} CPU-s/sample, after {after:.3f} CPU-s/sample, "
          f"after/before {after / before:.3f}")


if __name__ == "__main__":
    main()
