"""The composition preview of sample i equals the files ``fdif generate`` writes for i."""

from pathlib import Path

import numpy as np
import pytest

from fdif_core.composition import preview_sample
from fdif_core.datasets.nifti import nifti_bytes
from fdif_core.presets import load_preset
from tests.core.datasets_util import run_cli, tiny_preset

FIXTURES_TINY = Path(__file__).parent / "fixtures" / "train_tiny.toml"


def _written(out: Path, index: int) -> tuple[bytes, bytes]:
    batch = f"batch_{index // 1000:04d}"
    return ((out / "data" / "image" / batch / f"sample_{index:05d}_x.nii.gz").read_bytes(),
            (out / "data" / "label" / batch / f"sample_{index:05d}_y.nii.gz").read_bytes())


@pytest.mark.slow
def test_paper_sample_equals_the_generated_files_byte_for_byte(tmp_path):
    out = tmp_path / "paper"
    assert run_cli("--preset", "paper", "--num-samples", "2", "--num-val-samples", "0",
                   "--seed", "11", "--out", str(out)) == 0
    loaded = load_preset("paper")
    for index in (0, 1):
        preview = preview_sample(loaded, 11, index)
        image, label = _written(out, index)
        assert nifti_bytes(preview.image) == image
        assert nifti_bytes(preview.label) == label
        assert preview.label.dtype == np.uint8
        assert len(preview.objects) == 20


def test_multi_task_sample_equals_the_generated_files(tmp_path):
    preset = tiny_preset(tmp_path, label_mode="multi_task", mapper_mode="class",
                         displacement_mode="class")
    out = tmp_path / "multi"
    assert run_cli("--preset", str(preset), "--num-samples", "3", "--num-val-samples", "0",
                   "--out", str(out)) == 0
    loaded = load_preset(preset)
    preview = preview_sample(loaded, 3, 2)
    image, label = _written(out, 2)
    assert nifti_bytes(preview.image) == image
    assert nifti_bytes(preview.label) == label
    assert preview.label.ndim == 4
    assert preview.tasks == ["shape", "displacement", "mapper"]
    assert preview.label_names[1][1] == "none"


def test_owner_map_rows_and_label_names_agree_with_the_label(tmp_path):
    loaded = load_preset(tiny_preset(tmp_path, n=32))
    preview = preview_sample(loaded, 3, 4)
    label, owner = preview.label, preview.owner
    assert owner.dtype == np.int16 and owner.shape == label.shape
    assert np.array_equal(owner > 0, label > 0)
    for row in preview.objects:
        held = owner == row.position
        assert int(held.sum()) == row.shown
        if row.shown:
            assert set(np.unique(label[held])) == {row.class_id} == set(row.labels)
            centre = np.argwhere(held).mean(axis=0)
            assert np.allclose(row.centre, centre)
            assert row.shown <= row.inside
        assert preview.label_names[0][row.class_id] == row.class_name
    assert sum(r.shown for r in preview.objects) == int(np.count_nonzero(label))
    assert preview.label_names[0][0] == "background"


def test_negative_index_is_refused():
    with pytest.raises(ValueError, match="index -1 must be >= 0"):
        preview_sample(load_preset("quick"), 0, -1)


def test_objects_without_a_surface_are_warned_about_as_generate_does(tmp_path):
    text = (FIXTURES_TINY.read_text().replace('classes = ["sphere", "torus", "cone", "square_prism"]',
                                              'classes = ["sphere"]'))
    path = tmp_path / "far.toml"
    path.write_text(text.replace("grid = [24, 24, 24]", "grid = [1024, 8, 8]"))
    preview = preview_sample(load_preset(path), 0, 0)
    assert preview.warnings
    assert all(" has no surface in the grid: it covers no voxel" in m for m in preview.warnings)
    assert preview.warnings[0].startswith("sample 0: objects[0] (class 1 ")
