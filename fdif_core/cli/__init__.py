"""The ``fdif`` command line: one module per verb group, each adding its sub-commands.

Every user error (:class:`~fdif_core.errors.FdifError`, unknown names, bad values) is printed as
one line ``fdif: error: ...`` with exit code 2 and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from fdif_core.errors import FdifError, one_line

VERB_MODULES = ("shapes", "evaluate", "presets", "generate", "train")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit code 2
        self.exit(2, f"fdif: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every verb module registers its sub-commands)."""
    import importlib

    parser = _Parser(prog="fdif", description="FDIF Studio: formula-driven 3D pre-training data.")
    parser.add_argument("--library", action="append", default=[], metavar="DIR",
                        help="extra shape/preset library folder (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(f"fdif_core.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"fdif_core.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def check_libraries(folders: Sequence[str]) -> None:
    """Refuse a ``--library`` that is missing, not a folder, or holds no library."""
    for folder in folders:
        path = Path(folder)
        if not path.exists():
            raise FdifError(f"--library {folder}: no such folder")
        if not path.is_dir():
            raise FdifError(f"--library {folder}: not a folder")
        if not ((path / "shapes").is_dir() or (path / "presets").is_dir()):
            raise FdifError(f"--library {folder}: holds neither shapes/ nor presets/ (a library "
                            "folder keeps shape classes in shapes/*.toml, presets in "
                            "presets/*.toml)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fdif`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_libraries(args.library)
        return int(args.handler(args) or 0)
    except (FdifError, KeyError, ValueError) as err:
        message = err.args[0] if err.args else str(err)
        print(f"fdif: error: {one_line(message)}", file=sys.stderr)
        return 2
    except OSError as err:  # a file the user named could not be read or written
        where = f"{err.filename}: " if err.filename else ""
        print(f"fdif: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fdif: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
