"""Files in the studio: save to the library, save as, unsaved changes, drag and drop, export."""

from __future__ import annotations

import struct
from pathlib import Path

from PyQt6.QtCore import QMimeData, QPointF, Qt, QUrl
from PyQt6.QtGui import QDropEvent
from PyQt6.QtWidgets import QApplication, QMessageBox

from app.dialogs import SaveToLibraryDialog
from fdif_core.cli import main as fdif
from fdif_core.library import load_shape_file, user_root
from tests.app.conftest import wait_for_preview


def _edit(studio, qtbot) -> None:
    studio.inspector.select(())
    assert studio.inspector.set_node_param("profile", "cone")
    wait_for_preview(qtbot, studio)


def test_save_to_library_validates_and_reopens_with_the_same_hash(studio, qtbot, monkeypatch):
    _edit(studio, qtbot)
    dialog = SaveToLibraryDialog(studio.document.data)
    dialog.name.setText("Bad Name")
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Save).isEnabled()
    assert "name" in dialog.problem.text()
    dialog.name.setText("my_cone_star")
    dialog.description.setPlainText("A star prism tapering to a point.")
    assert dialog.buttons.button(dialog.buttons.StandardButton.Save).isEnabled()
    monkeypatch.setattr(studio.files, "ask_library_entry", dialog.shape)
    assert studio.files.save_to_library()
    path = user_root() / "shapes" / "my_cone_star.toml"
    assert path.is_file()
    saved = load_shape_file(path)
    assert saved.content_hash == studio.document.shape.content_hash
    assert saved.description == "A star prism tapering to a point."
    assert fdif(["shapes", "validate", str(path)]) == 0
    assert not studio.isWindowModified() and studio.document.path == path
    assert "my_cone_star" in studio.library.visible_shapes()
    assert studio.files.open_path(path)
    assert studio.document.shape.content_hash == saved.content_hash


def test_unsaved_changes_are_asked_about_and_save_as_writes(studio, qtbot, monkeypatch, tmp_path):
    _edit(studio, qtbot)
    assert studio.isWindowModified() and "[*]" in studio.windowTitle()
    assert studio.files.recent() == []
    monkeypatch.setattr(studio.files, "ask_discard", lambda *_: QMessageBox.StandardButton.Cancel)
    data = studio.document.data
    assert not studio.files.new()
    assert studio.document.data == data
    target = tmp_path / "mine.toml"
    monkeypatch.setattr(studio.files, "ask_save_path", lambda *_: str(target))
    monkeypatch.setattr(studio.files, "ask_discard", lambda *_: QMessageBox.StandardButton.Save)
    assert studio.files.new()  # saves first, then starts anew
    assert load_shape_file(target).content_hash != studio.document.shape.content_hash
    assert studio.document.shape.shape.kind == "sphere"
    assert studio.files.recent()[0] == str(target.resolve())


def test_a_file_that_does_not_load_costs_nothing(studio, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("name = 'x'\n[shape]\nkind = 'no_such_kind'\n")
    data = studio.document.data
    assert not studio.files.open_path(bad)
    assert studio.document.data == data
    assert studio.workspace.banner.isVisible() and "broken.toml" in studio.workspace.banner.text()


def _drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert event.isAccepted()


def test_drag_and_drop_opens_a_class_and_a_preset(studio, qtbot):
    from fdif_core.library import builtin_root

    shape = builtin_root() / "shapes" / "library" / "bean.toml"
    _drop(studio, shape)
    assert studio.document.shape.name == "bean"
    wait_for_preview(qtbot, studio)
    preset = sorted((builtin_root() / "presets").glob("*.toml"))[0]
    _drop(studio, preset)
    titles = [studio.library.model.item(r).text() for r in range(studio.library.model.rowCount())]
    assert titles[0].startswith("Preset: ")
    assert studio.document.read_only


def test_export_mesh_writes_the_surface_shown(studio, tmp_path):
    out = tmp_path / "surface.stl"
    assert studio.export_mesh(str(out))
    data = out.read_bytes()
    (triangles,) = struct.unpack("<I", data[80:84])
    assert triangles == studio.result.mesh.n_cells
    assert len(data) == 84 + 50 * triangles


def test_screenshot_saves_png_and_copies_to_clipboard(studio, tmp_path):
    out = tmp_path / "view.png"
    assert studio.screenshot(str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not QApplication.clipboard().image().isNull()


def test_layout_and_recent_files_persist(qtbot, settings, tmp_path):
    from app.main_window import MainWindow

    first = MainWindow(settings, thumbnails=False)
    first.resize(1501, 901)
    first.show()
    first.files._remember(tmp_path / "a.toml")
    first.close()
    second = MainWindow(settings, thumbnails=False)
    try:
        assert second.size().height() == 901  # (the virtual screen is 1280 wide)
        assert second.files.recent() == [str((tmp_path / "a.toml").resolve())]
        assert second.recent_menu.actions()[0].text() == str((tmp_path / "a.toml").resolve())
    finally:
        second.shutdown()
        second.deleteLater()
