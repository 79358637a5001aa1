"""Spec §17.12–17.16: composition rules, class counting, augmentation frequencies,
parameter ranges and whole-sample statistics; plus reproducibility and box == full grid."""

from __future__ import annotations

import collections
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from fdif_core.compose import Composer, ObjectPlan
from fdif_core.displacements import DISPLACEMENTS
from fdif_core.grid import Grid
from fdif_core.library import shape_library
from fdif_core.objects import evaluate_object
from fdif_core.placement import PLACEMENT_PARAMS, Placement, sample_placement
from fdif_core.presets import LoadedPreset, Preset, class_table, load_preset
from fdif_core.shapes import sample_class


def make_preset(**fields) -> LoadedPreset:
    data = {"name": "t", "grid": [32, 32, 32], "objects": [2, 2],
            "classes": ["sphere", "cylinder", "torus"], "mappers": ["inverse_cube"]}
    data.update(fields)
    return LoadedPreset(Preset.model_validate(data), shape_library(), "test")


def sphere_plan(composer: Composer, class_index: int, r: float, mapper: str,
                tx: float = 0.0) -> ObjectPlan:
    entry = composer.table[class_index]
    tree = {"kind": "sphere", "params": {"r": r}, "children": []}
    return ObjectPlan(entry, {"r": r}, tree, Placement(tx=tx), "none", mapper, 0)


# -- §17.12 composition rules ----------------------------------------------------------------
@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_smaller_object_wins_whatever_the_order(order):
    comp = Composer(make_preset(grid=[64, 64, 64], mappers=["linear_slope_10.0"]))
    big, small = sphere_plan(comp, 0, 20, "linear_slope_10.0"), \
        sphere_plan(comp, 1, 10, "linear_slope_10.0")
    plans = [[big, small][i] for i in order]
    sample = comp.render(plans)
    assert sample.label[32, 32, 32] == 2 and sample.label[32, 32, 32 + 15] == 1
    assert sample.label[32, 32, 32 + 25] == 0
    assert sample.label.dtype == np.int32 and sample.image.dtype == np.uint8
    # at depth 1 in the small sphere and 11 in the big one: 118 + 18 saturates at 128
    assert sample.image[32, 32, 32 + 9] == 128
    assert sample.image[32, 32, 32] == 28  # 0 (depth 20) + 28 (depth 10)


def test_intensity_is_floor_of_clamped_sum():
    comp = Composer(make_preset(grid=[64, 64, 64], mappers=["inverse_cube"]))
    plans = [sphere_plan(comp, 0, 8, "inverse_cube"), sphere_plan(comp, 1, 6, "inverse_cube", 20)]
    sample = comp.render(plans)
    grid = comp.grid
    total = torch.zeros(grid.shape)
    for plan in plans:
        f = evaluate_object(plan.tree, plan.placement, grid, full=True).sdf
        total += 128 / (f.abs() ** 3 + 1)
    expected = torch.floor(total.clamp(0, 128)).to(torch.uint8).numpy()
    assert np.array_equal(sample.image, expected)
    assert sample.image.min() == 0 or (sample.image > 0).all()


def test_object_outside_grid_leaves_no_label():
    comp = Composer(make_preset(grid=[32, 32, 32], mappers=["linear_slope_10.0"]))
    sample = comp.render([sphere_plan(comp, 0, 5, "linear_slope_10.0", tx=200)])
    assert sample.label.max() == 0 and sample.image.max() == 0
    assert sample.objects[0]["volume"] == 0


@pytest.mark.parametrize("policy,centre", [("larger_wins", 1), ("last_wins", 2),
                                           ("smaller_wins", 2)])
def test_overlap_policies(policy, centre):
    comp = Composer(make_preset(grid=[64, 64, 64], mappers=["linear_slope_10.0"], overlap=policy))
    plans = [sphere_plan(comp, 0, 20, "linear_slope_10.0"),
             sphere_plan(comp, 1, 10, "linear_slope_10.0")]
    assert comp.render(plans).label[32, 32, 32] == centre
    if policy == "last_wins":
        assert comp.render(plans[::-1]).label[32, 32, 32] == 1


# -- §17.13 class counting -------------------------------------------------------------------
def test_paper_class_table():
    loaded = load_preset("paper")
    table = class_table(loaded.preset, loaded.library)
    assert len(table) == 109
    assert [e.id for e in table] == list(range(1, 110))
    assert table[0].hybrid_name == "Sphere_inverse_cube"
    assert table[0].display_name == "Sphere + inverse_cube"
    assert table[-1].hybrid_name == "OnionedEightStarConePrism_inverse_cube"
    assert [e.shape.fdif_id for e in table] == list(range(1, 110))


@pytest.mark.parametrize("mapper_mode,disp_mode,count", [
    ("class", "class", 18), ("augmentation", "class", 9), ("class", "augmentation", 6)])
