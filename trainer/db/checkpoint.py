"""Copying SQLite's write-ahead log into the database file, on a thread of its own.

SQLite's automatic checkpoint (every 1,000 pages of log) runs inside the COMMIT that crosses the mark,
fsyncs included, and the app's writer gate (trainer.db.gate) is held until the COMMIT returns: every
other writer of every process waited for those fsyncs. The server's connections turn it off
(`PRAGMA wal_autocheckpoint=0`) and the gate asks this thread for a PASSIVE checkpoint every
`CHECKPOINT_EVERY` commits instead: in WAL mode that runs beside the writers, never blocking them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("trainer")

#: Commits of one process between two checkpoints (a commit here writes a few pages: SQLite's own mark,
#: 1,000 pages, is some hundreds of commits).
CHECKPOINT_EVERY = 100
#: Seconds the thread waits for work before it ends (it starts again when asked).
IDLE_S = 30.0


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection when `request()`ed; started on first use."""

    def __init__(self, path: Path, idle_s: float = IDLE_S) -> None:
        self.path = path
        self.idle_s = idle_s
        self.done = 0  # checkpoints run (tests, metrics)
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is there now (tests, metrics)."""
        return self._thread is not None

    def request(self) -> None:
        """Ask for a checkpoint soon; returns at once."""
        with self._lock:
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            while True:
                if not self._wake.wait(self.idle_s):
                    with self._lock:  # nothing asked meanwhile: end, and let the next request start anew
                        if not self._wake.is_set():
                            self._thread = None
                            return
                self._wake.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.done += 1
                except sqlite3.Error as exc:  # the next request tries again; the log only grows meanwhile
                    log.warning("SQLite checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()
