"""`spin-trainer config`: the effective settings, secrets masked."""

from __future__ import annotations

import argparse
import json

from trainer.cli.common import SubParsers
from trainer.config import load_settings


def register(sub: SubParsers) -> None:
    p = sub.add_parser("config", help="print the effective settings (secrets masked)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(load_settings().masked(), indent=2, ensure_ascii=False))
    return 0
