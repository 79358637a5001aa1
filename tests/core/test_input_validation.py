"""Bad shape, preset and bundle files are refused where they are read, with one line on stderr
naming the file, the field and the problem (exit code 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fdif_core.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
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


@pytest.mark.parametrize("verb,text", [
    ("presets", 'name = "m"\nclasses = [' + ", ".join(["1"] * 100_001) + "]\n"),
    ("shapes", 'name = "m"\n' + "".join(f"k{i} = 1\n" for i in range(100_001)) + SPHERE),
])
def test_files_with_too_many_values_are_one_line(tmp_path, capsys, verb, text):
    path = _write(tmp_path, "big.toml", text)
    assert _refused(capsys, [verb, "validate", str(path)]) == \
        f"{path}: more than 100000 values in one file"


def test_many_bad_items_are_one_line(tmp_path, capsys):
    path = _write(tmp_path, "items.toml", 'name = "m"\nclasses = [' + ", ".join(["1"] * 20000)
                  + "]\n")
    assert _refused(capsys, ["presets", "validate", str(path)]) == (
        f"{path}: classes[0]: Input should be a valid dictionary or instance of Weighted "
        "(got 1) (and 19999 more)")


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


# -- item 1: non-finite numbers and impossible ranges, refused at read time -------------------
def _shape_text(params: str, node: str = 'kind = "sphere"\n[shape.params]\nr = "r"\n') -> str:
    return f'name = "t"\n{params}\n[shape]\n{node}'


@pytest.mark.parametrize("params,field,problem", [
    ("params = {r = inf}", "params.r", "inf is not a finite number"),
    ("params = {r = -inf}", "params.r", "-inf is not a finite number"),
    ("params = {r = nan}", "params.r", "nan is not a finite number"),
    ('[params.r]\ndist = "uniform"\nlow = nan\nhigh = 1', "params.r.low", "nan is not a finite number"),
    ('[params.r]\ndist = "uniform"\nlow = 0\nhigh = inf', "params.r.high", "inf is not a finite number"),
    ('[params.r]\ndist = "uniform"\nlow = -1e308\nhigh = 1e308', "params.r",
     "the range -1e+308 .. 1e+308 is too wide to draw from"),
    ('[params.r]\ndist = "uniform"\nlow = 2\nhigh = 1', "params.r", "low 2.0 is above high 1.0"),
    ('[params.r]\ndist = "normal"\nmean = 1\nstd = inf', "params.r.std", "inf is not a finite number"),
    ('[params.r]\ndist = "normal"\nmean = 1\nstd = 0', "params.r.std",
     "Input should be greater than 0 (got 0)"),
    ('[params.r]\ndist = "normal"\nmean = 1\nstd = 1\nlow = inf', "params.r",
     "low inf is not a lower bound (a finite number or -inf)"),
    ('[params.r]\ndist = "normal"\nmean = 1\nstd = 1\nlow = nan', "params.r",
     "low nan is not a lower bound (a finite number or -inf)"),
    ('[params.r]\ndist = "normal"\nmean = 1\nstd = 1\nhigh = -inf', "params.r",
     "high -inf is not an upper bound (a finite number or inf)"),
    ('[params.r]\ndist = "normal"\nmean = nan\nstd = 1', "params.r.mean",
     "nan is not a finite number"),
    ('[params.r]\ndist = "constant"\nvalue = nan', "params.r.value", "nan is not a finite number"),
    ('[params.r]\ndist = "randint"\nlow = 0\nhigh = 9223372036854775807', "params.r",
     "bound 9223372036854775807 is outside -2147483647..2147483647"),
    ('[params.r]\ndist = "randint"\nlow = 3\nhigh = 2', "params.r", "low 3 is above high 2"),
    ('[params.r]\ndist = "choice"\nvalues = [1, nan]', "params.r.values[1]",
     "nan is not a finite number"),
    ('[params.r]\ndist = "choice"\nvalues = [1, 2]\nweights = [1, inf]', "params.r.weights[1]",
     "inf is not a finite number"),
    ('[params.r]\ndist = "choice"\nvalues = [1, 2]\nweights = [0, 0]', "params.r",
     "weights must be non-negative with a positive, finite sum"),
    ('[params.r]\ndist = "choice"\nvalues = [1, 2]\nweights = [1e308, 1e308]', "params.r",
     "weights must be non-negative with a positive, finite sum"),
    ('[params.r]\ndist = "choice"\nvalues = [1, 2]\nweights = [-1, 2]', "params.r",
     "weights must be non-negative with a positive, finite sum"),
])
def test_shape_parameters_must_be_finite_and_possible(tmp_path, capsys, params, field, problem):
    path = _write(tmp_path, "s.toml", _shape_text(params))
    assert _refused(capsys, ["shapes", "validate", str(path)]) == f"{path}: {field}: {problem}"


@pytest.mark.parametrize("node,field,problem", [
    ('kind = "sphere"\n[shape.params]\nr = inf', "shape.params.r", "inf is not a finite number"),
    ('kind = "box"\n[shape.params]\nhx = nan', "shape.params.hx", "nan is not a finite number"),
    ('kind = "formula"\n[shape.params]\nexpr = "x - k"\nk = 1' + "0" * 400, "shape.params.k",
     "an integer of 401 digits is too large"),
])
def test_node_parameters_must_be_finite(tmp_path, capsys, node, field, problem):
    path = _write(tmp_path, "s.toml", _shape_text("", node))
    assert _refused(capsys, ["shapes", "validate", str(path)]) == f"{path}: {field}: {problem}"


@pytest.mark.parametrize("line,field,problem", [
    ('classes = [{name = "sphere", weight = inf}]', "classes[0].weight",
     "inf is not a finite number"),
    ('classes = [{name = "sphere", weight = nan}]', "classes[0].weight",
     "nan is not a finite number"),
    ('classes = [{name = "sphere", weight = -1}]', "classes[0].weight",
     "Input should be greater than or equal to 0 (got -1)"),
    ('classes = [{name = "sphere", weight = 1e300}]', "classes[0].weight",
     "Input should be less than or equal to 1000000 (got 1e+300)"),
    ('classes = [{name = "sphere", weight = 0}]', "classes", "the weights sum to zero"),
    ('classes = ["sphere"]\nmappers = [{name = "modular_5", weight = inf}]', "mappers[0].weight",
     "inf is not a finite number"),
    ('classes = ["sphere"]\nnone_probability = nan', "none_probability",
     "nan is not a finite number"),
    ('classes = ["sphere"]\nnone_probability = 1.5', "none_probability",
     "Input should be less than or equal to 1 (got 1.5)"),
    ('classes = ["sphere"]\nobjects = [5, 2]', "objects",
     "[5, 2] must satisfy 1 <= min <= max <= 1000"),
    ('classes = ["sphere"]\ngrid = [0, 8, 8]', "grid", "grid [0, 8, 8] is outside 8..1024 voxels "
     "per axis"),
    ('classes = ["sphere"]\ngrid = [8, 8, 100000]', "grid", "grid [8, 8, 100000] is outside "
     "8..1024 voxels per axis"),
])
def test_preset_values_must_be_finite_and_possible(tmp_path, capsys, line, field, problem):
    path = _write(tmp_path, "p.toml", f'name = "p"\n{line}\n')
    assert _refused(capsys, ["presets", "validate", str(path)]) == f"{path}: {field}: {problem}"


def test_bundle_values_must_be_finite(tmp_path, capsys):
    text = (FIXTURES / "bundle_v1.fdifbundle").read_text()
    path = tmp_path / "b.fdifbundle"
    path.write_text(text.replace('{ name = "torus", weight = 0.5 }',
                                 '{ name = "torus", weight = inf }'))
    assert _refused(capsys, ["presets", "validate", str(path)]) == \
        f"{path}: preset: classes[1].weight: inf is not a finite number"
    path.write_text(text.replace("low = 0.15", "low = nan", 1))
    assert _refused(capsys, ["presets", "validate", str(path)]) == \
        f"{path}: shapes[0].shape: params.r.low: nan is not a finite number"


def test_mesh_of_a_huge_class_is_refused(tmp_path, capsys):
    path = _write(tmp_path, "h.toml", _shape_text("params = {r = 1e30}"))
    assert _refused(capsys, ["mesh", str(path), "--out", str(tmp_path / "h.stl")]) == (
        "this instance of t spans 2e+30 x 2e+30 x 2e+30 voxels: meshing it at step 0.5 takes "
        "4e+30 x 4e+30 x 4e+30 points, more than 400^3; use a larger step or smaller parameters")


# -- item 2: --set refuses non-finite values ----------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", " NaN"])
@pytest.mark.parametrize("verb", ["sdf", "mesh"])
def test_set_refuses_non_finite_values(tmp_path, capsys, verb, value):
    out = tmp_path / ("x.npy" if verb == "sdf" else "x.stl")
    assert _refused(capsys, [verb, "sphere", "--set", f"r={value}", "--out", str(out)]) == \
        f"--set 'r={value}': {value.strip()!r} is not a finite number"
    assert not out.exists()


def test_instance_overrides_must_be_finite():
    from fdif_core.errors import FdifError
    from fdif_core.grid import Grid
    from fdif_core.library import shape_library
    from fdif_core.preview import draw_instance

    sphere = shape_library().get("sphere")
    with pytest.raises(FdifError, match=r"^sphere: tx: nan is not a finite number$"):
        draw_instance(sphere, Grid.reference((16, 16, 16)), 0, transform=False, centred=True,
                      overrides={"tx": float("nan")})


# -- item 3: deep nesting is refused, never a RecursionError ------------------------------------
def _deep_node(depth: int) -> str:
    node = '{kind = "sphere", params = {r = 3}}'
    for _ in range(depth - 1):
        node = '{kind = "transform", children = [' + node + ']}'
    return node


def _header_nodes(depth: int) -> str:
    lines = ['name = "d"', "[shape]", 'kind = "transform"']
    for i in range(1, depth):
        lines += ["[[" + ".".join(["shape"] + ["children"] * i) + "]]",
                  'kind = "transform"' if i < depth - 1 else 'kind = "sphere"']
    return "\n".join(lines) + "\n"


DEEP_SHAPES = {
    "arrays": 'name = "d"\nparams = {r = ' + "[" * 5000 + "]" * 5000 + "}\n" + SPHERE,
    "inline_tables": 'name = "d"\nparams = {r = ' + "{a = " * 5000 + "1" + "}" * 5000 + "}\n"
                     + SPHERE,
    "inline_nodes": f'name = "d"\nshape = {_deep_node(3000)}\n',
    "header_nodes": _header_nodes(400),
}


@pytest.mark.parametrize("kind", sorted(DEEP_SHAPES))
@pytest.mark.parametrize("verb", ["validate", "mesh"])
def test_deeply_nested_shape_files_are_refused(tmp_path, capsys, kind, verb):
    path = _write(tmp_path, "deep.toml", DEEP_SHAPES[kind])
    args = ["shapes", "validate", str(path)] if verb == "validate" else \
        ["mesh", str(path), "--out", str(tmp_path / "m.stl")]
    assert _refused(capsys, args) == f"{path}: nesting deeper than 100 levels"


def test_node_trees_deeper_than_the_limit_are_refused(tmp_path, capsys):
    path = _write(tmp_path, "d33.toml", _header_nodes(33))
    assert _refused(capsys, ["shapes", "validate", str(path)]) == \
        f"{path}: shape: nodes nested deeper than 32 levels"
    path = _write(tmp_path, "d32.toml", _header_nodes(32))
    assert main(["shapes", "validate", str(path)]) == 0


def test_deep_node_trees_built_in_memory_are_refused():
    import tomllib

    from fdif_core.errors import FileFormatError
    from fdif_core.files import parse_model
    from fdif_core.shapes import ShapeClass

    data = tomllib.loads(_header_nodes(60))  # the studio builds data without reading a file
    with pytest.raises(FileFormatError) as info:
        parse_model(ShapeClass, data, "library entry")
    assert str(info.value) == "library entry: shape: nodes nested deeper than 32 levels"


@pytest.mark.parametrize("text", [
    'name = "p"\nclasses = ' + "[" * 3000 + "]" * 3000 + "\n",
    'name = "p"\nclasses = ["sphere"]\n[' + ".".join(["a"] * 3000) + "]\nx = 1\n",
])
@pytest.mark.parametrize("verb", ["validate", "sample", "generate"])
def test_deeply_nested_presets_are_refused(tmp_path, capsys, text, verb):
    path = _write(tmp_path, "deep.toml", text)
    out = tmp_path / "out"
    args = {"validate": ["presets", "validate", str(path)],
            "sample": ["sample", "--preset", str(path), "--out", str(out)],
            "generate": ["generate", "--preset", str(path), "--out", str(out)]}[verb]
    assert _refused(capsys, args) == f"{path}: nesting deeper than 100 levels"
    assert not out.exists()


def test_deeply_nested_bundles_are_refused(tmp_path, capsys):
    text = (FIXTURES / "bundle_v1.fdifbundle").read_text()
    path = tmp_path / "b.fdifbundle"
    path.write_text(text.replace("low = 0.15", "low = " + "[" * 3000 + "]" * 3000, 1))
    assert _refused(capsys, ["presets", "validate", str(path)]) == \
        f"{path}: nesting deeper than 100 levels"


def test_a_scale_that_overflows_is_refused_when_drawn(tmp_path, capsys):
    library = tmp_path / "lib"
    (library / "shapes").mkdir(parents=True)
    (library / "shapes" / "over.toml").write_text(_shape_text(
        '[params.r]\ndist = "uniform"\nlow = 1e300\nhigh = 1e300\nscale = "min_grid*1e300"'
    ).replace('name = "t"', 'name = "over"'))
    preset = _write(tmp_path, "p.toml", 'name = "p"\ngrid = [16, 16, 16]\nclasses = ["over"]\n')
    message = "over: params.r: drew inf, not a finite number (its scale or product overflows)"
    assert _refused(capsys, ["--library", str(library), "sample", "--preset", str(preset),
                             "--out", str(tmp_path / "s.npz")]) == message
    assert _refused(capsys, ["mesh", str(library / "shapes" / "over.toml"),
                             "--out", str(tmp_path / "m.stl")]) == message


def test_an_unbounded_normal_round_trips_through_files_and_the_editor(tmp_path, capsys):
    from fdif_core.editing import validated
    from fdif_core.files import write_toml
    from fdif_core.library import load_shape_file

    path = _write(tmp_path, "n.toml", _shape_text(
        '[params.r]\ndist = "normal"\nmean = 5\nstd = 1\nlow = -inf\nhigh = inf'))
    shape = load_shape_file(path)
    write_toml(tmp_path / "again.toml", shape)  # spells out low = -inf, high = inf
    assert "low = -inf" in (tmp_path / "again.toml").read_text()
    assert load_shape_file(tmp_path / "again.toml") == shape
    data = shape.model_dump(mode="json")
    assert validated(validated(data)) == data
