"""Composition mode driven as a person drives it: open a preset, step through samples, pick an
object, hide labels, export and import the preset as a bundle."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from fdif_core.datasets.nifti import nifti_bytes
from tests.app.conftest import image_array
from tests.core.datasets_util import run_cli, tiny_preset


def wait_for_sample(qtbot, studio, timeout: int = 30000):
    """Wait until composition mode's newest request has been answered; its result."""
    mode = studio.composition
    qtbot.waitUntil(lambda: mode.settled and mode.result is not None, timeout=timeout)
    return studio.composition.result


@pytest.fixture
def tiny(tmp_path):
    return tiny_preset(tmp_path, n=32, num=4, val=0)


@pytest.fixture
def composing(studio, qtbot, tiny):
    """The studio in composition mode on the tiny preset."""
    assert studio.files.open_path(tiny)
    assert studio.mode == "composition"
    wait_for_sample(qtbot, studio)
    return studio


def _written(out, index):
    batch = f"batch_{index // 1000:04d}"
    return ((out / "data" / "image" / batch / f"sample_{index:05d}_x.nii.gz").read_bytes(),
            (out / "data" / "label" / batch / f"sample_{index:05d}_y.nii.gz").read_bytes())


def test_sample_shown_equals_the_files_fdif_generate_writes(composing, qtbot, tiny, tmp_path):
    out = tmp_path / "data"
    assert run_cli("--preset", str(tiny), "--out", str(out)) == 0
    panel = composing.composition.panel
    panel.navigator.index.setValue(3)
    result = wait_for_sample(qtbot, composing)
    assert (result.preview.seed, result.preview.index) == (3, 3)  # the preset's dataset seed
    image, label = _written(out, 3)
    assert nifti_bytes(result.preview.image) == image
    assert nifti_bytes(result.preview.label) == label
    axial = composing.composition.workspace.slices["axial"]
    z = composing.composition.view_state.crosshair[0]
    assert np.array_equal(axial.image_item.image, result.preview.image[z])
    assert composing.status["seed"].text() == "seed 3, sample 3"


def test_n_and_p_step_through_samples(composing, qtbot):
    window = composing
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert window.composition.sample.index == 1
    assert wait_for_sample(qtbot, window).preview.index == 1
    qtbot.keyClick(window, Qt.Key.Key_N)
    qtbot.keyClick(window, Qt.Key.Key_P)
    assert wait_for_sample(qtbot, window).preview.index == 1
    assert window.composition.panel.navigator.index.value() == 1
    qtbot.keyClick(window, Qt.Key.Key_P)
    qtbot.keyClick(window, Qt.Key.Key_P)  # no sample before 0
    assert window.composition.sample.index == 0
    assert not window.composition.panel.navigator.previous.isEnabled()


def _first_shown_row(table):
    return next(r for r, row in enumerate(table.rows) if row.shown > 0)


