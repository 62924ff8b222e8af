"""`spin-trainer db upgrade|downgrade|current`: Alembic migrations."""

from __future__ import annotations

import argparse

from trainer.cli.common import SubParsers
from trainer.config import load_settings


def register(sub: SubParsers) -> None:
    p = sub.add_parser("db", help="database migrations")
    actions = p.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="migrate to the newest schema (or to REVISION)")
    up.add_argument("revision", nargs="?", default="head")
    down = actions.add_parser("downgrade", help="migrate back to REVISION (e.g. base)")
    down.add_argument("revision")
    actions.add_parser("current", help="print the schema revision of the database")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from trainer.db import migrate

    url = load_settings().effective_database_url
    if args.db_action == "upgrade":
        migrate.upgrade(url, args.revision)
        print(f"database at {', '.join(sorted(migrate.current_heads(url))) or 'base'}")
    elif args.db_action == "downgrade":
        migrate.downgrade(url, args.revision)
        print(f"database at {', '.join(sorted(migrate.current_heads(url))) or 'base'}")
    else:
        print(", ".join(sorted(migrate.current_heads(url))) or "base (no tables yet; run `spin-trainer db upgrade`)")
    return 0
