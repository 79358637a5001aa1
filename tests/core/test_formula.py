"""The restricted formula parser: correct values, and hostile text only ever gives FormulaError."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fdif_core.errors import FileFormatError
from fdif_core.files import parse_model
from fdif_core.nodes.formula import MAX_DEPTH, Formula, FormulaError
from fdif_core.shapes import ShapeClass, compile_tree

X = torch.tensor([0.0, 1.0, -2.0, 3.5], dtype=torch.float64)
Y = torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float64)
Z = torch.tensor([1.0, 2.0, -0.5, -3.0], dtype=torch.float64)


def run(text: str, **values: float) -> torch.Tensor:
    return Formula(text, values)(X, Y, Z, values)


@pytest.mark.parametrize("text,expected", [
    ("sqrt(x*x + y*y + z*z) - r", lambda: torch.sqrt(X * X + Y * Y + Z * Z) - 2),
    ("length(x, y, z) - r", lambda: torch.sqrt(X * X + Y * Y + Z * Z) - 2),
    ("abs(x) + -y ** 2 - 3 % 2", lambda: torch.abs(X) - Y ** 2 - 1),
    ("min(x, y, z) + max(x, 0.5)", lambda: torch.minimum(torch.minimum(X, Y), Z)
     + torch.clamp(X, min=0.5)),
    ("clamp(x, -1, 1) * sin(pi * y) + cos(z) / 2", lambda: X.clamp(-1, 1)
     * torch.sin(math.pi * Y) + torch.cos(Z) / 2),
    ("smin(x, y, 0)", lambda: torch.minimum(X, Y)),
    ("atan2(y, x) + hypot(x, z) + mix(x, y, 0.25) + sign(z)",
     lambda: torch.atan2(Y, X) + torch.hypot(X, Z) + X + (Y - X) * 0.25 + torch.sign(Z)),
    ("x ** 0.5 * 0 + 2 ** 3", lambda: torch.where(X < 0, math.nan, 8.0).double()),
])
def test_values(text, expected):
    torch.testing.assert_close(run(text, r=2.0), expected(), equal_nan=True)


def test_smin_matches_the_csg_node():
    from fdif_core.nodes.csg import smin

    torch.testing.assert_close(run("smin(x, y, k)", k=1.5), smin(X, Y, 1.5))


def test_constant_formula_broadcasts():
    out = Formula("1.5")(X.view(1, -1), Y.view(-1, 1), Z.view(-1, 1))
    assert out.shape == (4, 4) and bool((out == 1.5).all())


def test_formula_node_matches_sphere_and_clips_to_bound():
    node = compile_tree({"kind": "formula", "params": {"expr": "length(x, y, z) - r", "r": 4.0,
                                                       "bound": 0}})
    sphere = compile_tree({"kind": "sphere", "params": {"r": 4.0}})
    q = (X, Y, Z)
    torch.testing.assert_close(node(q), sphere(q))
    assert node.bounds(0.0) is None
    clipped = compile_tree({"kind": "formula", "params": {"expr": "y", "bound": 3.0}})
    lo, hi = clipped.bounds(1.0)
    assert list(hi) == [4.0, 4.0, 4.0]


@pytest.mark.parametrize("text,message", [
    ("__import__('os').system('true')", "only calls of plain function names"),
    ("__import__('os')", "unknown function '__import__'"),
    ("x.__class__", "attribute access"),
    ("().__class__.__bases__[0]", "indexing"),
    ("().__class__", "attribute access"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("x ** 1000000", "exponent"),
    ("2 ** 2 ** 2 ** 2 ** 10", "exponent"),
    ("x ** y", "must be a constant"),
    ("9" * 20, "too large"),
    ("(" * 200 + "x" + ")" * 200, "nested deeper"),
    ("-" * 100 + "x", "nested deeper"),
    ("+".join(["x"] * 500), "nested deeper"),
    ("min(" + ",".join(["min(" + ",".join(["min(" + ",".join(["x"] * 8) + ")"] * 8) + ")"] * 8)
     + ")", "operations"),
    ("x if y else z", "if-else"),
    ("lambda: 1", "lambda"),
    ("[x for x in y]", "comprehension"),
    ("x < y", "comparison"),
    ("'text'", "str constant"),
    ("x @ y", "'@'"),
    ("x // 2", "'//'"),
    ("sin(x=1)", "keyword"),
    ("min(x)", "takes 2 to 8"),
    ("w + 1", "unknown name 'w'"),
    ("x = 1", "not a valid expression"),
    ("", "empty"),
    ("x" * 3000, "longer than"),
    ("x\x00", "not a valid expression"),
    ("sin(*y)", "star"),
])
def test_hostile_text_is_refused(text, message):
    with pytest.raises(FormulaError, match=None) as info:
        Formula(text, ["r"])
    assert message in str(info.value)


def test_reserved_and_odd_parameter_names():
    for bad in ("x", "sin", "pi", "__class__", "a b", "1a"):
        with pytest.raises(FormulaError):
            Formula("1", [bad])


def _shape(expr: str, **params) -> dict:
    return {"name": "my_formula", "params": {"r": 5.0},
            "shape": {"kind": "formula", "params": {"expr": expr, **params}}}


def test_shape_file_errors_name_the_field():
    with pytest.raises(FileFormatError, match=r"shapes/f.toml: shape.params.expr: .*attribute"):
        parse_model(ShapeClass, _shape("x.real"), "shapes/f.toml")
    with pytest.raises(FileFormatError, match=r"shape.params.k: 'nope' is not a class parameter"):
        parse_model(ShapeClass, _shape("x - k", k="nope"), "shapes/f.toml")
    with pytest.raises(FileFormatError, match=r"shape.params.expr: unknown name 'k'"):
        parse_model(ShapeClass, _shape("x - k"), "shapes/f.toml")
    ok = parse_model(ShapeClass, _shape("length(x, y, z) - rad", rad="r"), "shapes/f.toml")
    assert ok.shape.params["rad"] == "r"


_ATOMS = st.sampled_from(["x", "y", "z", "a", "1", "2.5", "pi", "-1", "0"])
_FUNCS = st.sampled_from(["sqrt", "abs", "sin", "cos", "exp", "log", "floor", "sign", "tanh"])
_FUNCS2 = st.sampled_from(["min", "max", "atan2", "hypot", "mod"])
_OPS = st.sampled_from(["+", "-", "*", "/", "%"])


def _expr(children):
    return st.one_of(
        st.tuples(children, _OPS, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(_FUNCS, children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(_FUNCS2, children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(children, st.sampled_from(["2", "3", "0.5", "-1"])).map(
            lambda t: f"({t[0]}) ** {t[1]}"),
        st.tuples(st.sampled_from(["clamp", "smin", "smax", "mix"]), children, children,
                  children).map(lambda t: f"{t[0]}({t[1]}, {t[2]}, {t[3]})"),
    )


VALID = st.recursive(_ATOMS, _expr, max_leaves=12)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID)
def test_random_valid_expressions_evaluate(text):
    out = Formula(text, ["a"])(X.float(), Y.float(), Z.float(), {"a": 0.7})
    assert out.shape == X.shape


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=60))
def test_random_text_only_raises_formula_error(text):
    try:
        f = Formula(text, ["a"])
    except FormulaError:
        return
    f(X, Y, Z, {"a": 1.0})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["x", "(", ")", "**", "*", "9", ".", "_", "[", "]", "sin",
                                 "'", ",", "lambda", ":", "__", "import", " ", "-", "e"]),
                max_size=40).map("".join))
def test_random_token_soup_only_raises_formula_error(text):
    try:
        f = Formula(text, ["a"])
    except FormulaError:
        return
    f(X, Y, Z, {"a": 1.0})


def test_max_depth_is_enforced_before_python_parses():
    with pytest.raises(FormulaError, match="nested"):
        Formula("sin(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    Formula("sin(" * (MAX_DEPTH - 2) + "x" + ")" * (MAX_DEPTH - 2))
