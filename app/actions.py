"""The studio's actions: one table for menus, shortcuts and the Help → Shortcuts dialog."""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QWidget


@dataclass(frozen=True)
class ActionSpec:
    """A user action: ``key`` names the window method it calls."""

    key: str
    text: str
    shortcut: str = ""
    tip: str = ""
    menu: str = ""
    checkable: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("new", "&New Class", "Ctrl+N", "Start a new class (a sphere)", "File"),
    ActionSpec("new_preset", "New &Preset", "Ctrl+Shift+N",
               "Start a new preset (64³, 2–5 spheres) in composition mode", "File"),
    ActionSpec("open", "&Open…", "Ctrl+O", "Open a shape class, preset or bundle", "File"),
    ActionSpec("save", "&Save", "Ctrl+S", "Save the class or preset to its file", "File"),
    ActionSpec("save_as", "Save &As…", "Ctrl+Shift+S", "Save the class or preset to a new file",
               "File"),
    ActionSpec("save_to_library", "Save to &Library…", "Ctrl+L",
               "Validate and save the class or preset into your user library", "File"),
    ActionSpec("export_bundle", "Export Preset as &Bundle…", "Ctrl+B",
               "Write the preset and every class it uses to one .fdifbundle file", "File"),
    ActionSpec("import_bundle", "&Import Bundle…", "",
               "See a bundle's contents, then add its preset and classes to your library", "File"),
    ActionSpec("export_mesh", "&Export Mesh…", "Ctrl+E", "Write the surface shown (STL, OBJ, PLY, VTK)",
               "File"),
    ActionSpec("screenshot", "Screens&hot of the 3D View…", "Ctrl+Shift+P",
               "Save the 3D view as PNG and copy it to the clipboard", "File"),
    ActionSpec("quit", "&Quit", "Ctrl+Q", "Close the studio", "File"),
    ActionSpec("undo", "&Undo", "Ctrl+Z", "Undo the last edit", "Edit"),
    ActionSpec("redo", "&Redo", "Ctrl+Shift+Z", "Redo the edit undone last", "Edit"),
    ActionSpec("reroll", "Re&roll Instance", "R", "Draw a new seed (unless pinned)", "Edit"),
    ActionSpec("next_sample", "&Next Sample", "N", "Show the next sample of the preset", "Edit"),
    ActionSpec("previous_sample", "&Previous Sample", "P", "Show the previous sample", "Edit"),
    ActionSpec("remove_node", "Remove &Node", "Delete", "Remove the selected node", "Edit"),
    ActionSpec("move_up", "Move Node &Up", "Ctrl+Up", "Move the node before its previous sibling",
               "Edit"),
    ActionSpec("move_down", "Move Node &Down", "Ctrl+Down", "Move the node after its next sibling",
               "Edit"),
    ActionSpec("find", "&Find Class", "Ctrl+F", "Search the library by name or alias", "Edit"),
    ActionSpec("mode_designer", "&Designer", "F2", "Design one shape class", "View"),
    ActionSpec("mode_composition", "Co&mposition", "F3",
               "Whole samples of a preset, as fdif generate writes them", "View"),
    ActionSpec("view_3d", "Maximise &3D View", "Ctrl+1", "Show the 3D view alone (again: all four)",
               "View"),
    ActionSpec("view_axial", "Maximise &Axial", "Ctrl+2", "Show the axial view alone", "View"),
    ActionSpec("view_coronal", "Maximise &Coronal", "Ctrl+3", "Show the coronal view alone", "View"),
    ActionSpec("view_sagittal", "Maximise Sa&gittal", "Ctrl+4", "Show the sagittal view alone", "View"),
    ActionSpec("view_grid", "All Four &Views", "Ctrl+0", "Show the 2 × 2 grid", "View"),
    ActionSpec("reset_camera", "Reset &Camera", "Home", "Fit the 3D view to the grid", "View"),
    ActionSpec("reset_window", "Reset &Window/Level", "Ctrl+R", "Window 128, level 64: the image range",
               "View"),
    ActionSpec("toggle_overlay", "Label &Overlay", "O", "Show or hide the label overlay", "View", True),
    ActionSpec("toggle_outline", "Label Out&line", "Shift+O", "Draw the labels as outlines", "View",
               True),
    ActionSpec("toggle_planes", "Slice &Planes in 3D", "Shift+P", "Show the three slice planes in 3D",
               "View",
               True),
    ActionSpec("toggle_intensity", "Colour Surface by &Intensity", "I",
               "Colour the surface by the mapped image", "View", True),
    ActionSpec("new_generation_job", "New &Generation Job…", "",
               "Generate a dataset from a preset (fdif generate)", "Jobs"),
    ActionSpec("new_training_job", "New &Training Job…", "",
               "Pre-train a network on a preset's stream or a dataset (fdif train)", "Jobs"),
    ActionSpec("new_finetune_job", "New &Fine-tuning Job…", "",
               "Fine-tune a pre-trained checkpoint on a dataset (fdif finetune)", "Jobs"),
    ActionSpec("open_dataset", "Open &Dataset…", "",
               "Show a generated dataset's card: statistics, classes, preview", "Jobs"),
    ActionSpec("shortcuts", "&Keyboard Shortcuts", "F1", "This list", "Help"),
    ActionSpec("about", "&About FDIF Studio", "", "Versions of the studio and its libraries", "Help"),
)

MOUSE_HELP = (
    ("Left click / drag in a slice", "Move the crosshair (the other views follow)"),
    ("Shift + move in a slice", "Move the crosshair without clicking"),
    ("Wheel, ↑ ↓ ← →", "Step the slice"),
    ("Page Up / Page Down", "Step five slices"),
    ("Right drag in a slice", "Window (left–right) and level (up–down)"),
    ("Middle drag / Ctrl + wheel", "Pan / zoom a slice"),
    ("Left drag in 3D", "Rotate the camera about the focal point"),
    ("Middle drag / Shift + left drag in 3D", "Pan the camera"),
    ("Right drag / wheel in 3D", "Zoom the camera"),
    ("Double-click a view's title", "Maximise it; again to restore"),
)


def make_actions(owner: QWidget) -> dict[str, QAction]:
    """One ``QAction`` per :data:`ACTIONS` entry, parented to ``owner``."""
    actions = {}
    for spec in ACTIONS:
        action = QAction(spec.text, owner)
        if spec.shortcut:
            action.setShortcut(QKeySequence(spec.shortcut))
        action.setToolTip(f"{spec.tip} ({spec.shortcut})" if spec.shortcut else spec.tip)
        action.setStatusTip(spec.tip)
        action.setCheckable(spec.checkable)
        actions[spec.key] = action
    return actions
