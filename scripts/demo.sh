#!/usr/bin/env bash
# The main job of the README: set up, then generate a small dataset with the paper preset
# (96^3, 20 objects per volume, all 109 classes) in the MONAI Decathlon layout and print its
# dataset card. Pass other `fdif generate` options to override, e.g. --format nnunet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${FDIF_DEMO_OUT:-outputs/paper-demo}
.venv/bin/fdif generate --preset paper --num-samples 8 --num-val-samples 2 --out "$OUT" "$@"
echo
echo "== $OUT/dataset_card.md =="
sed -n "1,/^## Classes/p" "$OUT/dataset_card.md"
echo "(full class table and preview: $OUT/dataset_card.md, $OUT/dataset_card.png)"
