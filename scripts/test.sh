#!/usr/bin/env bash
# The test command of the README: set up (idempotent), lint, then the whole test suite. The
# studio's tests need a display with OpenGL: without one they run on a virtual one (Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
export QT_API=pyqt6
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR="/tmp/runtime-$(id -u)"
  mkdir -p -m 700 "$XDG_RUNTIME_DIR"
fi
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
QT_QPA_PLATFORM=xcb exec xvfb-run -a -s "-screen 0 1280x1024x24" \
  .venv/bin/python -m pytest -p no:cacheprovider "$@"
