"""Studio speed: one single-class update after a parameter change, and the GUI-thread stall.

``update``: the work the preview worker does after an edit — the core's SDF with displacement
and mapped image (``fdif_core.preview.preview_class``) plus the zero surface (VTK flying
edges) plus the three slice cuts — median over ``--updates`` edits of the star's width at
each grid size (GL drawing excluded). ``--gui`` also opens the studio on the current display
and drags a slider for 3 s, reporting the largest gap between 5 ms timer ticks on the GUI
thread. Run under ``xvfb-run`` for ``--gui``::

    .venv/bin/python benchmarks/bench_studio.py --updates 20
    QT_QPA_PLATFORM=xcb xvfb-run -a .venv/bin/python benchmarks/bench_studio.py --gui
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from gui_gaps import gui_gaps


def bench_updates(grid: int, updates: int) -> dict[str, float]:
    from app.preview import PreviewRequest, compute
    from app.views.slices import ORIENTATIONS, cut
    from fdif_core import editing
    from fdif_core.library import resolve_shape
    from fdif_core.preview import InstanceSettings
    from fdif_core.shapes import ShapeClass

    data = resolve_shape("five_star_prism").model_dump(mode="json")
    settings = InstanceSettings(seed=0, grid=(grid,) * 3)
    times, steps = [], []
    for i, w in enumerate(np.linspace(0.25, 0.65, updates + 2)):
        data = editing.set_node_param(data, (0,), "w", float(w))
        start = time.perf_counter()
        result = compute(PreviewRequest(i, ShapeClass.model_validate(data), settings))
        centre = grid // 2
        for o in ORIENTATIONS.values():
            np.ascontiguousarray(cut(result.preview.image, o, centre))
        times.append((time.perf_counter() - start) * 1e3)
        steps.append(result.timings)
    times, steps = times[2:], steps[2:]  # first calls warm caches and kernels
    parts = {k: statistics.median(s[k] for s in steps) for k in steps[0]}
    return {"median_ms": statistics.median(times), "max_ms": max(times), **parts}


def bench_gui(drag_s: float) -> dict[str, float]:
    """Open the studio, then drag the star's ``w`` slider for ``drag_s`` seconds from a timer
    (one move per 30 ms, as a hand does) while the event loop runs as in real use."""
    from PyQt6.QtWidgets import QApplication

    started = time.perf_counter()
    app = QApplication([])
    from app.main_window import MainWindow

    window = MainWindow(thumbnails=False)
    window.show()
    while window.result is None:
        app.processEvents()
    first = time.perf_counter() - started
    window.inspector.select((0,))
    window.inspector.node_editors["w"].fix.click()
    while not window.service.settled:
        app.processEvents()
    slider = window.inspector.node_editors["w"].slider._slider
    viewport = window.workspace.viewport
    shown, frames_before = set(), viewport.frames
    window.service.ready.connect(lambda result: shown.add(result.request.number))
    values = np.linspace(0.25, 0.65, 60)
    moves = [0]

    def move() -> None:
        slider.setSliderPosition(float(values[moves[0] % len(values)]))
        moves[0] += 1

    slider.setSliderDown(True)
    gaps = gui_gaps(drag_s, 30, move)
    slider.setSliderDown(False)
    window.document.undo_stack.setClean()
    window.close()
    return {"first_window_s": first, "max_gui_gap_ms": max(gaps), "slider_moves": moves[0],
            "previews_shown": len(shown), "frames_3d": viewport.frames - frames_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--grids", type=int, nargs="+", default=[96, 128])
    parser.add_argument("--gui", action="store_true", help="also the GUI stall during a drag")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    for grid in args.grids:
        r = bench_updates(grid, args.updates)
        parts = ", ".join(f"{k} {v:.1f}" for k, v in r.items() if k not in ("median_ms", "max_ms"))
        print(f"update {grid}^3: median {r['median_ms']:.1f} ms, max {r['max_ms']:.1f} ms "
              f"over {args.updates} edits ({parts} ms)")
    if args.gui:
        g = bench_gui(3.0)
        print(f"gui: first preview on screen {g['first_window_s']:.2f} s after start (in-process); "
              f"largest GUI-thread gap during a 3 s drag {g['max_gui_gap_ms']:.0f} ms "
              f"({g['slider_moves']} slider moves; {g['previews_shown']} previews and "
              f"{g['frames_3d']} 3D frames shown meanwhile)")


if __name__ == "__main__":
    main()