def test_clicking_an_object_row_highlights_it_in_every_view(composing, qtbot):
    mode = composing.composition
    table = mode.panel.objects
    preview = mode.result.preview
    r = _first_shown_row(table)
    row = preview.objects[r]
    rect = table.visualRect(table.model().index(r, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert mode.view_state.highlight == row.position
    assert mode.view_state.crosshair == tuple(round(c) for c in row.centre)
    held = preview.owner == row.position
    for view in mode.workspace.slices.values():
        assert view.highlight_item.isVisible()
        outline = view.highlight_item.image[..., 3] > 0  # opaque where the outline is drawn
        assert outline.any()
        assert not (outline & ~view.current("owner").astype(bool)).any()
    scene = mode.workspace.viewport.scene_after_drawing()
    assert scene.highlight_actor.GetVisibility()
    lo, hi = np.argwhere(held).min(axis=0), np.argwhere(held).max(axis=0)
    grid = preview.grid
    bounds = scene.highlight.bounds  # world x, y, z
    for world_axis, array_axis in ((0, 2), (1, 1), (2, 0)):
        start = grid.start[array_axis] + (lo[array_axis] - 1) * grid.step[array_axis]
        stop = grid.start[array_axis] + (hi[array_axis] + 1) * grid.step[array_axis]
        assert start <= bounds[2 * world_axis] and bounds[2 * world_axis + 1] <= stop
    # clicking elsewhere in the table clears nothing; a new sample clears the highlight
    qtbot.keyClick(composing, Qt.Key.Key_N)
    assert mode.view_state.highlight == 0


def test_double_clicking_an_object_opens_its_class_in_the_designer(composing, qtbot):
    table = composing.composition.panel.objects
    r = _first_shown_row(table)
    name = table.rows[r].shape
    rect = table.visualRect(table.model().index(r, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert composing.mode == "designer"
    assert composing.document.shape.name == name
    assert composing.modes.currentIndex() == 0


def test_labels_hide_show_and_fade(composing, qtbot):
    mode = composing.composition
    labels = mode.panel.labels
    value = labels.values[0]
    tick = labels.table.item(0, 0)
    tick.setCheckState(Qt.CheckState.Unchecked)
    assert value in mode.view_state.hidden_labels
    axial = mode.workspace.slices["axial"]
    assert axial._lut[value, 3] == 0
    scene = mode.workspace.viewport.scene_after_drawing()
    assert not scene.labels[value][1].GetVisibility()
    qtbot.mouseClick(labels.hide_all, Qt.MouseButton.LeftButton)
    assert mode.view_state.hidden_labels == frozenset(labels.values)
    assert all(labels.table.item(r, 0).checkState() == Qt.CheckState.Unchecked
               for r in range(len(labels.values)))
    qtbot.mouseClick(labels.show_all, Qt.MouseButton.LeftButton)
    assert mode.view_state.hidden_labels == frozenset()
    labels.opacity.setValue(40)
    scene = mode.workspace.viewport.scene_after_drawing()
    assert all(abs(actor.GetProperty().GetOpacity() - 0.4) < 1e-6
               for _, actor in scene.labels.values())
    pixels = image_array(mode.workspace.viewport.grab_image())
    assert pixels.std() > 10  # the surfaces are drawn


def test_multi_task_channels_can_be_chosen(studio, qtbot, tmp_path):
    preset = tiny_preset(tmp_path, name="multi", n=32, label_mode="multi_task",
                         mapper_mode="class", displacement_mode="class")
    assert studio.files.open_path(preset)
    result = wait_for_sample(qtbot, studio)
    navigator = studio.composition.panel.navigator
    assert navigator.task.isVisible()
    assert [navigator.task.itemText(i) for i in range(navigator.task.count())] == \
        ["shape", "displacement", "mapper"]
    navigator.task.activated.emit(1)
    result = wait_for_sample(qtbot, studio)
    assert result.task == 1
    shown = studio.composition.workspace.slices["axial"].volumes["label"]
    assert np.array_equal(shown, result.preview.label[..., 1])
    assert set(studio.composition.panel.labels.values) <= {1, 2}  # none, ridge


def test_export_bundle_and_import_it_into_a_fresh_library(composing, qtbot, tmp_path, monkeypatch):
    from fdif_core.library import clear_cache, user_root
    from fdif_core.presets import load_preset

    written = composing.bundles.export(tmp_path / "tiny_export")
    assert written == tmp_path / "tiny_export.fdifbundle"
    fresh = tmp_path / "fresh_user_library"
    monkeypatch.setenv("FDIF_USER_LIBRARY", str(fresh))
    clear_cache()
    shown = {}

    def confirm(path, plan):
        shown["steps"] = {(s.kind, s.name): s.action for s in plan.steps}
        return True

    monkeypatch.setattr(composing.bundles, "confirm_import", confirm)
    paths = composing.bundles.import_(written)
    assert shown["steps"][("preset", "tiny")] == "write"
    assert shown["steps"][("class", "sphere")] == "same"  # built-in classes are not copied
    assert paths == [user_root() / "presets" / "tiny.toml"]
    assert load_preset("tiny").preset == composing.composition.document.preset
    # importing again changes nothing; a different preset of that name is refused
    assert composing.bundles.import_(written) == []


def test_import_dialog_refuses_a_bundle_that_would_shadow(composing, qtbot, tmp_path, monkeypatch):
    from app.bundle_actions import BundleImportDialog
    from fdif_core.bundles import plan_import
    from fdif_core.library import user_root

    written = composing.bundles.export(tmp_path / "tiny")
    target = user_root() / "presets" / "tiny.toml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((tmp_path / "tiny.toml").read_text().replace("[2, 3]", "[1, 2]"))
    dialog = BundleImportDialog(written, plan_import(written))
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    assert "it would shadow it" in dialog.problem.text()
    monkeypatch.setattr(composing.bundles, "confirm_import", lambda path, plan: True)
    errors = []
    composing.bundles.failed.connect(errors.append)
    assert composing.bundles.import_(written) is None
    assert "it would shadow it" in errors[0]
