"""The LR schedule against spec §17.19 (exact)."""

import pytest
import torch

from fdif_core.training.schedule import lr_factor, warmup_cosine

TABLE = [(0, 0.0), (1, 2.004008e-7), (250, 5.010020e-5), (499, 1e-4), (500, 1e-4),
         (1000, 9.992913e-5), (15250, 5e-5), (29000, 2.832600e-7), (30000, 0.0)]


@pytest.mark.parametrize(("step", "expected"), TABLE)
def test_table_17_19(step, expected):
    assert 1e-4 * lr_factor(step, 500, 30000) == pytest.approx(expected, rel=1e-6, abs=1e-15)


def test_scheduler_follows_the_formula_step_by_step():
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=1e-4, weight_decay=1e-5)
    sched = warmup_cosine(opt, 500, 30000)
    seen = {}
    for step in range(1001):
        seen[step] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    for step, expected in TABLE[:6]:
        assert seen[step] == pytest.approx(expected, rel=1e-6, abs=1e-15)
    assert seen[499] == 1e-4


def test_past_max_the_cosine_rises_like_the_reference():
    assert 1e-4 * lr_factor(31000, 500, 30000) == pytest.approx(2.83e-7, rel=1e-2)
    assert 1e-4 * lr_factor(36000, 500, 30000) == pytest.approx(9.86e-6, rel=1e-2)


def test_no_warmup():
    assert lr_factor(0, 0, 10) == 1.0
    assert lr_factor(10, 0, 10) == pytest.approx(0.0, abs=1e-12)
