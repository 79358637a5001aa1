"""Batched rendering (the GPU path) gives bitwise the samples of one-by-one rendering."""

from __future__ import annotations

import numpy as np
import pytest

from fdif_core.batch import BatchRenderer
from fdif_core.compose import Composer, Sample
from fdif_core.datasets.layout import Layout
from fdif_core.datasets.producer import FormatOptions, SampleMaker
from fdif_core.datasets.production import gpu_batch_size
from fdif_core.library import shape_library
from fdif_core.presets import LoadedPreset, Preset, load_preset

# classes of every batchable node kind: sphere, capped cone, octahedron, extrusions of circles,
# stars and sector polygons with each scale profile, onions, revolutions
MIXED = ["sphere", "cone", "octahedron", "cylinder", "torus", "five_star_prism",
         "pentagon_prism", "convex_cylinder", "concave_cylinder", "cone_cylinder",
         "three_star_revolution", "eight_star_cone_prism", "onioned_five_star_prism",
         "onioned_hexagon_concave_prism", "onioned_triangle_convex_prism",
         "onioned_triangle_cone_prism"]


def assert_same(got: list[Sample], want: list[Sample]) -> None:
    assert [s.index for s in got] == [s.index for s in want]
    for a, b in zip(got, want, strict=True):
        assert a.image.dtype == b.image.dtype and a.label.dtype == b.label.dtype
        assert np.array_equal(a.image, b.image), f"sample {b.index}: image differs"
        assert np.array_equal(a.label, b.label), f"sample {b.index}: label differs"
        assert a.objects == b.objects


def mixed_preset(**fields) -> LoadedPreset:
    data = {"name": "mixed", "grid": [40, 36, 44], "objects": [6, 9], "classes": MIXED,
            "mappers": ["inverse_cube", "linear_slope_10.0", "modular_5", "sinusoidal_wavelength_1.0"],
            "displacements": ["perlin_fine", "turbulence", "ridge", "sawtooth"]}
    data.update(fields)
    return LoadedPreset(Preset.model_validate(data), shape_library(), "test")


@pytest.mark.parametrize("max_points", [None, 5000])
def test_batch_equals_one_by_one_on_every_node_kind(max_points):
    # 5000 voxels per call splits boxes into many padded blocks of few objects
    composer = Composer(mixed_preset())
    got = BatchRenderer(composer, max_points).sample(7, [0, 1, 2, 5])
    assert_same(got, [composer.sample(7, i) for i in (0, 1, 2, 5)])
    kinds = {o["tree"]["kind"] for s in got for o in s.objects}
    assert {"sphere", "extrude", "revolve"} <= kinds


@pytest.mark.parametrize("policy", ["larger_wins", "last_wins"])
def test_batch_follows_the_overlap_policy(policy):
    composer = Composer(mixed_preset(overlap=policy, objects=[8, 8]))
    assert_same(BatchRenderer(composer).sample(1, [3, 4]), [composer.sample(1, i) for i in (3, 4)])


def test_batch_multi_task_labels():
    composer = Composer(mixed_preset(mapper_mode="class", displacement_mode="class",
                                     label_mode="multi_task", classes=MIXED[:6]))
    got = BatchRenderer(composer).sample(2, [0, 1])
    assert got[0].label.ndim == 4
    assert_same(got, [composer.sample(2, i) for i in (0, 1)])


def test_batch_paper_and_gradient_noise_presets():
    paper = Composer(load_preset("paper"))
    assert_same(BatchRenderer(paper).sample(0, [4]), [paper.sample(0, 4)])
    organic = Composer(load_preset("organic"))  # gradient noise: evaluated one by one
    assert_same(BatchRenderer(organic).sample(0, [0, 1]), [organic.sample(0, i) for i in (0, 1)])


def test_a_batch_larger_than_its_displacement_table():
    # six samples, one world displacement: the batch's voxels outnumber the table's rows, so
    # padding must point at the table's end, not at the batch's
    composer = Composer(mixed_preset(displacements=["sawtooth"], objects=[3, 4]))
    indices = list(range(6))
    assert_same(BatchRenderer(composer).sample(4, indices),
                [composer.sample(4, i) for i in indices])


@pytest.mark.parametrize("grid", [[37, 29, 19], [48, 48, 48]])
def test_onion_thickness_is_the_minimum_over_the_whole_grid(grid):
    # the culled two-pass search against evaluating the cross-section at every voxel, on a
    # grid of ragged blocks and on a whole one, for every onioned profile
    onions = [name for name in MIXED if name.startswith("onioned")]
    composer = Composer(mixed_preset(grid=grid, classes=onions, objects=[5, 5]))
    renderer = BatchRenderer(composer)
    objects = [renderer._object(plan) for i in range(6) for plan in composer.plan(3, i)]
    renderer._fix_onions(objects)
    for obj in objects:
        section = obj.sdf.cross_section()
        deepest = float(section(obj.domain.local()).min())
        assert obj.sdf.onion_t == obj.sdf.onion_ratio * abs(deepest)


def test_a_batch_does_not_depend_on_its_company():
    composer = Composer(load_preset("quick"))
    renderer = BatchRenderer(composer)
    alone = renderer.sample(5, [9])
    assert_same(renderer.sample(5, [3, 9, 1])[1:2], alone)


def test_sample_maker_batches_give_the_files_of_single_samples():
    loaded = load_preset("quick")
    layout = Layout("decathlon", 4, 0, 998, "SDFSynthetic", 5, tuple(loaded.preset.grid))
    maker = SampleMaker(loaded, layout, FormatOptions(1, "uint8", 1.0, 1, 0), seed=3)
    for a, b in zip(maker.compute_many([0, 1, 2]), [maker.compute(i) for i in range(3)],
                    strict=True):
        assert a.index == b.index and a.stats == b.stats
        assert maker.encode(a) == maker.encode(b)


def test_gpu_batch_size():
    assert gpu_batch_size((96, 96, 96)) == 64
    assert gpu_batch_size((256, 256, 256)) == 3
    assert gpu_batch_size((512, 512, 512)) == 1
    assert gpu_batch_size((32, 32, 32)) == 256
