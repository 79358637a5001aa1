"""The 3D view driven with the mouse: rotate, pan, zoom, standard views; frames drawn off the
GUI thread and coalesced."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PyQt6.QtCore import QPointF, Qt

from tests.app.conftest import image_array, mouse_drag


def _camera(view):
    return view.scene_after_drawing().camera_pose()


def _centre(view) -> QPointF:
    return QPointF(view.width() / 2, view.height() / 2)


def test_left_drag_rotates_about_the_focal_point(studio):
    view = studio.workspace.viewport
    position, focal, _ = _camera(view)
    before = image_array(view.grab_image())
    start = _centre(view)
    mouse_drag(view, Qt.MouseButton.LeftButton, start, start + QPointF(60, 0))
    moved, focal_after, _ = _camera(view)
    assert np.allclose(focal_after, focal)  # rotation keeps the focal point
    assert np.isclose(np.linalg.norm(moved - focal), np.linalg.norm(position - focal))
    assert not np.allclose(moved, position)
    assert not np.array_equal(image_array(view.grab_image()), before)


def test_horizontal_drag_is_an_azimuth_of_vtk_trackball_size(studio):
    view = studio.workspace.viewport
    view.standard_view("xy")  # looking down z, y up
    position, focal, up = _camera(view)
    width = view.scene_after_drawing().plotter.window_size[0]
    start = _centre(view)
    dx = width / 40  # VTK's trackball: 200 degrees per widget width -> 5 degrees
    mouse_drag(view, Qt.MouseButton.LeftButton, start, start + QPointF(dx, 0), steps=1)
    moved, _, up_after = _camera(view)
    before, after = position - focal, moved - focal
    angle = np.degrees(np.arccos(np.dot(before, after) / np.linalg.norm(before) / np.linalg.norm(after)))
    assert angle == pytest.approx(5.0, abs=0.05)
    assert np.allclose(up_after, up)  # an azimuth turns about the view-up axis


def test_wheel_and_right_drag_zoom_and_shift_drag_pans(qtbot, studio):
    view = studio.workspace.viewport
    position, focal, _ = _camera(view)
    distance = np.linalg.norm(position - focal)
    qtbot.wait(1)
    from PyQt6.QtGui import QWheelEvent
    from PyQt6.QtWidgets import QApplication

    event = QWheelEvent(_centre(view), view.mapToGlobal(_centre(view)), QPointF(0, 0).toPoint(),
                        QPointF(0, 240).toPoint(), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view, event)
    position2, focal2, _ = _camera(view)
    assert np.linalg.norm(position2 - focal2) == pytest.approx(distance / 1.1 ** 2, rel=1e-6)
    start = _centre(view)
    mouse_drag(view, Qt.MouseButton.RightButton, start, start + QPointF(0, 40))  # down: away
    position3, focal3, _ = _camera(view)
    assert np.linalg.norm(position3 - focal3) > np.linalg.norm(position2 - focal2)
    mouse_drag(view, Qt.MouseButton.LeftButton, start, start + QPointF(30, 0),
               modifiers=Qt.KeyboardModifier.ShiftModifier)
    position4, focal4, _ = _camera(view)
    assert np.allclose(position4 - focal4, position3 - focal3)  # a pan keeps the direction
    assert not np.allclose(focal4, focal3)
    # reset brings back the first view exactly
    view.reset_camera()
    reset, focal5, _ = _camera(view)
    assert np.allclose(reset, position) and np.allclose(focal5, focal)


def test_standard_views_look_along_the_axes(studio):
    view = studio.workspace.viewport
    for which, axis in (("xy", 2), ("xz", 1), ("yz", 0)):
        view.standard_view(which)
        position, focal, _ = _camera(view)
        direction = (position - focal) / np.linalg.norm(position - focal)
        assert abs(direction[axis]) == pytest.approx(1.0), which
    with pytest.raises(ValueError, match="unknown view 'top'"):
        view.standard_view("top")


def test_frames_are_drawn_off_the_gui_thread_and_coalesced(studio, monkeypatch):
    view = studio.workspace.viewport
    view.grab_image()
    scene = view.scene_after_drawing()
    threads, renders = [], []
    original = type(scene).render

    def spy(self):
        threads.append(threading.get_ident())
        renders.append(1)
        return original(self)

    monkeypatch.setattr(type(scene), "render", spy)
    for _ in range(30):  # thirty camera moves posted faster than a frame is drawn
        view.standard_view("xy")
        view.standard_view("isometric")
    view.grab_image()
    assert threads and threading.get_ident() not in threads
    assert len(renders) < 30
    assert view.frames >= 1
