"""``fdif presets list|show|validate|export|import``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fdif_core.bundles import BUNDLE_SUFFIX, export_bundle, import_bundle, load_bundle, plan_import
from fdif_core.errors import FdifError
from fdif_core.library import builtin_root, library_roots, shape_library, user_root
from fdif_core.preset_editing import (
    FIELDS,
    LISTS,
    add_entry,
    remove_entry,
    set_field,
    set_weight,
    validated_preset,
)
from fdif_core.presets import Preset, class_table, load_preset, preset_from_file, write_preset


class _EditAction(argparse.Action):
    """Collects ``--set/--add/--remove/--weight`` in the order given."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        getattr(namespace, self.dest).append((option_string.lstrip("-"), values))


def register(sub: argparse._SubParsersAction) -> None:
    presets = sub.add_parser("presets", help="list, show, validate, export and import presets")
    verbs = presets.add_subparsers(dest="presets_command", required=True)
    p = verbs.add_parser("list", help="one preset per line: name, library, description")
    p.set_defaults(handler=_list)
    p = verbs.add_parser("show", help="a preset's content, source, hash and class hashes as JSON")
    p.add_argument("name", help="preset name, .toml file or bundle")
    p.set_defaults(handler=_show)
    p = verbs.add_parser("validate", help="validate preset or bundle files (exit 2 on error)")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(handler=_validate)
    p = verbs.add_parser("export", help="write a preset and every class it uses to one bundle")
    p.add_argument("name", help="preset name, .toml file or bundle")
    p.add_argument("--out", type=Path, required=True,
                   help=f"output file ({BUNDLE_SUFFIX}), or a folder for PRESET{BUNDLE_SUFFIX}")
    p.set_defaults(handler=_export)
    p = verbs.add_parser("edit", help="apply edits to a preset and write the result",
                         description="Apply edits in the order given (each validated, as the "
                         "studio's preset editor does) and write the preset to --out.")
    p.add_argument("name", help="preset name, .toml file or bundle to start from")
    p.add_argument("--out", type=Path, required=True, help="output preset file (.toml)")
    p.add_argument("--set", dest="edits", action=_EditAction, metavar="FIELD=VALUE",
                   help=f"set a field (TOML value; fields: {', '.join(FIELDS)})")
    p.add_argument("--add", dest="edits", action=_EditAction, metavar="LIST=NAME[:WEIGHT]",
                   help=f"add to a list ({', '.join(LISTS)})")
    p.add_argument("--remove", dest="edits", action=_EditAction, metavar="LIST=NAME",
                   help="remove from a list")
    p.add_argument("--weight", dest="edits", action=_EditAction, metavar="LIST=NAME:WEIGHT",
                   help="set a weight in a list")
    p.set_defaults(handler=_edit, edits=[])
    p = verbs.add_parser("import", help="add a bundle's preset and classes to the user library")
    p.add_argument("file", type=Path)
    p.add_argument("--force", action="store_true",
                   help="replace differing files that are in the user library")
    p.add_argument("--dry-run", action="store_true",
                   help="list the bundle's preset and classes and what importing would do")
    p.set_defaults(handler=_import)


def _extra(args: argparse.Namespace) -> tuple[Path, ...]:
    return tuple(Path(p) for p in args.library)


def _origin(root: Path) -> str:
    if root == builtin_root():
        return "builtin"
    if root == user_root():
        return "user"
    return str(root)


def _list(args: argparse.Namespace) -> int:
    seen: dict[str, Path] = {}
    for root in library_roots(_extra(args)):
        for path in sorted((root / "presets").glob("*.toml")):
            if path.stem in seen:
                print(f"{path.stem}\t{_origin(root)}\t(shadowed by {seen[path.stem]}: unused)")
                continue
            seen[path.stem] = path
            preset = preset_from_file(path)
            print(f"{preset.name}\t{_origin(root)}\t{preset.description}")
    return 0


def _show(args: argparse.Namespace) -> int:
    loaded = load_preset(args.name, _extra(args))
    table = class_table(loaded.preset, loaded.library)
    classes = {}
    for entry in table:
        classes[entry.shape.name] = entry.shape.content_hash
    out = {"source": loaded.source, "hash": loaded.preset.content_hash,
           "class_count": len(table), "shape_hashes": classes,
           **loaded.preset.model_dump(mode="json")}
    print(json.dumps(out, indent=2))
    return 0


def _validate(args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.is_file():
            raise FdifError(f"{path}: no such file")
        if path.suffix == BUNDLE_SUFFIX:
            preset = load_bundle(path).preset
        else:
            preset = preset_from_file(path)
            class_table(preset, shape_library(_extra(args)))  # names resolve, pins match
        print(f"{path}: ok ({preset.name}, hash {preset.content_hash[:12]})")
    return 0


def _export(args: argparse.Namespace) -> int:
    out = export_bundle(args.name, args.out, _extra(args))
    loaded = load_bundle(out)  # verify what was written
    print(f"{out}: {loaded.preset.name} with {len(loaded.library.classes)} classes")
    return 0


def _import(args: argparse.Namespace) -> int:
    if args.dry_run:
        plan = plan_import(args.file, args.force, _extra(args))
        for step in plan.steps:
            where = step.reason or (str(step.target) if step.target else "")
            print(f"{step.kind}\t{step.name}\t{step.action}\t{where}")
        return 2 if plan.refused else 0
    written = import_bundle(args.file, args.force, _extra(args))
    if not written:
        print(f"{args.file}: already in the libraries, nothing to write")
    for path in written:
        print(f"wrote {path}")
    return 0


def _toml_value(text: str):
    """A ``--set`` value: a TOML value (``[64, 64, 64]``, ``true``, ``0.5``), else the text."""
    import tomllib

    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _split(option: str, text: str, sep: str) -> tuple[str, str]:
    key, found, rest = text.partition(sep)
    if not found or not key or not rest:
        raise FdifError(f"--{option} {text!r}: expected {'FIELD=VALUE' if option == 'set' else 'LIST=NAME'}"
                        f"{':WEIGHT' if option == 'weight' else ''}")
    return key, rest


def _weight(option: str, text: str) -> tuple[str, float]:
    name, found, weight = text.rpartition(":")
    if not found or not name:
        raise FdifError(f"--{option} {text!r}: expected NAME:WEIGHT after LIST=")
    try:
        return name, float(weight)
    except ValueError:
        raise FdifError(f"--{option}: weight {weight!r} of {name!r} is not a number") from None


def _apply_edit(data: dict, option: str, text: str, library) -> dict:
    key, rest = _split(option, text, "=")
    if option == "set":
        return set_field(data, key, _toml_value(rest), library)
    if option == "remove":
        return remove_entry(data, key, rest, library)
    if option == "weight":
        return set_weight(data, key, *_weight(option, rest), library)
    if ":" in rest:
        name, weight = _weight(option, rest)
        return add_entry(data, key, name, library, weight)
    return add_entry(data, key, rest, library)


def _edit(args: argparse.Namespace) -> int:
    loaded = load_preset(args.name, _extra(args))
    data = validated_preset(loaded.preset.model_dump(mode="json"), loaded.library, loaded.source)
    for option, text in args.edits:
        data = _apply_edit(data, option, text, loaded.library)
    preset = Preset.model_validate(data)
    write_preset(args.out, preset)
    print(f"{args.out}: {preset.name} ({len(preset.classes)} classes, hash "
          f"{preset.content_hash[:12]})")
    return 0
