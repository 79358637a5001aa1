"""Malformed inputs, made by mutating every shipped shape class, preset and bundle.

Hypothesis picks a file (the list grows with the project: every ``shapes/**/*.toml``,
``presets/*.toml`` and the bundle fixtures), changes one to three places in it — a value
replaced by a hostile one (NaN, ±inf, 1e30, 2^63, a long string, an empty table, a deep
nesting, a tail-only truncated normal), a key removed, a list item duplicated — and runs the
file through the verbs a user runs: ``validate``, then for what validates ``sdf`` on a 16³ grid
(classes) or ``sample`` and ``generate`` on a small grid (presets and bundles). Every run must
end with exit code 0 or 2, a refusal must be one ``fdif: error:`` line, nothing may hang
(an alarm stops a call after :data:`CALL_LIMIT_S`) and the process must stay small.
"""

from __future__ import annotations

import copy
import math
import resource
import signal
import tomllib
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fdif_core.cli import main

ROOT = Path(__file__).resolve().parents[2]
FILES = {"shape": sorted([*ROOT.glob("shapes/**/*.toml"), ROOT / "tests/fixtures/shape_v1.toml"]),
         "preset": sorted([*ROOT.glob("presets/*.toml"), ROOT / "tests/fixtures/preset_v1.toml",
                           ROOT / "tests/core/fixtures/train_tiny.toml"]),
         "bundle": sorted(ROOT.glob("tests/fixtures/*.fdifbundle"))}
SCALES = [0.0, 1e-3, 0.5, 2.0, 10.0, 1e3, -1.0]
CALL_LIMIT_S = 20  # the longest one verb may take on a small grid
RSS_LIMIT_GIB = 3.0  # the test process's peak (torch and the studio's libraries: ~0.6 GiB)

MILD = [0.25, 3, 12.5, "sphere", "torus", "smaller_wins", "last_wins", "class", "multi_task",
        "inverse_cube", "ridge", [2, 4], [16, 24, 32]]
NASTY = [math.nan, math.inf, -math.inf, 1e30, -1e30, 1e-300, 0, -1, 2**63 - 1, -(2**63), 2**31,
         "", "x" * 5000, "nan", "sqrt(-1) + x", "log(0) + x", "x % 0", [], {}, True, [1, 2, 3],
         [1024, 8, 8], [0, 0], {"dist": "normal", "mean": 0.0, "sd": 0.01, "low": 0.0595},
         {"dist": "randint", "low": 0, "high": 2**62}, {"dist": "uniform", "low": 5, "high": 1}]


class HangError(Exception):
    """A verb ran longer than :data:`CALL_LIMIT_S`."""


