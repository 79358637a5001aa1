"""Library browser (search, thumbnails, double-click), the Help dialogs, and launching the
studio as a user does (``--help`` without a display, no display, ``--screenshot``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QImage

from app.actions import ACTIONS
from fdif_core.library import shape_library
from fdif_core.thumbnails import thumbnail_path
from tests.app.conftest import image_array, wait_for_preview

ROOT = Path(__file__).resolve().parents[2]


def test_search_filters_by_canonical_name_and_alias(studio, qtbot):
    library = studio.library
    everything = library.visible_shapes()
    assert len(everything) == len(shape_library().ordered())
    qtbot.keyClicks(library.search, "torus")
    shown = library.visible_shapes()
    assert shown and all("torus" in name or "torus" in " ".join(shape_library().get(name).aliases)
                         for name in shown)
    assert "sphere" not in shown
    # a reference alias finds the class whose canonical name differs
    alias_owner = next(s for s in shape_library().ordered()
                       if s.aliases and s.aliases[0].lower() not in s.name)
    library.search.setText(alias_owner.aliases[0])
    assert alias_owner.name in library.visible_shapes()
    library.search.setText("no class is called this")
    assert library.visible_shapes() == []
    library.search.clear()
    assert library.visible_shapes() == everything


def test_double_click_opens_the_class(studio, qtbot):
    library = studio.library
    index = library.find("sphere")
    rect = library.tree.visualRect(index)
    viewport = library.tree.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # as a hand does:
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())  # press, then double
    result = wait_for_preview(qtbot, studio)
    assert studio.document.shape.name == "sphere"
    assert result.request.shape.name == "sphere"


def test_thumbnails_are_drawn_once_and_cached_by_content_hash(qtbot, settings):
    from app.panels.library import LibraryBrowser

    sphere = shape_library().get("sphere")
    cached = thumbnail_path(sphere)
    cached.unlink(missing_ok=True)
    browser = LibraryBrowser(thumbnails=True)
    qtbot.addWidget(browser)
    try:
        qtbot.waitUntil(cached.is_file, timeout=60000)
        item = browser.model.itemFromIndex(browser.proxy.mapToSource(browser.find("sphere")))
        qtbot.waitUntil(lambda: not item.icon().isNull(), timeout=5000)
        icon = image_array(item.icon().pixmap(32, 32).toImage())
        assert icon.std() > 10  # a drawn shape, not a blank square
        assert cached.name.startswith(sphere.content_hash[:32])
        stamp = cached.stat().st_mtime_ns
    finally:
        browser.shutdown()
    again = LibraryBrowser(thumbnails=True)  # a second start reuses the file
    qtbot.addWidget(again)
    try:
        item = again.model.itemFromIndex(again.proxy.mapToSource(again.find("sphere")))
        assert not item.icon().isNull()
        assert cached.stat().st_mtime_ns == stamp
    finally:
        again.shutdown()


def test_shortcuts_dialog_lists_every_shortcut(studio):
    from app.dialogs import ShortcutsDialog

    dialog = ShortcutsDialog(studio)
    table = dialog.table
    rows = {(table.item(r, 0).text(), table.item(r, 1).text()) for r in range(table.rowCount())}
    for spec in ACTIONS:
        if spec.shortcut:
            assert (spec.shortcut, spec.text.replace("&", "")) in rows
    assert any(keys == "Left drag in 3D" for keys, _ in rows)
    # the shortcuts in the table are the ones the window answers to
    assert studio.actions["reroll"].shortcut().toString() == "R"


def test_about_names_the_versions(studio):
    import torch
    import vtk
    from PyQt6.QtCore import QT_VERSION_STR

    from app.dialogs import about_text

    text = about_text()
    for expected in (torch.__version__, vtk.vtkVersion.GetVTKVersion(), QT_VERSION_STR):
        assert expected in text


def _studio(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_help_needs_no_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    done = _studio("--help", env=env)
    assert done.returncode == 0
    assert "usage: fdif-studio" in done.stdout and "--screenshot" in done.stdout


def test_no_display_says_what_to_do():
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = _studio(env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == ("fdif-studio: no display: start the studio with "
                                   "scripts/studio.sh, which runs it on a virtual display (Xvfb) "
                                   "and saves a screenshot, or set DISPLAY")


def test_screenshot_run_opens_a_file_and_saves_the_window(tmp_path):
    png = tmp_path / "shot.png"
    done = _studio("--size", "1400x900", "--settings", str(tmp_path / "s.ini"), "--screenshot",
                   str(png), "shapes/library/organic_blob.toml")
    assert done.returncode == 0, done.stderr
    assert f"screenshot saved to {png}" in done.stderr
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1400, 900)
    pixels = image_array(image)
    r, g, b = (pixels[..., i].astype(int) for i in range(3))
    assert ((r > 150) & (r > g + 30) & (g > b)).mean() > 0.002  # the orange surface in 3D
    assert np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0).shape[0] > 200
