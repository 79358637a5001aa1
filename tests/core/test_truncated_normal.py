"""Truncated normals always finish: rejection where it is cheap (the draws of every existing
class unchanged), the inverse CDF where the interval holds almost no probability."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from fdif_core.cli import main
from fdif_core.compose import Composer
from fdif_core.distributions import MIN_ACCEPTANCE, Normal, _upper_tail
from fdif_core.library import shape_library
from fdif_core.presets import load_preset
from fdif_core.shapes import sample_params

ROOT = Path(__file__).resolve().parents[2]
SIZE = {"D": 64, "H": 64, "W": 64, "min_grid": 64, "min_dh": 64, "min_dw": 64}


def _normal(mean: float, std: float, low: float, high: float) -> Normal:
    """A normal truncated to ``[low, high]`` (infinite ends left to the defaults)."""
    ends = {k: v for k, v in (("low", low), ("high", high)) if math.isfinite(v)}
    return Normal(mean=mean, std=std, **ends)


def _rejection(self: Normal, rng: np.random.Generator) -> float:
    """The sampler every normal used before the inverse CDF existed."""
    while True:
        value = float(rng.normal(self.mean, self.std))
        if self.low <= value <= self.high:
            return value


@pytest.mark.parametrize("low,high", [
    (-math.inf, math.inf), (0.0, math.inf), (-0.5, 0.25), (2.0, 3.0), (-4.0, -3.0),
    (3.05, math.inf),  # acceptance 0.00114, just above the threshold
])
def test_reasonable_intervals_draw_exactly_as_rejection(low, high):
    dist = _normal(1.0, 2.0, 1.0 + 2.0 * low, 1.0 + 2.0 * high)
    assert dist.acceptance >= MIN_ACCEPTANCE
    new, old = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(200):
        assert dist.draw_unscaled(new) == _rejection(dist, old)
    assert new.random() == old.random()  # the stream is left where rejection leaves it


def test_every_shipped_class_and_preset_draws_as_before(monkeypatch):
    classes = shape_library().classes.values()
    presets = sorted((ROOT / "presets").glob("*.toml"))
    new = {c.name: [sample_params(c, np.random.default_rng(s), SIZE) for s in range(3)]
           for c in classes}
    new_plans = {p.stem: [o.metadata() for i in range(2)
                          for o in Composer(load_preset(p)).plan(0, i)] for p in presets}
    monkeypatch.setattr(Normal, "_draw", _rejection)
    assert new == {c.name: [sample_params(c, np.random.default_rng(s), SIZE) for s in range(3)]
                   for c in classes}
    assert new_plans == {p.stem: [o.metadata() for i in range(2)
                                  for o in Composer(load_preset(p)).plan(0, i)]
                         for p in presets}


@pytest.mark.parametrize("low,high", [(0.0595, math.inf), (0.0, 1e-11), (-math.inf, -0.0599)])
def test_far_tails_and_slivers_finish_fast_inside_the_interval(low, high):
    dist = _normal(0.0, 0.01, low, high)
    assert dist.acceptance < 1e-8
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    values = np.array([dist.draw_unscaled(rng) for _ in range(2000)])
    assert time.perf_counter() - start < 1.0
    assert values.min() >= low and values.max() <= high and len(np.unique(values)) == 2000


def test_the_tail_draw_is_the_inverse_cdf_of_one_uniform():
    dist = Normal(mean=0.0, std=0.01, low=0.0595)
    a = 5.95  # the interval in standard units

    class Fixed:
        def __init__(self, u: float) -> None:
            self.u = u

        def random(self) -> float:
            return self.u

    for u in (0.0, 0.1, 0.5, 0.9, 0.999999):
        x = dist.draw_unscaled(Fixed(u)) / 0.01
        assert 1 - _upper_tail(x) / _upper_tail(a) == pytest.approx(u, abs=1e-9)
    # the mean of the truncated normal: phi(a) / Q(a), from quantiles at evenly spaced u
    us = (np.arange(20000) + 0.5) / 20000
    mean = np.mean([dist.draw_unscaled(Fixed(u)) for u in us]) / 0.01
    assert mean == pytest.approx(math.exp(-a * a / 2) / math.sqrt(2 * math.pi) / _upper_tail(a),
                                 rel=1e-6)


def test_sample_with_a_far_tail_class_finishes(tmp_path, capsys):
    library = tmp_path / "lib"
    (library / "shapes").mkdir(parents=True)
    (library / "shapes" / "tail.toml").write_text(
        'name = "tail"\n[params.r]\ndist = "normal"\nmean = 0\nstd = 0.01\nlow = 0.0595\n'
        'scale = "min_grid"\n[shape]\nkind = "sphere"\n[shape.params]\nr = "r"\n')
    preset = tmp_path / "tail.toml"
    preset.write_text('name = "tail"\ngrid = [16, 16, 16]\nobjects = [3, 3]\nclasses = ["tail"]\n')
    out = tmp_path / "s.npz"
    assert main(["--library", str(library), "sample", "--preset", str(preset),
                 "--out", str(out)]) == 0
    assert out.is_file()
