"""Composition-mode speed: a whole paper sample on screen, and the GUI thread beside a job.

``preview``: the work composition mode does for one sample — the core's composition of the
sample exactly as ``fdif generate`` writes it (``fdif_core.composition.preview_sample``), one
smoothed surface per label (VTK flying edges) and the three slice cuts — median over
``--samples`` paper samples (96³, 20 objects; GL drawing excluded). ``--gui`` opens the studio
in composition mode on the current display and (1) steps to the next sample ``--steps`` times,
timing each step from the key press to the sample on screen, (2) runs ``fdif generate`` with 2
workers as a child process (what the jobs panel starts) while stepping through samples every
1.5 s, reporting the largest gap between 5 ms timer ticks on the GUI thread::

    .venv/bin/python benchmarks/bench_composition.py --samples 10
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python benchmarks/bench_composition.py --gui
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from gui_gaps import gui_gaps


def bench_preview(preset: str, samples: int) -> dict[str, float]:
    from app.composition.service import SampleRequest, _ComposerCache, compute_sample
    from app.views.slices import ORIENTATIONS, cut
    from fdif_core.presets import load_preset

    loaded = load_preset(preset)
    cache = _ComposerCache()
    times, steps = [], []
    for index in range(samples + 2):
        start = time.perf_counter()
        result = compute_sample(SampleRequest(index, loaded, loaded.preset.dataset.seed, index),
                                cache)
        centre = result.preview.grid.shape[0] // 2
        for o in ORIENTATIONS.values():
            for volume in (result.preview.image, result.preview.label):
                np.ascontiguousarray(cut(volume, o, centre))
        times.append((time.perf_counter() - start) * 1e3)
        steps.append(result.timings)
    times, steps = times[2:], steps[2:]  # the first samples warm caches and kernels
    parts = {k: statistics.median(s[k] for s in steps) for k in steps[0]}
    return {"median_ms": statistics.median(times), "max_ms": max(times), **parts}


def bench_gui(preset: str, steps: int, job_s: float, niceness: int) -> dict[str, float]:
    from PyQt6.QtWidgets import QApplication

    from app.jobs.commands import process_command
    from app.jobs.process import is_running, signal_job, spawn

    app = QApplication([])
    from app.main_window import MainWindow
    from fdif_core.presets import load_preset

    window = MainWindow(thumbnails=False)
    window.resize(1600, 1000)
    window.show()
    mode = window.composition
    mode.open(load_preset(preset), None, read_only=True)
    window.set_mode("composition")

    def settle() -> None:
        while not (mode.settled and mode.result is not None):
            app.processEvents()
            time.sleep(0.001)

    settle()
    latencies = []
    for _ in range(steps):
        window.actions["next_sample"].trigger()
        settle()
        latencies.append(mode.last_update_ms)
    with tempfile.TemporaryDirectory() as folder:
        # started as the jobs panel starts it (detached, below the studio's CPU priority)
        command = process_command(["generate", "--preset", preset, "--num-samples", "200",
                                   "--workers", "2", "--out", str(Path(folder) / "data")])
        pid = spawn(command, Path(folder) / "events.jsonl", Path(folder) / "stderr.log",
                    niceness=niceness)
        time.sleep(3.0)  # the workers are rendering
        shown_before = mode.service.latest
        gaps = gui_gaps(job_s, 1500, lambda: window.actions["next_sample"].trigger())
        stepped = mode.service.latest - shown_before
        running = is_running(pid)
        signal_job(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    window.composition.document.undo_stack.setClean()
    window.close()
    return {"next_median_ms": statistics.median(latencies), "next_max_ms": max(latencies),
            "max_gap_ms": max(gaps), "p99_gap_ms": float(np.percentile(gaps, 99)),
            "samples_during_job": stepped, "job_ran_throughout": running}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--gui", action="store_true", help="also next-sample latency and the "
                        "GUI stall beside a generation job")
    parser.add_argument("--steps", type=int, default=10, help="--gui: next-sample steps")
    parser.add_argument("--job-seconds", type=float, default=10.0)
    parser.add_argument("--job-nice", type=int, default=None,
                        help="--gui: the job's niceness (default: the jobs panel's)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # the studio's worker, as the engine verbs run
    r = bench_preview(args.preset, args.samples)
    parts = ", ".join(f"{k} {v:.0f}" for k, v in r.items() if k not in ("median_ms", "max_ms"))
    print(f"preview {args.preset}: median {r['median_ms']:.0f} ms, max {r['max_ms']:.0f} ms over "
          f"{args.samples} samples ({parts} ms)")
    if args.gui:
        from app.jobs.process import JOB_NICENESS

        nice = JOB_NICENESS if args.job_nice is None else args.job_nice
        g = bench_gui(args.preset, args.steps, args.job_seconds, nice)
        print(f"gui: next sample on screen median {g['next_median_ms']:.0f} ms, max "
              f"{g['next_max_ms']:.0f} ms ({args.steps} steps); beside `fdif generate --workers 2` "
              f"(nice {nice}) "
              f"for {args.job_seconds:.0f} s: largest GUI-thread gap {g['max_gap_ms']:.0f} ms, "
              f"99th percentile {g['p99_gap_ms']:.0f} ms, {g['samples_during_job']} samples shown "
              f"meanwhile (job running throughout: {g['job_ran_throughout']})")


if __name__ == "__main__":
    main()
