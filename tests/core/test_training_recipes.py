"""Named training configurations (``--recipe``): laid over the defaults, under file and flags."""

import pytest

from fdif_core.cli import build_parser
from fdif_core.errors import FdifError
from fdif_core.training.config import TrainConfig, load_config
from fdif_core.training.recipes import RECIPES


def test_paper_recipe_is_the_defaults():
    assert load_config(recipe="paper") == TrainConfig()


def test_smoke_recipe_sets_its_fields_and_flags_win(tmp_path):
    config = load_config(recipe="smoke", overrides={"max_steps": 7})
    assert config.model == "unet"
    assert config.crop_size == (32, 32, 32)
    assert config.val_samples == 4
    assert config.max_steps == 7
    file = tmp_path / "run.toml"
    file.write_text("crops_per_volume = 3\n")
    assert load_config(file, recipe="smoke").crops_per_volume == 3


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(FdifError, match="unknown recipe 'fast' \\(known: smoke, paper\\)"):
        load_config(recipe="fast")


def test_train_help_lists_every_recipe(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for recipe in RECIPES.values():
        assert " ".join(f"{recipe.name}: {recipe.summary}".split()) in text


@pytest.mark.parametrize("verb", ["train", "finetune"])
def test_help_says_how_long_the_paper_recipe_takes_on_a_cpu(capsys, verb):
    from fdif_core.training.recipes import PAPER_ON_A_CPU

    with pytest.raises(SystemExit):
        build_parser().parse_args([verb, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert " ".join(PAPER_ON_A_CPU.split()) in text
    assert "Measured 2026-12-07 on a 2-core AMD EPYC" in text and "about 16 days" in text
