"""Work per sample of batched rendering, counted on any device (a GPU's cost, measured on a CPU).

On a GPU, :class:`fdif_core.batch.BatchRenderer` is bound by the host's cost of issuing tensor
operations and by the voxels its kernels sweep. This script renders one batch on the CPU with
the GPU's call size and reports per sample:

* torch operations that launch a kernel (views and other metadata-only operations excluded),
  by the renderer's method that issued them;
* voxel evaluations by pass: onion probes and blocks, object probes and blocks, dense boxes
  (halo objects).

Usage::

    python benchmarks/bench_batch_work.py --preset paper --batch-size 24
"""

from __future__ import annotations

import argparse
import collections
import functools
import math

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from fdif_core.batch import CULL_BLOCK, MAX_POINTS, BatchRenderer
from fdif_core.compose import Composer
from fdif_core.presets import load_preset

METADATA_ONLY = {"view", "slice", "select", "unbind", "unsqueeze", "squeeze", "split",
                 "split_with_sizes", "expand", "as_strided", "alias", "t", "permute", "detach",
                 "reshape", "_reshape_alias", "_unsafe_view", "lift_fresh"}
METHODS = ("_fix_onions", "_onion_blocks", "_evaluate_culled", "_survivors", "_culled_blocks",
           "_evaluate_dense", "_deposit", "_finish", "_intensity")


class _Launches(TorchDispatchMode):
    """Counts kernel-launching torch operations by the innermost traced method."""

    def __init__(self, stack: list[str]) -> None:
        super().__init__()
        self.stack = stack
        self.counts: collections.Counter = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ not in METADATA_ONLY:
            self.counts[self.stack[-1]] += 1
        return func(*args, **(kwargs or {}))


def _trace(renderer: BatchRenderer, stack: list[str], voxels: collections.Counter) -> None:
    """Wrap the renderer's methods to keep ``stack`` and count voxels per pass."""
    for name in METHODS:
        method = getattr(renderer, name)

        @functools.wraps(method)
        def traced(*args, _method=method, _name=name, **kwargs):
            stack.append(_name)
            try:
                return _method(*args, **kwargs)
            finally:
                stack.pop()

        setattr(renderer, name, traced)
    coordinates, blocks = renderer._coordinates, renderer._block_coordinates

    def counted(rows, at, *args, **kwargs):
        voxels[stack[-1]] += len(at[0]) * math.prod(a.shape[1] for a in at)
        return coordinates(rows, at, *args, **kwargs)

    def counted_blocks(rows, which, *args, **kwargs):
        voxels[stack[-1]] += len(which) * CULL_BLOCK ** 3
        return blocks(rows, which, *args, **kwargs)

    renderer._coordinates, renderer._block_coordinates = counted, counted_blocks


def main() -> None:
    """Run the count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--batch-size", type=int, default=24)
    parser.add_argument("--max-points", type=int, default=MAX_POINTS["cuda"],
                        help="voxels per call (default: the GPU's)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    composer = Composer(load_preset(args.preset))
    renderer = BatchRenderer(composer, args.max_points)
    renderer.sample(0, [10_000])  # displacement fields and caches
    stack, voxels = ["render"], collections.Counter()
    _trace(renderer, stack, voxels)
    plans = [composer.plan(0, i) for i in range(args.batch_size)]
    with _Launches(stack) as launches:
        renderer.render(plans, 0, list(range(args.batch_size)))
    n = args.batch_size
    print(f"preset={args.preset} batch={n}: {sum(launches.counts.values()) / n:.0f} "
          f"launching torch operations per sample")
    for name, count in launches.counts.most_common():
        print(f"  {name:18s} {count / n:8.1f}")
    print(f"voxel evaluations per sample: {sum(voxels.values()) / n / 1e6:.2f} M")
    for name, count in voxels.most_common():
        print(f"  {name:18s} {count / n / 1e6:8.3f} M")


if __name__ == "__main__":
    main()
