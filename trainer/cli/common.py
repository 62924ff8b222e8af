"""Small helpers shared by CLI commands."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    SubParsers = argparse._SubParsersAction


def open_input(path: str) -> TextIO:
    """`-` is standard input; anything else a UTF-8 file (a clear error if it is missing)."""
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SystemExit(f"spin-trainer: cannot read {path}: {exc.strerror}") from exc


def fail(message: str, code: int = 2) -> int:
    print(f"spin-trainer: {message}", file=sys.stderr)
    return code
