"""The ``formula`` node: a user's math expression of x, y, z and named parameters.

The expression is parsed with :func:`ast.parse` only; the resulting tree is checked against a
whitelist (numbers, the names ``x``, ``y``, ``z``, ``pi`` and declared parameters, ``+ - * / %``,
``**`` with a small constant exponent, unary ``+``/``-``, and calls of the functions in
:data:`FUNCTIONS`) and turned into a closure of torch operations. Nothing is ever passed to
``eval``, ``exec`` or ``compile``. Limits on length, nesting depth, node count, number size and
exponent keep a hostile text from exhausting memory or time; every rejection is a
:class:`FormulaError` that says what is wrong.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any

import torch

from fdif_core.errors import FdifError
from fdif_core.nodes.base import SDF3, Bounds, Vec3, box
from fdif_core.nodes.registry import ParamSpec, register_node

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_NODES = 400
MAX_EXPONENT = 8
MAX_CONSTANT = 1e9
COORDINATES = ("x", "y", "z")
CONSTANTS = {"pi": math.pi, "e": math.e}
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

Value = torch.Tensor | float
Env = dict[str, Value]


class FormulaError(FdifError, ValueError):
    """An expression the formula parser refuses; the message says why."""


def _t(v: Value, ref: torch.Tensor) -> torch.Tensor:
    return v if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=ref.dtype,
                                                                device=ref.device)


def _ref(args: tuple[Value, ...]) -> torch.Tensor | None:
    return next((a for a in args if isinstance(a, torch.Tensor)), None)


def _unary(tfn: Callable[[torch.Tensor], torch.Tensor], mfn: Callable[[float], float]):
    def fn(a: Value) -> Value:
        if isinstance(a, torch.Tensor):
            return tfn(a)
        try:
            return float(mfn(a))
        except (ValueError, OverflowError):
            return math.nan
    return fn


def _tensor_op(op: Callable[..., torch.Tensor], mop: Callable[..., float]):
    """Apply ``op`` to tensors (floats promoted) or ``mop`` when every argument is a float."""
    def fn(*args: Value) -> Value:
        ref = _ref(args)
        if ref is None:
            try:
                return float(mop(*args))
            except (ValueError, OverflowError, ZeroDivisionError):
                return math.nan
        return op(*(_t(a, ref) for a in args))
    return fn


def _fold(op2: Callable[[Value, Value], Value]):
    def fn(*args: Value) -> Value:
        out = args[0]
        for a in args[1:]:
            out = op2(out, a)
        return out
    return fn


_min2 = _tensor_op(torch.minimum, min)
_max2 = _tensor_op(torch.maximum, max)


def _smin(a: Value, b: Value, k: Value) -> Value:
    if not isinstance(k, torch.Tensor) and k <= 0:
        return _min2(a, b)
    h = _max2(k - abs(a - b), 0.0) / k
    return _min2(a, b) - h * h * k / 4


def _smax(a: Value, b: Value, k: Value) -> Value:
    return -_smin(-a, -b, k)


def _clamp(a: Value, lo: Value, hi: Value) -> Value:
    return _min2(_max2(a, lo), hi)


def _length(*args: Value) -> Value:
    total = 0.0
    for a in args:
        total = total + a * a
    return _unary(torch.sqrt, lambda v: math.sqrt(v) if v >= 0 else math.nan)(total)


def _mix(a: Value, b: Value, t: Value) -> Value:
    return a + (b - a) * t


def _div(a: Value, b: Value) -> Value:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return a / b
    if b == 0:
        return math.copysign(math.inf, a) if a else math.nan
    return a / b


def _sign(v: float) -> float:
    return float((v > 0) - (v < 0))


def _mod(a: float, b: float) -> float:
    return a - b * math.floor(a / b)


# name -> (function, least argument count, most argument count)
FUNCTIONS: dict[str, tuple[Callable[..., Value], int, int]] = {
    "sqrt": (_unary(torch.sqrt, math.sqrt), 1, 1),
    "abs": (_unary(torch.abs, abs), 1, 1),
    "sin": (_unary(torch.sin, math.sin), 1, 1),
    "cos": (_unary(torch.cos, math.cos), 1, 1),
    "tan": (_unary(torch.tan, math.tan), 1, 1),
    "asin": (_unary(torch.asin, math.asin), 1, 1),
    "acos": (_unary(torch.acos, math.acos), 1, 1),
    "atan": (_unary(torch.atan, math.atan), 1, 1),
    "exp": (_unary(lambda t: torch.exp(t.clamp_max(80.0)), lambda v: math.exp(min(v, 80.0))),
            1, 1),
    "log": (_unary(torch.log, math.log), 1, 1),
    "tanh": (_unary(torch.tanh, math.tanh), 1, 1),
    "floor": (_unary(torch.floor, math.floor), 1, 1),
    "ceil": (_unary(torch.ceil, math.ceil), 1, 1),
    "sign": (_unary(torch.sign, _sign), 1, 1),
    "atan2": (_tensor_op(torch.atan2, math.atan2), 2, 2),
    "hypot": (_tensor_op(torch.hypot, math.hypot), 2, 2),
    "mod": (_tensor_op(torch.remainder, _mod), 2, 2),
    "min": (_fold(_min2), 2, 8),
    "max": (_fold(_max2), 2, 8),
    "clamp": (_clamp, 3, 3),
    "smin": (_smin, 3, 3),
    "smax": (_smax, 3, 3),
    "mix": (_mix, 3, 3),
    "length": (_length, 1, 3),
}

RESERVED = frozenset(COORDINATES) | frozenset(CONSTANTS) | frozenset(FUNCTIONS)

_BINARY: dict[type, Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: _div(a, b),
    ast.Mod: lambda a, b: FUNCTIONS["mod"][0](a, b),
}
_OP_NAMES = {ast.Pow: "**", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<",
             ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}
_DESCRIBE = {ast.Attribute: "attribute access", ast.Subscript: "indexing",
             ast.Lambda: "lambda", ast.Compare: "comparison", ast.BoolOp: "and/or",
             ast.IfExp: "if-else", ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict",
             ast.Set: "a set", ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator",
             ast.Starred: "star arguments", ast.JoinedStr: "an f-string",
             ast.NamedExpr: "assignment"}


def _paren_depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def _constant_value(node: ast.AST) -> float | None:
    """The number a node spells (with unary signs), or ``None``."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sign * float(node.value)
    return None