@contextmanager
def time_limit(seconds: int):
    def on_alarm(_signum, _frame):
        raise HangError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _places(data, prefix=()):
    """Every key or index path in ``data`` (tables and arrays)."""
    items = data.items() if isinstance(data, dict) else enumerate(data) \
        if isinstance(data, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _places(value, (*prefix, key))


def _parent(data, place):
    for key in place[:-1]:
        data = data[key]
    return data


def _deep(value, depth: int = 120):  # the files refuse more than 100 levels
    for _ in range(depth):
        value = [value]
    return value


class Case:
    """A mutated file; printed as its source and the mutations (the data may be too deep to
    print)."""

    def __init__(self, source: Path, data: dict, done: list) -> None:
        self.source, self.data, self.done = source, data, done

    def __repr__(self) -> str:
        return f"Case({self.source.relative_to(ROOT)}, {self.done})"


@st.composite
def mutated(draw):
    """A :class:`Case`: a shipped file with one to three places changed."""
    source = draw(st.sampled_from(FILES[draw(st.sampled_from(sorted(FILES)))]))
    data = tomllib.loads(source.read_text())
    _small(data)
    done = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        places = list(_places(data))
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent, key = _parent(data, place), place[-1]
        op = draw(st.sampled_from(["replace", "replace", "mild", "scale", "scale", "delete",
                                   "duplicate", "deepen"]))
        if op == "scale" and isinstance(parent[key], (int, float)) \
                and not isinstance(parent[key], bool):
            parent[key] = parent[key] * draw(st.sampled_from(SCALES))
        elif op in ("replace", "mild"):
            parent[key] = copy.deepcopy(draw(st.sampled_from(NASTY if op == "replace" else MILD)))
        elif op == "delete":
            del parent[key]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        elif op == "deepen":
            parent[key] = _deep(parent[key])
        done.append((op, place, repr(parent[key])[:60] if op in ("replace", "mild", "scale")
                     else None))
    if source.suffix == ".fdifbundle" and draw(st.booleans()):
        _rehash(data)  # get past the hash checks to the content behind them
        done.append(("rehash", (), None))
    return Case(source, data, done)


def _rehash(bundle: dict) -> None:
    """Record the hashes of a mutated bundle's content where that content still parses."""
    from pydantic import ValidationError

    from fdif_core.presets import Preset
    from fdif_core.shapes import ShapeClass

    unusable = (ValidationError, KeyError, TypeError, ValueError)
    for entry in bundle.get("shapes", []) if isinstance(bundle.get("shapes"), list) else []:
        with suppress(*unusable):
            entry["hash"] = ShapeClass.model_validate(entry["shape"]).content_hash
    with suppress(*unusable):
        bundle["preset_hash"] = Preset.model_validate(bundle["preset"]).content_hash


def _small(data: dict) -> None:
    """Make a preset (or a bundle's preset) cheap to sample: 24³, at most 3 objects."""
    preset = data.get("preset", data)
    if "classes" in preset:
        preset["grid"] = [24, 24, 24]
        preset["objects"] = [1, 3]
        preset["combined_unions"] = 0


def _run(argv: list[str], capsys) -> int:
    with time_limit(CALL_LIMIT_S):
        code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) >= 1 and lines[-1].startswith("fdif: error: "), err
        assert len(lines[-1]) < 2000, lines[-1][:300]
    return code


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(case=mutated())
def test_mutated_files_are_refused_in_one_line_or_work(case, tmp_path_factory, capsys):
    source, data = case.source, case.data
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / source.name
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError, RecursionError):
        event("not TOML")
        return  # not representable as TOML (e.g. a key removed from an array of tables)
    path.write_text(text)
    kind = "bundle" if source.suffix == ".fdifbundle" else \
        "preset" if "classes" in data else "shape"
    if kind == "shape":
        valid = _run(["shapes", "validate", str(path)], capsys) == 0
        event(f"shape {'valid' if valid else 'refused'}")
        if valid:
            code = _run(["sdf", str(path), "--grid", "16", "--out", str(folder / "f.npy")], capsys)
            event(f"sdf exit {code}")
        return
    valid = _run(["presets", "validate", str(path)], capsys) == 0
    event(f"{kind} {'valid' if valid else 'refused'}")
    if valid:
        code = _run(["sample", "--preset", str(path), "--out", str(folder / "s.npz")], capsys)
        event(f"sample exit {code}")
        code = _run(["generate", "--preset", str(path), "--num-samples", "2",
                     "--num-val-samples", "0", "--workers", "1", "--out", str(folder / "data")],
                    capsys)
        event(f"generate exit {code}")


def test_the_fuzzed_process_stayed_small():
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    assert peak_gib < RSS_LIMIT_GIB, f"peak RSS {peak_gib:.2f} GiB"


def test_a_huge_value_is_cut_in_the_one_line_message(tmp_path, capsys):
    path = tmp_path / "huge.toml"
    path.write_text(f'schema_version = "{"x" * 1_000_000}"\nname = "a"\nclasses = ["sphere"]\n')
    assert main(["presets", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"fdif: error: {path}: schema_version: '{'x' * 80}…' is not a positive "
                   "integer\n")
