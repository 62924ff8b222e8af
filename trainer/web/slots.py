"""How many requests work in the database at once, and giving a place back while a request waits on a model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import anyio.from_thread


class DbSlots:
    """`Settings.effective_db_concurrency` places: a request takes one before it opens a session.

    Requests beyond them wait on the event loop, not in worker threads (see `trainer.web.deps.get_db`).
    A request whose handler, on its worker thread, must wait on a model with its transaction committed
    (an LLM checking an unsure label, a non-streamed reply) gives its place back for that wait with
    `released()`: otherwise a few one-second model calls would stop every other request from reaching
    the database.
    """

    def __init__(self, places: int) -> None:
        if places < 1:
            raise ValueError(f"DbSlots needs at least one place, not {places}")
        self.places = places
        self._free = asyncio.Semaphore(places)

    async def __aenter__(self) -> None:
        await self._free.acquire()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._free.release()

    @property
    def free(self) -> int:
        """Places nobody holds now (for tests and metrics)."""
        return self._free._value

    @contextmanager
    def released(self) -> Iterator[None]:
        """On a request's worker thread, holding a place: give it back for the block, take one again after.

        The caller must have committed its transaction first (it holds no connection while it waits).
        Called outside a worker thread of the app's loop (a CLI, a plain test), it only runs the block.
        """
        try:
            anyio.from_thread.run_sync(self._free.release)
        except RuntimeError:  # not on a worker thread of an event loop: there is no place to give back
            yield
            return
        try:
            yield
        finally:
            anyio.from_thread.run(self._free.acquire)
