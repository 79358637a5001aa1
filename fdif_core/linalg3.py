"""3 × 3 matrix helpers in closed form, for per-object placement maps.

numpy's LAPACK routes cost 20 µs on a warm cache and above 100 µs in the middle of a sample,
when torch's kernels have evicted them; every object needs a few of these, so the closed forms
here (plain float arithmetic, a few µs) save several milliseconds per paper sample.
"""

from __future__ import annotations

import math

import numpy as np

SPECTRAL_MARGIN = 1e-6  # relative; covers the closed form's worst rounding (two equal top values)


def inverse3(m: np.ndarray) -> np.ndarray:
    """Inverse of a 3 × 3 matrix by cofactors.

    Raises
    ------
    ValueError
        If the matrix is singular.
    """
    (a, b, c), (d, e, f), (g, h, i) = np.asarray(m, dtype=np.float64).tolist()
    co = (e * i - f * h, c * h - b * i, b * f - c * e,
          f * g - d * i, a * i - c * g, c * d - a * f,
          d * h - e * g, b * g - a * h, a * e - b * d)
    det = a * co[0] + b * co[3] + c * co[6]
    if det == 0.0 or not math.isfinite(det):
        raise ValueError(f"singular 3x3 matrix (determinant {det})")
    return np.array(co, dtype=np.float64).reshape(3, 3) / det


def spectral_norm3(m: np.ndarray) -> float:
    """An upper bound of ``||m||_2`` (the largest singular value), within a relative 1e-6.

    The largest eigenvalue of the symmetric ``m^T m`` in the trigonometric closed form, raised
    by a relative margin far above its rounding error.
    """
    a = np.asarray(m, dtype=np.float64)
    (m00, m01, m02), (_, m11, m12), (_, _, m22) = (a.T @ a).tolist()
    q = (m00 + m11 + m22) / 3
    off = m01 * m01 + m02 * m02 + m12 * m12
    d0, d1, d2 = m00 - q, m11 - q, m22 - q
    p = math.sqrt((d0 * d0 + d1 * d1 + d2 * d2 + 2 * off) / 6)
    if p <= 1e-15 * max(q, 1e-300):  # a multiple of the identity
        largest = q
    else:
        b00, b11, b22, b01, b02, b12 = d0 / p, d1 / p, d2 / p, m01 / p, m02 / p, m12 / p
        det = (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02)
               + b02 * (b01 * b12 - b11 * b02))
        phi = math.acos(min(max(det / 2, -1.0), 1.0)) / 3
        largest = q + 2 * p * math.cos(phi)
    return math.sqrt(max(largest, 0.0)) * (1 + SPECTRAL_MARGIN)
