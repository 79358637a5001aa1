"""Reading a dataset card back: ``find_card`` / ``read_card`` (the studio's card viewer)."""

from __future__ import annotations

import json
import shutil

import pytest

from fdif_core.datasets.card import CARD_JSON, CARD_MARKDOWN, CARD_PNG, find_card, read_card
from fdif_core.errors import FdifError, FileFormatError
from tests.core.datasets_util import run_cli, tiny_preset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card")
    preset = tiny_preset(folder, n=16, num=3, val=1)
    out = folder / "out"
    assert run_cli("--preset", str(preset), "--out", str(out)) == 0
    return out


def test_read_card_returns_the_files_generate_wrote(dataset):
    card = read_card(dataset)
    assert card.folder == dataset
    assert card.card == json.loads((dataset / CARD_JSON).read_text())
    assert card.card["statistics"]["samples"] == 4
    assert [c["name"] for c in card.card["classes"]] == [
        "background", "Sphere + inverse_cube", "Torus + inverse_cube", "Cone + inverse_cube",
        "SquarePrism + inverse_cube"]
    assert card.markdown == (dataset / CARD_MARKDOWN).read_text()
    assert card.preview_png == (dataset / CARD_PNG).read_bytes()
    assert card.preview_path == dataset / CARD_PNG


def test_a_card_one_folder_down_is_found(dataset, tmp_path):
    inner = tmp_path / "Dataset998_X"
    inner.mkdir()
    (tmp_path / "a_plain_folder").mkdir()
    for name in (CARD_JSON, CARD_MARKDOWN):
        shutil.copy(dataset / name, inner / name)
    assert find_card(tmp_path) == inner
    card = read_card(tmp_path)
    assert card.folder == inner and card.preview_png is None
    assert find_card(tmp_path / "a_plain_folder") is None


def test_a_folder_without_a_dataset_is_named(tmp_path):
    with pytest.raises(FdifError) as err:
        read_card(tmp_path)
    assert str(err.value) == (f"{tmp_path}: no fdif dataset here (no dataset_card.json in it or "
                              "in its subfolders)")
    with pytest.raises(FdifError, match="not a folder"):
        read_card(tmp_path / "missing")


def test_an_unfinished_dataset_says_how_far_it_got(dataset, tmp_path):
    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest.update(complete=[[0, 1]], finished=False)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FdifError) as err:
        read_card(tmp_path)
    assert str(err.value).startswith(f"{tmp_path}: the dataset is not complete (2 of 4 samples)")


def test_a_broken_card_is_a_file_format_error(tmp_path):
    (tmp_path / CARD_JSON).write_text("[1, 2")
    with pytest.raises(FileFormatError, match="not a readable dataset card"):
        read_card(tmp_path)
    (tmp_path / CARD_JSON).write_text("[1, 2]")
    with pytest.raises(FileFormatError, match="no 'statistics'"):
        read_card(tmp_path)
