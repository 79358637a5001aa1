"""The README's picture of a running job: the studio in composition mode with a short CPU
training job in the Jobs dock, its live loss and Dice curves shown.

Run on a (virtual) display, as scripts/screenshots.sh does::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_jobs.py docs/studio-jobs.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

PRESET = "basic"  # few classes: a few hundred CPU steps show a rising Dice
TIMEOUT_S = 900


def main(out: Path) -> int:
    from PyQt6.QtCore import QSettings, Qt
    from PyQt6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from app.jobs.commands import train_argv
    from app.main_window import MainWindow
    from app.snapshot import grab_window
    from app.theme import apply_theme
    from fdif_core.presets import load_preset

    apply_theme(app)
    folder = Path(tempfile.mkdtemp(prefix="fdif-jobs-shot-"))
    settings = QSettings(str(folder / "studio.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, thumbnails=False)
    window.resize(1600, 1000)
    window.show()
    window.composition.open(load_preset(PRESET), None, read_only=True)
    window.set_mode("composition")
    argv = train_argv({"preset": PRESET, "recipe": "smoke", "max_steps": 200, "val_every": 50,
                       "device": "cpu", "out": str(folder / "run")})
    job = window.jobs.manager.submit("train", argv, str(folder / "run"), PRESET)
    window.docks["jobs"].raise_()
    window.resizeDocks([window.docks["jobs"]], [300], Qt.Orientation.Vertical)
    window.resize(1600, 1000)
    window.jobs.select(job)
    window.jobs.tabs.setCurrentWidget(window.jobs.curves)
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT_S:
        app.processEvents()
        time.sleep(0.05)
        progress = job.progress
        if len(progress.dice) >= 3 or job.state not in ("queued", "running"):
            break
    ok = grab_window(window, out)
    print(f"{out}: {'saved' if ok else 'not written'}; job {job.state}, "
          f"{len(job.progress.loss)} loss and {len(job.progress.dice)} Dice points", file=sys.stderr)
    window.jobs.manager.stop_all()
    window.composition.document.undo_stack.setClean()
    window.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/studio-jobs.png")))
