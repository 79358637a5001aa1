"""Bad shape, preset and bundle files are refused where they are read, with one line on stderr
naming the file, the field and the problem (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fdif_core.cli import main

SPHERE = '[shape]\nkind = "sphere"\n[shape.params]\nr = "r"\n'


def _refused(capsys, args: list[str]) -> str:
    """Run the CLI, expect exit code 2 and one line on stderr; return that line."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err[:500]
    return err.removeprefix("fdif: error: ").rstrip("\n")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# -- item 6: one line, the real reason -------------------------------------------------------
@pytest.mark.parametrize("verb", ["shapes", "presets"])
def test_an_empty_file_is_one_line(tmp_path, capsys, verb):
    path = _write(tmp_path, "empty.toml", "")
    assert _refused(capsys, [verb, "validate", str(path)]) == f"{path}: empty (no fields)"


def test_many_bad_keys_are_one_line(tmp_path, capsys):
    keys = "".join(f"bad_{i} = 1\n" for i in range(20000))
    path = _write(tmp_path, "keys.toml", f'name = "k"\n{keys}{SPHERE}')
    assert _refused(capsys, ["shapes", "validate", str(path)]) == \
        f"{path}: bad_0: unknown field (and 19999 more)"


def test_bad_keys_in_nested_tables_are_named_with_their_path(tmp_path, capsys):
    path = _write(tmp_path, "p.toml", 'name = "p"\nclasses = ["sphere"]\n[dataset]\nsed = 1\n')
    assert _refused(capsys, ["presets", "validate", str(path)]) == \
        f"{path}: dataset.sed: unknown field"
    path = _write(tmp_path, "s.toml", 'name = "s"\n[shape]\nkind = "sphere"\nparam = 1\n')
    assert _refused(capsys, ["shapes", "validate", str(path)]) == \
        f"{path}: shape.param: unknown field"


def test_union_alternatives_fold_into_the_real_reason(tmp_path, capsys):
    path = _write(tmp_path, "u.toml", 'name = "u"\n[params.r]\ndist = "uniform"\nlow = "x"\n'
                  f'high = 1\n{SPHERE}')
    assert _refused(capsys, ["shapes", "validate", str(path)]) == (
        f"{path}: params.r.low: Input should be a valid number, unable to parse string as a "
        "number (got 'x')")
    path = _write(tmp_path, "m.toml", f'name = "m"\n[params.r]\ndist = "uniform"\nlow = 1\n{SPHERE}')
    assert _refused(capsys, ["shapes", "validate", str(path)]) == \
        f"{path}: params.r.high: required field is missing"


def test_parameter_names_that_look_like_type_labels_stay_in_the_path(tmp_path, capsys):
    text = ('name = "t"\n[params.strength]\ndist = "uniform"\nlow = 2\nhigh = 1\n'
            '[shape]\nkind = "sphere"\n[shape.params]\nr = "strength"\n')
    path = _write(tmp_path, "t.toml", text)
    assert _refused(capsys, ["shapes", "validate", str(path)]) == \
        f"{path}: params.strength: low 2.0 is above high 1.0"


def test_several_problems_are_counted(tmp_path, capsys):
    path = _write(tmp_path, "g.toml", 'name = "g"\nclasses = ["sphere"]\ngrid = [8, "a", 8]\n'
                  'objects = "x"\n[dataset]\nseed = -1\n')
    assert _refused(capsys, ["presets", "validate", str(path)]) == (
        f"{path}: grid[1]: Input should be a valid integer, unable to parse string as an "
        "integer (got 'a') (and 2 more)")