def test_class_counts(mapper_mode, disp_mode, count):
    loaded = make_preset(mappers=["inverse_cube", "linear_slope_10.0"],
                         displacements=["perlin_fine", "turbulence"],
                         mapper_mode=mapper_mode, displacement_mode=disp_mode)
    table = class_table(loaded.preset, loaded.library)
    assert len(table) == count
    if count == 18:
        assert table[0].display_name == "Sphere + inverse_cube"
        assert table[6].display_name == \
            "Sphere + displacement(perlin_amp_0.01_scale_30.0) + inverse_cube"


def test_multi_task_vocabularies():
    loaded = make_preset(classes=["torus", "sphere", "cylinder"],
                         mappers=["inverse_cube", "linear_slope_10.0"],
                         displacements=["perlin_fine", "turbulence"],
                         mapper_mode="class", displacement_mode="class", label_mode="multi_task")
    comp = Composer(loaded)
    assert comp.vocab["shape"] == {"Cylinder": 1, "Sphere": 2, "Torus": 3}
    assert comp.vocab["displacement"] == {"none": 1, "perlin_amp_0.01_scale_30.0": 2,
                                          "turbulence_amp_0.05_scale_30.0": 3}
    assert comp.vocab["mapper"] == {"inverse_cube": 1, "linear_slope_10.0": 2}
    sample = comp.sample(0, 0)
    assert sample.label.shape == (32, 32, 32, 3)  # task axis last (spec §15.17)


def test_multi_task_needs_class_modes():
    with pytest.raises(ValueError, match="multi_task"):
        make_preset(label_mode="multi_task")


# -- §17.14 augmentation frequencies, §17.15 parameter ranges -------------------------------
def test_augmentation_frequencies_and_class_ids():
    comp = Composer(load_preset("paper"))
    mappers, disps, classes = collections.Counter(), collections.Counter(), collections.Counter()
    for i in range(550):
        for plan in comp.plan(0, i):
            mappers[plan.mapper] += 1
            disps[plan.displacement] += 1
            classes[plan.entry.id] += 1
    n = sum(mappers.values())
    assert n == 11000
    assert len(mappers) == 10 and len(disps) == 10 and len(classes) == 109
    for counter, k in ((mappers, 10), (disps, 10)):
        for value in counter.values():
            assert abs(value / n - 1 / k) < 0.012
    assert max(classes.values()) / n < 2.2 / 109 and min(classes.values()) / n > 0.4 / 109


def test_parameter_ranges():
    grid = Grid.reference((96, 96, 96))
    lib = shape_library()
    rng = np.random.default_rng(0)
    for _ in range(300):
        p = sample_placement(rng, grid)
        assert max(abs(p.tx), abs(p.ty), abs(p.tz)) <= 33.6 + 1e-9
        assert max(abs(p.h1), abs(p.h2), abs(p.h3)) <= 0.1
        assert max(abs(p.ax), abs(p.ay), abs(p.az)) <= math.pi
    checks = {"sphere": {"r": (14.4, 38.4)}, "cylinder": {"height": (9.6, 48), "r": (14.4, 38.4)},
              "convex_cylinder": {"r": (4.8, 19.2), "s2": (2, 4)},
              "onioned_square_prism": {"onion_ratio": (0.2, 0.5)},
              "cone": {"Hc": (9.6, 48)}, "five_star_torus": {"w": (0.1, 0.7)},
              "five_star_prism": {"w": (0.2, 0.7)}, "square_torus": {"r2": (2.88, 2.88)}}
    for name, ranges in checks.items():
        for _ in range(200):
            values, _ = sample_class(lib.get(name), rng, grid.size)
            for key, (lo, hi) in ranges.items():
                assert lo - 1e-9 <= values[key] <= hi + 1e-9, (name, key, values[key])
            if "neck" in values:
                assert abs(values["neck"]) <= 0.7 * values["height"]


# -- reproducibility --------------------------------------------------------------------------
def test_sample_depends_only_on_preset_seed_index():
    loaded = load_preset("quick")
    first = Composer(loaded).sample(5, 7)
    other = Composer(loaded)
    for i in (3, 0, 12):
        other.sample(5, i)
    again = other.sample(5, 7)
    assert np.array_equal(first.image, again.image) and np.array_equal(first.label, again.label)
    assert first.objects == again.objects
    assert not np.array_equal(first.image, other.sample(6, 7).image)


