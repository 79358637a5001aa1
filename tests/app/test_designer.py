"""The shape designer driven as a person drives it: sliders, reroll, undo, crosshair, W/L."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import Qt

from tests.app.conftest import GRID, grab_array, image_array, mouse_drag, view_point, wait_for_preview


def _fix_star_width(studio, qtbot):
    """Select the star node and fix its ``w`` (a class parameter) to the drawn value."""
    inspector = studio.inspector
    inspector.select((0,))
    editor = inspector.node_editors["w"]
    drawn = editor.drawn
    qtbot.mouseClick(editor.fix, Qt.MouseButton.LeftButton)
    wait_for_preview(qtbot, studio)
    return drawn


def _drag_slider(slider, values) -> None:
    """A slider drag: press, move through ``values``, release (superqt's inner slider)."""
    inner = slider._slider
    inner.setSliderDown(True)
    for value in values:
        inner.setSliderPosition(value)
    inner.setSliderDown(False)


def test_opens_on_a_builtin_class_and_draws_all_views(studio):
    result = studio.result
    assert studio.document.shape.name == "five_star_prism"
    assert studio.document.read_only
    assert "five_star_prism" in studio.windowTitle()
    assert result.preview.grid.shape == (GRID,) * 3
    assert result.mesh.n_points > 1000
    assert studio.status["seed"].text() == "seed 0"
    assert studio.status["inside"].text() == f"inside {result.preview.inside:,} voxels"
    pixels = image_array(studio.workspace.viewport.grab_image())
    assert pixels.std() > 10
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    assert ((r > 150) & (r > g + 30) & (g > b)).mean() > 0.005  # the orange surface is drawn
    for view in studio.workspace.slices.values():
        shot = grab_array(view)
        lit = (shot.max(axis=2) > 40).mean()
        assert 0.01 < lit < 0.95, view.orientation.name


def test_slider_drag_changes_mesh_and_slices_merges_into_one_undo_entry(studio, qtbot):
    drawn = _fix_star_width(studio, qtbot)
    assert studio.document.data["shape"]["children"][0]["params"]["w"] == drawn
    before = studio.result
    axial_before = studio.workspace.slices["axial"].image_item.image.copy()
    count = studio.document.undo_stack.count()
    editor = studio.inspector.node_editors["w"]
    targets = np.linspace(drawn, 0.2, 8)[1:]
    _drag_slider(editor.slider, targets)
    after = wait_for_preview(qtbot, studio)
    w = studio.document.data["shape"]["children"][0]["params"]["w"]
    assert abs(w - 0.2) < 1e-3
    assert after.mesh.n_points != before.mesh.n_points
    assert not np.array_equal(studio.workspace.slices["axial"].image_item.image, axial_before)
    stack = studio.document.undo_stack
    assert stack.count() == count + 1  # the whole drag is one entry
    assert stack.text(stack.count() - 1) == f"Change w of star to {w:.4g}"
    assert studio.isWindowModified()

    stack.undo()
    undone = wait_for_preview(qtbot, studio)
    assert np.array_equal(undone.preview.sdf, before.preview.sdf)
    assert np.array_equal(undone.preview.image, before.preview.image)
    stack.redo()
    redone = wait_for_preview(qtbot, studio)
    assert np.array_equal(redone.preview.sdf, after.preview.sdf)
    assert studio.history.model().rowCount() == stack.count() + 1  # "Opened" + the entries


def test_reroll_draws_a_new_seed_unless_pinned(studio, qtbot):
    first = studio.result
    axial = studio.workspace.slices["axial"]
    axial.setFocus()
    qtbot.keyClick(axial, Qt.Key.Key_R)
    second = wait_for_preview(qtbot, studio)
    seed = second.request.settings.seed
    assert seed != 0
    assert studio.status["seed"].text() == f"seed {seed}"
    assert studio.instance_panel.seed.value() == seed
    assert second.preview.instance.params != first.preview.instance.params
    qtbot.mouseClick(studio.instance_panel.pin, Qt.MouseButton.LeftButton)
    assert studio.instance.pinned and not studio.instance_panel.reroll.isEnabled()
    qtbot.keyClick(axial, Qt.Key.Key_R)
    assert studio.instance.settings.seed == seed
    studio.instance_panel.seed.setValue(0)  # typing a seed brings the first instance back
    again = wait_for_preview(qtbot, studio)
    assert np.array_equal(again.preview.sdf, first.preview.sdf)


def test_crosshair_click_moves_the_other_views(studio, qtbot):
    axial, coronal, sagittal = (studio.workspace.slices[n] for n in ("axial", "coronal", "sagittal"))
    coronal_before = coronal.image_item.image.copy()
    z = studio.view_state.crosshair[0]
    qtbot.mouseClick(axial.viewport(), Qt.MouseButton.LeftButton, pos=view_point(axial, 20.5, 40.5))
    assert studio.view_state.crosshair == (z, 40, 20)
    assert coronal.index == 40 and sagittal.index == 20
    assert not np.array_equal(coronal.image_item.image, coronal_before)
    expected = studio.result.preview.image[:, 40, :]
    assert np.array_equal(coronal.image_item.image, expected)
    assert studio.workspace.frames["coronal"].info.text() == f"y 41 / {GRID}"
    # the 3D view's axial... planes follow: the coronal plane sits at world y of row 40
    grid = studio.result.preview.grid
    assert studio.workspace.viewport.scene_after_drawing().plane_position("coronal")[1] == \
        grid.start[1] + 40 * grid.step[1]
    # a drag moves it continuously; keys and the wheel step the slice
    mouse_drag(axial, Qt.MouseButton.LeftButton, view_point(axial, 20.5, 40.5),
               view_point(axial, 30.5, 10.5))
    assert studio.view_state.crosshair == (z, 10, 30)
    axial.setFocus()
    qtbot.keyClick(axial, Qt.Key.Key_Up)
    qtbot.keyClick(axial, Qt.Key.Key_PageUp)
    assert studio.view_state.crosshair[0] == z + 6
    assert studio.workspace.frames["axial"].info.text() == f"z {z + 7} / {GRID}"


def test_right_drag_changes_window_level_and_pixels(studio, qtbot):
    axial = studio.workspace.slices["axial"]
    before = grab_array(axial)
    start = view_point(axial, 32, 32)
    end = start.__class__(start.x() - 60, start.y() - 40)
    mouse_drag(axial, Qt.MouseButton.RightButton, start, end)
    state = studio.view_state
    assert (state.window, state.level) == (128 - 60, 64 + 40)
    assert axial.image_item.levels[0] == state.level - state.window / 2
    assert not np.array_equal(grab_array(axial), before)
    assert studio.workspace.controls.window_label.text() == "68 / 104"
    studio.actions["reset_window"].trigger()
    assert (state.window, state.level) == (128, 64)


def test_readout_reports_the_voxel_under_the_cursor(studio):
    axial = studio.workspace.slices["axial"]
    voxel = (studio.view_state.crosshair[0], 30, 33)
    preview = studio.result.preview
    text = axial.describe(voxel)
    assert f"intensity {int(preview.image[voxel])}" in text
    assert f"label {int(preview.label[voxel])}" in text
    assert f"distance {float(preview.sdf[voxel]):.3f}" in text
    grid = preview.grid
    assert f"x {grid.start[2] + 33 * grid.step[2]:.1f}" in text


def test_invalid_value_shows_an_error_and_changes_nothing(studio, qtbot):
    data = dict(studio.document.data)
    assert not studio.inspector.set_node_param("height", -5.0)  # below the spec's minimum 0
    assert studio.inspector.node_error.isVisible()
    assert "height" in studio.inspector.node_error.text()
    assert studio.document.data == data
    assert any(level == "warning" and "height" in text for level, text in studio.log_view.lines)
    editor = studio.inspector.class_editors["height"]
    scale = editor.widgets["scale"]
    scale.setText("min_dh*nonsense")
    scale.editingFinished.emit()
    assert editor.error.isVisible() and "nonsense" in editor.error.text()
    assert studio.document.data == data
    assert studio.isVisible()


def test_worker_failure_shows_a_banner_and_keeps_the_last_result(studio, qtbot, monkeypatch):
    import app.preview as preview_module

    shown = studio.result

    def refuse(shape, settings):
        raise ValueError("radius must be positive")

    monkeypatch.setattr(preview_module, "preview_class", refuse)
    studio.instance.update(seed=5)
    qtbot.waitUntil(lambda: studio.workspace.banner.isVisible(), timeout=10000)
    assert "radius must be positive" in studio.workspace.banner.text()
    assert studio.result is shown
    assert any(level == "error" for level, _ in studio.log_view.lines)
    monkeypatch.undo()
    studio.instance.update(seed=6)
    wait_for_preview(qtbot, studio)
    assert not studio.workspace.banner.isVisible()


def test_instance_settings_come_from_the_core(studio, qtbot):
    from fdif_core.preview import InstanceSettings, preview_class

    panel = studio.instance_panel
    panel.displacement.setCurrentText("twisted_x")
    panel.mapper.setCurrentText("linear_slope_10.0")
    panel.placement.setCurrentIndex(panel.placement.findData("random"))
    result = wait_for_preview(qtbot, studio)
    settings = InstanceSettings(seed=0, grid=(GRID,) * 3, placement="random", displacement="twisted_x",
                                mapper="linear_slope_10.0")
    assert result.request.settings == settings
    reference = preview_class(studio.document.shape, settings)  # what `fdif preview` computes
    assert np.array_equal(result.preview.sdf, reference.sdf)
    assert np.array_equal(result.preview.image, reference.image)
    lo, hi = reference.distance_range
    assert f"{lo:.1f}" in panel.curve.plotItem.titleLabel.text
    panel.grid.setCurrentIndex(panel.grid.findData(96))
    assert wait_for_preview(qtbot, studio).preview.grid.shape == (96, 96, 96)
    assert studio.view_state.shape == (96, 96, 96)


def test_node_tree_add_wrap_remove_with_undo(studio, qtbot):
    inspector = studio.inspector
    start = studio.document.data
    inspector.select(())
    assert inspector.wrap_node("union")
    wait_for_preview(qtbot, studio)
    assert studio.document.data["shape"]["kind"] == "union"
    wrapped = [c["kind"] for c in studio.document.data["shape"]["children"]]
    assert wrapped[0] == "extrude"
    assert inspector.add_node("sphere")
    result = wait_for_preview(qtbot, studio)
    kinds = [c["kind"] for c in studio.document.data["shape"]["children"]]
    assert kinds == [*wrapped, "sphere"]
    assert inspector.tree.topLevelItem(0).childCount() == len(kinds)
    assert result.preview.inside > 0
    assert inspector.remove_node()
    assert [c["kind"] for c in studio.document.data["shape"]["children"]] == wrapped
    stack = studio.document.undo_stack
    while stack.canUndo():
        stack.undo()
    assert studio.document.data == start
    assert not studio.isWindowModified()


def test_views_maximise_and_restore(studio, qtbot):
    frames = studio.workspace.frames
    studio.actions["view_axial"].trigger()
    assert frames["axial"].isVisible() and not frames["3d"].isVisible()
    studio.actions["view_axial"].trigger()
    assert all(frame.isVisible() for frame in frames.values())
    frames["3d"].button.click()
    assert frames["3d"].isVisible() and not frames["sagittal"].isVisible()
    studio.actions["view_grid"].trigger()
    assert all(frame.isVisible() for frame in frames.values())


def test_overlay_toggle_and_outline_change_label_pixels(studio, qtbot):
    axial = studio.workspace.slices["axial"]
    filled = axial.label_item.image.copy()
    assert axial.label_item.isVisible()
    qtbot.mouseClick(studio.workspace.controls.outline, Qt.MouseButton.LeftButton)
    assert studio.view_state.overlay_outline
    outlined = axial.label_item.image
    assert (outlined[..., 3] > 0).sum() < (filled[..., 3] > 0).sum()
    studio.actions["toggle_overlay"].trigger()
    assert not studio.view_state.overlay_visible and not axial.label_item.isVisible()
    assert not studio.workspace.controls.overlay.isChecked()
