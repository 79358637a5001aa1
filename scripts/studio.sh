#!/usr/bin/env bash
# The README's main command: set up (idempotent), then start the studio. Without a display it
# runs the studio on a virtual display (Xvfb), saves a screenshot and says where.
#   bash scripts/studio.sh [FILE]        FILE: a shape class, preset or bundle
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_API=pyqt6
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec .venv/bin/python -m app "$@"
fi
shot=${FDIF_SCREENSHOT:-outputs/studio.png}
echo "studio: no display here; running it on a virtual display to save a screenshot"
QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
  .venv/bin/python -m app --size 1600x1000 --settings outputs/studio-settings.ini \
  --screenshot "$shot" "$@"
echo "studio: screenshot saved to $(pwd)/$shot (on a machine with a display, this command opens the studio)"
