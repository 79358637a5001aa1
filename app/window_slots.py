"""What each of the studio's actions does: the slot of every :data:`~app.actions.ACTIONS` entry,
connected to its ``QAction`` (``toggled`` for checkable ones)."""

from __future__ import annotations

from PyQt6.QtWidgets import QMessageBox

from app.dialogs import ShortcutsDialog, about_text
from app.state import IMAGE_WINDOW

#: maximise actions and the view each shows (``None``: all four)
VIEW_KEYS = {"view_3d": "3d", "view_axial": "axial", "view_coronal": "coronal",
             "view_sagittal": "sagittal", "view_grid": None}


def connect_actions(window) -> None:
    """Connect ``window.actions`` (the :class:`~app.main_window.MainWindow`'s) to their slots."""
    slots = {"new": window.files.new, "new_preset": window.files.new_preset,
             "open": window.files.open, "save": window.files.save,
             "save_as": window.files.save_as, "save_to_library": window.files.save_to_library,
             "export_bundle": window.bundles.export, "import_bundle": window.bundles.import_,
             "mode_designer": lambda: window.set_mode("designer"),
             "mode_composition": lambda: window.set_mode("composition"),
             "next_sample": lambda: window.composition.sample.step(1),
             "previous_sample": lambda: window.composition.sample.step(-1),
             "export_mesh": window.export_mesh, "screenshot": window.screenshot,
             "quit": window.close, "undo": window.undo_group.undo,
             "redo": window.undo_group.redo, "reroll": window.instance.reroll,
             "remove_node": window.inspector.remove_node,
             "move_up": lambda: window.inspector.move_node(-1),
             "move_down": lambda: window.inspector.move_node(1), "find": window.focus_search,
             "reset_camera": lambda: window.active_workspace.viewport.reset_camera(),
             "reset_window": lambda: window.active_view_state.set_window(*IMAGE_WINDOW),
             "toggle_overlay": window.set_overlay_visible,
             "toggle_outline": window.set_overlay_outline,
             "toggle_planes": window.set_planes_visible,
             "toggle_intensity": window.workspace.viewport.set_colour_by_intensity,
             "shortcuts": lambda: ShortcutsDialog(window).exec(),
             "about": lambda: QMessageBox.about(window, "About FDIF Studio", about_text()),
             "new_generation_job": lambda: window.jobs.new_job("generate"),
             "new_training_job": lambda: window.jobs.new_job("train"),
             "new_finetune_job": lambda: window.jobs.new_job("finetune"),
             "open_dataset": window.jobs.open_dataset}
    for key, name in VIEW_KEYS.items():
        slots[key] = lambda _=False, n=name: window.active_workspace.grid.maximise(n)
    for key, slot in slots.items():
        action = window.actions[key]
        (action.toggled if action.isCheckable() else action.triggered).connect(
            slot if action.isCheckable() else (lambda _=False, s=slot: s()))