# -- box evaluation == full-grid evaluation ---------------------------------------------------
def test_box_equals_full_grid_for_every_class_and_displacement():
    grid = Grid.reference((40, 40, 40))
    lib = shape_library()
    rng = np.random.default_rng(11)
    displacements = ["none", *DISPLACEMENTS]
    checked = 0
    for shape in lib.ordered():
        if shape.fdif_id is None:
            continue
        for disp in displacements:
            placement = sample_placement(rng, grid)
            _, tree = sample_class(shape, rng, grid.size)
            seed = int(rng.integers(0, 1000))
            full = evaluate_object(tree, placement, grid, disp, seed, full=True).sdf
            part = evaluate_object(tree, placement, grid, disp, seed)
            boxed = torch.full_like(full, math.inf)
            if part is not None:
                boxed[part.slices] = part.sdf
            assert torch.equal(boxed <= 0, full <= 0), (shape.name, disp)
            finite = torch.isfinite(boxed)
            assert torch.allclose(boxed[finite], full[finite], atol=1e-5), (shape.name, disp)
            checked += 1
    assert checked == 109 * len(displacements)


# -- §17.16 whole-sample statistics -----------------------------------------------------------
def test_paper_sample_statistics():
    comp = Composer(load_preset("paper"))
    fg, distinct, zero = [], [], []
    for i in range(20):
        s = comp.sample(0, i)
        assert s.image.min() == 0 and s.image.max() == 128
        fg.append((s.label > 0).mean())
        distinct.append(len(np.unique(s.label)) - 1)
        zero.append((s.image == 0).mean())
    assert 0.45 <= np.mean(fg) <= 0.58
    assert 17 <= np.mean(distinct) <= 18.5
    assert 0.38 <= np.mean(zero) <= 0.60


def test_presets_directory_has_paper_and_quick():
    names = {p.stem for p in (Path(__file__).parents[2] / "presets").glob("*.toml")}
    assert {"paper", "quick"} <= names


# -- halos: near-field evaluation plus exact resolution == full-grid evaluation ----------------
def reference_image(comp: Composer, plans: list[ObjectPlan]) -> np.ndarray:
    """Every object on the whole grid; S (vanishing mappers) + H (halos), each in order."""
    from fdif_core.mappers import get_mapper

    main = torch.zeros(comp.grid.shape)
    halo = torch.zeros(comp.grid.shape)
    for plan in plans:
        mapper = get_mapper(plan.mapper)
        f = comp.evaluate(plan, full=True).sdf
        (halo if mapper.has_halo else main).add_(mapper(f))
    return (main + halo).clamp(0, 128).to(torch.uint8).numpy()


def test_halo_resolution_equals_full_grid_images():
    comp = Composer(load_preset("paper"))
    checked = 0
    for i in range(40):
        plans = comp.plan(0, i)
        if sum(p.mapper == "inverse_cube" for p in plans) < 2:
            continue
        assert np.array_equal(comp.render(plans).image, reference_image(comp, plans)), i
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_block_floors_bound_every_voxel_of_their_block_and_prune_far_blocks():
    from fdif_core.compose import HALO_NEAR
    from fdif_core.domain import BLOCK

    comp = Composer(load_preset("paper"))
    displacements = set()
    far_blocks = useful = 0
    for i in range(3):
        for plan in comp.plan(0, i)[:7]:
            evaluated = comp.evaluate(plan, near=HALO_NEAR)
            if evaluated is None:
                continue
            displacements.add(plan.displacement)
            full = comp.evaluate(plan, full=True).sdf[None, None]
            minima = -torch.nn.functional.max_pool3d(-full, BLOCK, BLOCK, ceil_mode=True)[0, 0]
            floors = evaluated.block_floors()
            assert floors.shape == minima.shape
            assert bool((floors <= minima).all()), plan.metadata()
            far = minima > 3 * HALO_NEAR
            far_blocks += int(far.sum())
            useful += int((floors[far] > HALO_NEAR).sum())
    assert len(displacements) >= 4  # several world fields and none among them
    assert useful >= 0.8 * far_blocks


@pytest.mark.parametrize("weights", [[1.0] * 11, [0.5, 1.0, 2.0, 0.0, 3.0, 0.1], [2.0, 1e-9]])
def test_weighted_pick_is_numpy_choice_draw(weights):
    """``_pick`` keeps the stream of ``Generator.choice(p=...)`` (samples made before it
    replaced that call stay the same), zero weights included."""
    from fdif_core.compose import _pick

    names = [f"n{i}" for i in range(len(weights))]
    p = np.asarray(weights) / np.sum(weights)
    ours, numpys = np.random.default_rng(3), np.random.default_rng(3)
    picks = [_pick(ours, names, weights) for _ in range(5000)]
    assert picks == [names[int(numpys.choice(len(names), p=p))] for _ in range(5000)]
    assert all(w > 0 for w, n in zip(weights, names, strict=True) if n in set(picks))


def test_placement_metadata_names_every_field_in_order():
    placement = Placement(1.5, -2.0, 3.25, 0.1, -0.2, 0.3, 0.01, -0.02, 0.03)
    assert placement.to_dict() == dataclasses.asdict(placement)
    assert tuple(placement.to_dict()) == PLACEMENT_PARAMS
