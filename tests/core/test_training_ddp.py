"""Two gloo processes on CPU under torchrun: synchronised gradients, one writer."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PRESET = str(Path(__file__).parent / "fixtures" / "train_tiny.toml")

SCRIPT = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from fdif_core.training.config import TrainConfig
    from fdif_core.training.loop import train_job

    out = Path(sys.argv[1])
    cfg = TrainConfig(preset=sys.argv[2], model="unet", unet_channels=[4, 8],
                      unet_strides=[2], unet_res_units=0, crop_size=(16, 16, 16),
                      crops_per_volume=1, val_samples=2, warmup_steps=0, max_steps=3,
                      val_every=3, log_every=1, plot=False, threads=1, out=str(out / "run"))
    events = list(train_job(cfg))
    rank = os.environ["RANK"]
    assert events[0].data["world_size"] == 2
    (out / f"rank{rank}.txt").write_text(events[-1].data["weights_sha256"])
    files = [e.data["path"] for e in events if e.type == "file"]
    (out / f"files{rank}.txt").write_text("\\n".join(files))
    # the process group is gone with its gloo threads before the interpreter exits (a gloo
    # thread still freeing an all-reduce at exit aborted the process now and then)
    tasks = Path("/proc/self/task")
    names = [(t / "comm").read_text().strip() for t in tasks.iterdir()] if tasks.is_dir() else []
    (out / f"threads{rank}.txt").write_text(" ".join(sorted(names)))
""")


@pytest.mark.slow
def test_two_gloo_ranks_end_with_identical_weights(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(script), str(tmp_path), PRESET],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    digests = [(tmp_path / f"rank{r}.txt").read_text() for r in range(2)]
    assert digests[0] == digests[1]
    assert (tmp_path / "files1.txt").read_text() == ""  # only rank 0 writes
    assert "training_checkpoint.pth" in (tmp_path / "files0.txt").read_text()
    for rank in range(2):
        assert "gloo" not in (tmp_path / f"threads{rank}.txt").read_text()

    from fdif_core.training.models import read_checkpoint

    ckpt = read_checkpoint(tmp_path / "run" / "training_checkpoint.pth")
    assert ckpt["global_step"] == 3
