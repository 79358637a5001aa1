"""``fdif shapes list|show|validate``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fdif_core.errors import FdifError
from fdif_core.library import load_shape_file, shape_library


def register(sub: argparse._SubParsersAction) -> None:
    shapes = sub.add_parser("shapes", help="list, show and validate shape classes")
    verbs = shapes.add_subparsers(dest="shapes_command", required=True)
    p = verbs.add_parser("list", help="one class per line: id, canonical name, aliases")
    p.set_defaults(handler=_list)
    p = verbs.add_parser("show", help="a class's file content, source and hash as JSON")
    p.add_argument("name")
    p.set_defaults(handler=_show)
    p = verbs.add_parser("validate", help="validate shape files (exit 2 on the first error)")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(handler=_validate)


def _library(args: argparse.Namespace):
    return shape_library(tuple(Path(p) for p in args.library))


def _list(args: argparse.Namespace) -> int:
    for shape in _library(args).ordered():
        ident = "-" if shape.fdif_id is None else str(shape.fdif_id)
        aliases = ",".join(repr(a) if " " in a else a for a in shape.aliases) or shape.name
        print(f"{ident}\t{shape.name}\t{aliases}")
    return 0


def _show(args: argparse.Namespace) -> int:
    library = _library(args)
    shape = library.get(args.name)
    out = {"source": str(library.sources[shape.name]), "hash": shape.content_hash,
           **shape.model_dump(mode="json")}
    print(json.dumps(out, indent=2))
    return 0


def _validate(args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.is_file():
            raise FdifError(f"{path}: no such file")
        shape = load_shape_file(path)
        print(f"{path}: ok ({shape.name}, hash {shape.content_hash[:12]})")
    return 0
