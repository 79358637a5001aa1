#!/usr/bin/env bash
# Idempotent setup on a fresh Debian machine: system packages, a venv in .venv, the project
# with its dev and nnU-Net extras. torch is pinned to the CPU wheel (a bare `torch` would pull
# a multi-GB CUDA build; on a GPU server install the CUDA torch first, then run this).
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc, libc6-dev: the engine's native CPU kernels (compiled on first use; without a compiler the
# torch kernels give the same values, slower); mricron-data: real labelled 3D data (Colin27 +
# AAL) for the training demo
# The studio (Qt xcb on a real or virtual display, VTK through Mesa's llvmpipe): xvfb and
# xauth run it where there is no display; the rest is what Qt's xcb plugin and VTK load.
APT_PACKAGES=(gcc libc6-dev mricron-data
  xvfb xauth libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libglib2.0-0 libdbus-1-3 libfontconfig1
  libfreetype6 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-util1 libxcb-xkb1)
if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"; } \
      || echo "setup: warning: could not install ${missing[*]} (gcc: native CPU kernels;" \
              "mricron-data: experiments/pretrain_brain; the rest: the studio)" >&2
  fi
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
TORCH_PIN=${FDIF_TORCH:-torch==2.13.0}
echo "$TORCH_PIN" > .venv/constraints.txt
.venv/bin/python -m pip install -q -c .venv/constraints.txt "$TORCH_PIN"
.venv/bin/python -m pip install -q -c .venv/constraints.txt -e ".[dev,nnunet,gui]"
echo "setup done: $(.venv/bin/python -c 'import torch, monai; print("torch", torch.__version__, "monai", monai.__version__)')"
