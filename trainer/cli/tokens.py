"""`spin-trainer tokens create NAME`: an API bearer token; only the token goes to stdout."""

from __future__ import annotations

import argparse

from trainer.cli.common import SubParsers, fail
from trainer.config import load_settings


def register(sub: SubParsers) -> None:
    p = sub.add_parser("tokens", help="API bearer tokens")
    actions = p.add_subparsers(dest="tokens_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token for user NAME; prints only the token")
    create.add_argument("name", help="the user the token acts as")
    create.add_argument("--label", default="", help="a note to tell tokens apart")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
    from trainer.services.accounts import create_token, get_user

    engine = make_engine(load_settings().effective_database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            user = get_user(db, args.name)
            if user is None:
                return fail(f"no user named {args.name!r}; add one with `spin-trainer users add {args.name}`")
            token = create_token(db, user, args.label)
    finally:
        engine.dispose()
    print(token)
    return 0
