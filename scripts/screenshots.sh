#!/usr/bin/env bash
# The README's screenshots, made by the studio itself on a virtual display (keeps them current).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs
export QT_API=pyqt6 QT_QPA_PLATFORM=xcb
settings=$(mktemp --suffix=.ini)
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m app --size 1600x1000 \
  --settings "$settings" --screenshot docs/studio.png
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m app --size 1600x1000 \
  --settings "$settings" --screenshot docs/studio-organic-blob.png shapes/library/organic_blob.toml
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m app --size 1600x1000 \
  --settings "$settings" --screenshot docs/studio-composition.png --sample 3 presets/paper.toml
rm -f "$settings"
# a short CPU training job running from the studio, its loss and Dice curves in the Jobs dock
xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot_jobs.py docs/studio-jobs.png