class _Compiler:
    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.count = 0
        self.used: set[str] = set()

    def build(self, node: ast.AST, depth: int) -> Callable[[Env], Value]:
        self.count += 1
        if self.count > MAX_NODES:
            raise FormulaError(f"expression has more than {MAX_NODES} operations")
        if depth > MAX_DEPTH:
            raise FormulaError(f"expression is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            value = node.value
            if type(value) not in (int, float):
                raise FormulaError(f"{type(value).__name__} constant {value!r} is not allowed; "
                                   "only numbers")
            if not math.isfinite(float(value)) or abs(value) > MAX_CONSTANT:
                raise FormulaError(f"number {value!r} is too large (limit {MAX_CONSTANT:g})")
            number = float(value)
            return lambda env: number
        if isinstance(node, ast.Name):
            name = node.id
            if name in CONSTANTS:
                number = CONSTANTS[name]
                return lambda env: number
            if name not in self.names:
                known = ", ".join(sorted(self.names | set(CONSTANTS)))
                raise FormulaError(f"unknown name {name!r} (allowed: {known})")
            self.used.add(name)
            return lambda env: env[name]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise FormulaError("only unary + and - are allowed")
            inner = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                return lambda env: -inner(env)
            return inner
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                exponent = _constant_value(node.right)
                if exponent is None:
                    raise FormulaError("the exponent of ** must be a constant number")
                if abs(exponent) > MAX_EXPONENT:
                    raise FormulaError(f"exponent {exponent:g} is too large "
                                       f"(|exponent| <= {MAX_EXPONENT})")
                base = self.build(node.left, depth + 1)
                if exponent == int(exponent):
                    k = int(exponent)
                    return lambda env: _power(base(env), k)
                return lambda env: _fpower(base(env), exponent)
            op = _BINARY.get(type(node.op))
            if op is None:
                raise FormulaError(f"operator {_OP_NAMES.get(type(node.op), '?')!r} is not "
                                   "allowed (use + - * / % **)")
            left = self.build(node.left, depth + 1)
            right = self.build(node.right, depth + 1)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise FormulaError("only calls of plain function names are allowed "
                                   f"({', '.join(sorted(FUNCTIONS))})")
            fname = node.func.id
            if fname not in FUNCTIONS:
                raise FormulaError(f"unknown function {fname!r} "
                                   f"(allowed: {', '.join(sorted(FUNCTIONS))})")
            if node.keywords:
                raise FormulaError(f"{fname}(): keyword arguments are not allowed")
            fn, lo, hi = FUNCTIONS[fname]
            if not lo <= len(node.args) <= hi:
                want = str(lo) if lo == hi else f"{lo} to {hi}"
                raise FormulaError(f"{fname}() takes {want} arguments, got {len(node.args)}")
            args = [self.build(a, depth + 1) for a in node.args]
            return lambda env: fn(*(a(env) for a in args))
        what = _DESCRIBE.get(type(node), type(node).__name__)
        raise FormulaError(f"{what} is not allowed in a formula")


def _power(base: Value, k: int) -> Value:
    if isinstance(base, torch.Tensor):
        return torch.pow(base, k)
    try:
        return float(base) ** k
    except (OverflowError, ZeroDivisionError):
        return math.nan


def _fpower(base: Value, exponent: float) -> Value:
    if isinstance(base, torch.Tensor):
        return torch.pow(base, exponent)
    if base < 0:
        return math.nan
    try:
        return float(base) ** exponent
    except (OverflowError, ZeroDivisionError):
        return math.nan


class Formula:
    """A parsed, checked expression.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"length(x, y, z) - r + a * sin(f * x)"``.
    params : iterable of str
        Names of the parameters it may use besides ``x``, ``y``, ``z``, ``pi`` and ``e``.

    Raises
    ------
    FormulaError
        For anything outside the whitelist or the limits.
    """

    def __init__(self, text: Any, params: Any = ()) -> None:
        if not isinstance(text, str):
            raise FormulaError(f"{text!r} is not a string")
        if len(text) > MAX_LENGTH:
            raise FormulaError(f"expression is longer than {MAX_LENGTH} characters")
        if not text.strip():
            raise FormulaError("expression is empty")
        if _paren_depth(text) > MAX_DEPTH:
            raise FormulaError(f"expression is nested deeper than {MAX_DEPTH} levels")
        names = set()
        for name in params:
            if not isinstance(name, str) or not _IDENT.match(name):
                raise FormulaError(f"parameter name {name!r} is not a plain identifier")
            if name in RESERVED:
                raise FormulaError(f"parameter name {name!r} is reserved")
            names.add(name)
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as err:
            raise FormulaError(f"not a valid expression: {err.msg}") from None
        except (ValueError, MemoryError, RecursionError) as err:
            raise FormulaError(f"not a valid expression: {type(err).__name__}") from None
        compiler = _Compiler(names | set(COORDINATES))
        try:
            self._fn = compiler.build(tree.body, 1)
        except RecursionError:
            raise FormulaError(f"expression is nested deeper than {MAX_DEPTH} levels") from None
        self.text = text
        self.params = frozenset(names)
        self.used = frozenset(compiler.used)

    def __call__(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor,
                 values: dict[str, float] | None = None) -> torch.Tensor:
        """Evaluate at broadcastable coordinate tensors with parameter ``values``."""
        env: Env = {name: float(v) for name, v in (values or {}).items()}
        missing = self.used - set(env) - set(COORDINATES)
        if missing:
            raise FormulaError(f"no value for parameter {sorted(missing)[0]!r}")
        env.update(x=x, y=y, z=z)
        out = self._fn(env)
        if not isinstance(out, torch.Tensor):  # (torch.broadcast_shapes would import sympy)
            shape = torch.broadcast_tensors(x, y, z)[0].shape
            return torch.full(shape, float(out), dtype=x.dtype, device=x.device)
        return out.to(x.dtype)


DECLARED = ("expr", "bound")


def check_formula_params(params: dict[str, Any]) -> None:
    """Validate a formula node's parameters together (raises ``ValueError`` naming the field)."""
    extra = [name for name in params if name not in DECLARED]
    try:
        Formula(params.get("expr"), extra)
    except FormulaError as err:
        bad = next((n for n in extra if n in str(err.args[0])), None)
        field = bad if bad is not None and "parameter name" in err.args[0] else "expr"
        raise ValueError(f"{field}: {err.args[0]}") from None


@register_node(
    "formula", category="primitive",
    description=("A signed distance written as a math expression of x, y, z and named "
                 "parameters (sqrt, sin, abs, min, max, clamp, smin, length ...); extra node "
                 "parameters name the values it uses."),
    params=[ParamSpec("expr", "The expression, e.g. 'length(x, y, z) - r'.", None, unit="text"),
            ParamSpec("bound", "Half-size of a clipping cube around the origin; 0 leaves the "
                               "formula unbounded (then the whole grid is evaluated).", 0.0, 0.0)],
    extra_params=True, check=check_formula_params)
class FormulaNode(SDF3):
    """``f = formula(x, y, z)``, intersected with the cube ``|q|_inf <= bound`` when bound > 0."""

    def __init__(self, expr: str, bound: float = 0.0, extra: dict[str, float] | None = None,
                 children: list | None = None) -> None:
        super().__init__(children)
        self.values = dict(extra or {})
        self.formula = Formula(expr, self.values)
        self.bound = float(bound)

    def __call__(self, q: Vec3) -> torch.Tensor:
        x, y, z = q
        f = self.formula(x, y, z, self.values)
        if self.bound > 0:
            b = self.bound
            dx, dy, dz = (torch.abs(c) - b for c in q)
            outside = torch.sqrt(dx.clamp_min(0) ** 2 + dy.clamp_min(0) ** 2
                                 + dz.clamp_min(0) ** 2)
            cube = outside + torch.maximum(torch.maximum(dx, dy), dz).clamp_max(0)
            f = torch.maximum(f, cube)
        return f

    def bounds(self, level: float) -> Bounds | None:
        if self.bound <= 0:
            return None
        return box([self.bound + max(level, 0.0)] * 3)
