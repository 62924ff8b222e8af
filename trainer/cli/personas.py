"""`spin-trainer personas list|check`: see the persona library and validate persona files."""

from __future__ import annotations

import argparse
from pathlib import Path

from trainer.cli.common import SubParsers, fail


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("personas", help="list or check the persona files", description=__doc__)
    actions = parser.add_subparsers(dest="personas_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="a table of the personas in a folder")
    listing.add_argument("--dir", type=Path, default=None, help="persona folder (default: the repo's personas/)")
    listing.add_argument("--lang", choices=("ru", "en"), default="en", help="language of the names")
    listing.set_defaults(handler=run_list)
    check = actions.add_parser("check", help="validate persona files; every problem with its line")
    check.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders (default: personas/)")
    check.set_defaults(handler=run_check)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch on the action; `check` when none was given."""
    return run_list(args) if getattr(args, "personas_command", None) == "list" else run_check(args)


def default_dir() -> Path:
    import trainer

    return Path(trainer.__file__).resolve().parent.parent / "personas"


def run_list(args: argparse.Namespace) -> int:
    from trainer.personas.loader import PersonaError, load_personas

    directory = args.dir or default_dir()
    if not directory.is_dir():
        return fail(f"no persona folder at {directory}")
    try:
        personas = load_personas(directory)
    except PersonaError as exc:
        for issue in exc.issues:
            print(issue)
        return fail(f"{len(exc.issues)} problem(s); run `spin-trainer personas check {directory}`", 1)
    rows = [(p.id + ("" if p.listed else " *"), p.role, ",".join(p.languages), p.difficulty, p.name_for(args.lang))
            for p in personas.values()]
    widths = [max(len(r[i]) for r in [("id", "role", "languages", "difficulty", "name"), *rows]) for i in range(4)]
    for row in [("id", "role", "languages", "difficulty", "name"), *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    if any(not p.listed for p in personas.values()):
        print("* reached only by a transfer inside a call")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from trainer.personas.loader import check_paths

    paths = list(getattr(args, "paths", None) or [default_dir()])
    issues = check_paths(paths)
    for issue in issues:
        print(issue)
    if issues:
        print(f"{len(issues)} problem(s)")
        return 1
    count = sum(len(list(p.glob("*.yaml"))) if p.is_dir() else 1 for p in paths)
    print(f"{count} personas OK")
    return 0
