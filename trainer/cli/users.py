"""`spin-trainer users add|list`: accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from trainer.cli.common import SubParsers, fail
from trainer.config import load_settings
from trainer.db.models import ROLES


def register(sub: SubParsers) -> None:
    p = sub.add_parser("users", help="add or list user accounts")
    actions = p.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user (password from a prompt or --password-stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="trainee")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    actions.add_parser("list", help="list users")
    p.set_defaults(handler=run)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise SystemExit("spin-trainer: the two passwords differ; nothing was saved")
    return first


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from trainer.db.models import User
    from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
    from trainer.services.accounts import AccountError, create_user

    engine = make_engine(load_settings().effective_database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            if args.users_action == "add":
                user = create_user(db, args.name, args.role, _read_password(args.password_stdin))
                print(f"added {user.name} ({user.role})")
            else:
                for u in db.scalars(select(User).order_by(User.id)):
                    print(f"{u.id}\t{u.name}\t{u.role}\t{'active' if u.active else 'inactive'}")
    except AccountError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    return 0
