"""``fdif-studio [FILE]`` / ``python -m app [FILE]``: start the studio.

FILE may be a shape class (``.toml``), a preset (``.toml``) or a bundle (``.fdifbundle``);
without one the studio opens on a built-in class. ``--screenshot PNG`` saves the window once
the first preview is shown and quits (how the README's screenshots and a display-less run are
made). ``--help`` needs no display.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

SCREENSHOT_TIMEOUT_S = 120


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fdif-studio",
        description="FDIF Studio: design SDF shape classes and see them as a surface and as the "
                    "synthetic image a network is trained on.")
    parser.add_argument("file", nargs="?", help="a shape class, preset (.toml) or bundle "
                        "(.fdifbundle) to open")
    parser.add_argument("--screenshot", metavar="PNG", type=Path,
                        help="save a screenshot of the window once the first preview is shown, "
                             "then quit")
    parser.add_argument("--sample", metavar="INDEX", type=int, default=None,
                        help="with a preset or bundle FILE: show this sample index")
    parser.add_argument("--size", metavar="WxH", default=None,
                        help="window size, e.g. 1600x1000 (default: as last time)")
    parser.add_argument("--settings", metavar="INI", type=Path,
                        help="settings file to use instead of the user's (layout, recent files)")
    return parser.parse_args(argv)


def _prepare_environment() -> str | None:
    """Qt's environment; the reason the studio cannot start, or ``None``."""
    os.environ.setdefault("QT_API", "pyqt6")  # superqt's qtpy: never PySide by accident
    if "XDG_RUNTIME_DIR" not in os.environ:
        runtime = Path(f"/tmp/runtime-{os.getuid()}")
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        return ("no display: start the studio with scripts/studio.sh, which runs it on a virtual "
                "display (Xvfb) and saves a screenshot, or set DISPLAY")
    return None


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    problem = _prepare_environment()
    if problem:
        print(f"fdif-studio: {problem}", file=sys.stderr)
        return 2
    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.theme import apply_theme

    app = QApplication(sys.argv[:1])
    app.setApplicationName("FDIF Studio")
    app.setOrganizationName("FDIF")
    apply_theme(app)
    settings = (QSettings(str(args.settings), QSettings.Format.IniFormat) if args.settings
                else None)
    window = MainWindow(settings)
    if args.size:
        width, height = (int(v) for v in args.size.lower().split("x"))
        window.resize(width, height)
    window.show()
    if args.file:
        window.files.open_path(args.file)
    if args.sample is not None:
        window.composition.sample.update(index=args.sample)
    if args.screenshot:
        from app.snapshot import save_when_ready

        save_when_ready(window, args.screenshot, started, SCREENSHOT_TIMEOUT_S)
    code = app.exec()
    return code or window.exit_code


if __name__ == "__main__":
    sys.exit(main())
