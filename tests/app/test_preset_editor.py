"""The preset editor of composition mode, driven as a person uses it: the picker, a drop from
the library browser, spin boxes, the undo action, refused edits and Save As."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PyQt6.QtWidgets import QApplication, QDialogButtonBox

from app.panels.library import CLASS_MIME
from fdif_core.cli import main as fdif
from fdif_core.presets import preset_from_file

TRAIN_TINY = Path(__file__).parents[1] / "core" / "fixtures" / "train_tiny.toml"


def wait_for_sample(qtbot, studio, after: int = 0):
    """Wait until composition mode shows the answer to its newest request (newer than
    ``after``)."""
    composition = studio.composition
    qtbot.waitUntil(lambda: composition.settled and composition.result is not None
                    and composition.result.request.number > after, timeout=30000)
    return composition.result


@pytest.fixture
def tiny(studio, qtbot):
    """The studio in composition mode on tests/core/fixtures/train_tiny.toml (24³, 4 classes:
    sphere, torus, cone, square_prism), its first sample shown."""
    assert studio.files.open_path(TRAIN_TINY)
    assert studio.mode == "composition" and studio.docks["preset"].isVisible()
    wait_for_sample(qtbot, studio)
    return studio


def _class_names(studio) -> list[str]:
    return [e["name"] for e in studio.composition.document.data["classes"]]


def test_add_a_class_with_the_picker_and_by_drop_from_the_library(tiny, qtbot):
    editor, document = tiny.preset_editor, tiny.composition.document
    table = editor.lists["classes"]
    assert editor.summary.text() == "4 classes → label ids 1..4"
    qtbot.mouseClick(table.add, Qt.MouseButton.LeftButton)
    picker = editor.picker
    assert picker.isVisible()
    qtbot.keyClicks(picker.search, "octahedron")
    assert picker.visible_names() == ["octahedron"]
    picker.list.findItems("octahedron", Qt.MatchFlag.MatchContains)[0].setSelected(True)
    qtbot.mouseClick(picker.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert _class_names(tiny) == ["sphere", "torus", "cone", "square_prism", "octahedron"]
    assert document.undo_stack.count() == 1
    assert document.undo_stack.undoText() == "Add class octahedron"
    assert table.table.item(4, 0).text() == "5" and table.selected() == "octahedron"
    assert editor.summary.text() == "5 classes → label ids 1..5"
    qtbot.mouseClick(table.up, Qt.MouseButton.LeftButton)  # the class ids follow the order
    assert _class_names(tiny) == ["sphere", "torus", "cone", "octahedron", "square_prism"]
    assert document.undo_stack.undoText() == "Move class octahedron up"
    assert table.selected() == "octahedron" and table.table.item(3, 1).text() == "octahedron"
    assert table.table.item(3, 0).text() == "4"

    index = tiny.library.find("cylinder")
    assert index.flags() & Qt.ItemFlag.ItemIsDragEnabled
    mime = tiny.library.proxy.mimeData([index])  # what dragging the row carries
    assert bytes(mime.data(CLASS_MIME)).decode() == "cylinder"
    target = table.table.viewport()
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    requested = tiny.composition.service.latest
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    assert drop.isAccepted()
    assert _class_names(tiny)[-1] == "cylinder" and document.undo_stack.count() == 3
    assert editor.summary.text() == "6 classes → label ids 1..6"
    assert tiny.composition.service.latest == requested + 1  # the sample renders again
    shown = wait_for_sample(qtbot, tiny, requested)
    assert [c.name for c in shown.request.loaded.preset.classes][-1] == "cylinder"


def test_weight_steps_are_one_undo_entry_and_undo_shows_the_old_weight(tiny, qtbot, monkeypatch):
    monkeypatch.setattr("app.composition.preset_fields.GESTURE_GAP_S", 30.0)  # a slow machine
    editor, document = tiny.preset_editor, tiny.composition.document
    spin = editor.lists["classes"].spins["torus"]
    first = tiny.composition.result.request.number
    wheel = QWheelEvent(QPointF(5, 5), QPointF(spin.mapToGlobal(QPoint(5, 5))), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(spin, wheel)  # a wheel over a field without focus scrolls the table
    assert spin.value() == 1.0 and document.undo_stack.count() == 0
    spin.setFocus()
    for _ in range(3):
        qtbot.keyClick(spin, Qt.Key.Key_Up)  # three steps of one gesture
    torus = document.data["classes"][1]
    assert torus == {"name": "torus", "weight": 1.3}
    assert document.undo_stack.count() == 1
    assert document.undo_stack.undoText() == "Set weight of torus to 1.3"
    shown = wait_for_sample(qtbot, tiny, first)
    assert shown.request.loaded.preset.classes[1].weight == 1.3

    spin.selectAll()
    qtbot.keyClicks(spin, "2.5")
    qtbot.keyClick(spin, Qt.Key.Key_Return)  # a typed value is an entry of its own
    assert document.data["classes"][1]["weight"] == 2.5 and document.undo_stack.count() == 2

    tiny.actions["undo"].trigger()
    assert document.data["classes"][1]["weight"] == 1.3 and spin.value() == 1.3
    tiny.actions["undo"].trigger()
    assert document.data["classes"][1]["weight"] == 1.0 and spin.value() == 1.0
    assert not tiny.isWindowModified()


def test_refused_edits_say_why_and_change_nothing(tiny, qtbot, caplog):
    editor, document = tiny.preset_editor, tiny.composition.document
    before = document.data
    objects = editor.fields["objects"]
    objects.low.selectAll()
    with caplog.at_level(logging.WARNING, logger="fdif.studio"):
        qtbot.keyClicks(objects.low, "9")
        qtbot.keyClick(objects.low, Qt.Key.Key_Return)
    message = "preset: objects: [9, 3] must satisfy 1 <= min <= max <= 1000"
    assert editor.problem.isVisible() and editor.problem.text() == message
    assert f"preset edit refused: {message}" in caplog.messages
    assert document.data == before and document.undo_stack.count() == 0
    assert objects.low.value() == 2  # the document's value again

    table = editor.lists["classes"]
    for name in ("torus", "cone", "square_prism"):
        qtbot.mouseClick(table.table.cellWidget(table.names.index(name), 3),
                         Qt.MouseButton.LeftButton)
    assert _class_names(tiny) == ["sphere"] and not editor.problem.isVisible()
    qtbot.mouseClick(table.table.cellWidget(0, 3), Qt.MouseButton.LeftButton)
    assert editor.problem.text() == ("classes: 'sphere' is the last class of the preset; add "
                                     "another before removing it")
    assert _class_names(tiny) == ["sphere"] and document.undo_stack.count() == 3


def test_an_edited_builtin_preset_saves_to_a_new_file_that_validates(studio, qtbot, monkeypatch,
                                                                     tmp_path):
    studio.set_mode("composition")
    document = studio.composition.document
    assert document.read_only and document.preset.name == "quick"
    editor = studio.preset_editor
    name = editor.fields["name"]
    name.selectAll()
    qtbot.keyClicks(name, "my_quick")
    qtbot.keyClick(name, Qt.Key.Key_Return)
    editor.fields["grid"].cube.setChecked(True)
    grid = editor.fields["grid"].axes[0]
    grid.selectAll()
    qtbot.keyClicks(grid, "32")
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert document.data["grid"] == [32, 32, 32] and document.data["name"] == "my_quick"
    assert "my_quick" in studio.windowTitle()
    target = tmp_path / "my_quick.toml"
    monkeypatch.setattr(studio.files, "ask_save_path", lambda *_: str(target))
    assert studio.files.save()  # built in: Save asks for a new file
    assert fdif(["presets", "validate", str(target)]) == 0
    assert preset_from_file(target) == document.preset
    assert document.path == target and not document.read_only and not studio.isWindowModified()
