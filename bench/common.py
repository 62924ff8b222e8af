"""Shared parts of the load benches: statistics, the load model's pacing, a throwaway database,
a real `spin-trainer serve` subprocess with its memory sampled, and docs/benchmarks.md sections.

The pure parts (percentiles, pacing, the docs section splice) import nothing from `trainer`,
so the smoke test and `--help` stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # after what is there: a launcher serving another commit (bench/ab.py's worktree on PYTHONPATH) must
    # import that commit's `trainer`, not this checkout's
    sys.path.append(str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"
DOCS = ROOT / "docs" / "benchmarks.md"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_PASSWORD = "bench-password-1234"


# --- statistics ----------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of `values`; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))  # ceil(q*n), at least 1
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(len(values), percentile(values, 0.50), percentile(values, 0.95), percentile(values, 0.99),
                   max(values) if values else float("nan"))


def ms(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN -> "-"


def verdict(value: float, limit: float, *, at_most: bool = True) -> str:
    if value != value:
        return "n/a"
    ok = value <= limit if at_most else value >= limit
    return "pass" if ok else "FAIL"


# --- the load model ------------------------------------------------------------------------------

def counts(text: str) -> list[int]:
    """An argparse type: "10,50,200" -> [10, 50, 200], each at least 1, with an error that says how to write it."""
    try:
        out = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, such as 10,50; got {text!r}"
                                         ) from None
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"every count must be 1 or more; got {text!r}")
    return out


def start_offsets(n: int, spread_s: float) -> list[float]:
    """When each of `n` trainees begins: evenly over `spread_s`, so they do not speak in lockstep."""
    if n <= 0:
        return []
    return [spread_s * i / n for i in range(n)]


def think_time(base_s: float, rng: random.Random, jitter: float = 0.2) -> float:
    """A person's pause before the next line: `base_s` give or take `jitter` (a fraction), seeded."""
    if base_s <= 0:
        return 0.0
    return base_s * (1 + rng.uniform(-jitter, jitter))


# Who a trainee addresses and how a line begins, per language: 20 x 10 openings, one per trainee of 200.
_NAMES = {"en": ("Anna", "Boris", "Clara", "Daniel", "Elena", "Felix", "Grace", "Hugo", "Irene", "Jonas", "Karen",
                 "Leo", "Maria", "Nina", "Oscar", "Paula", "Quentin", "Rosa", "Simon", "Tanya"),
          "ru": ("Анна", "Борис", "Клара", "Даниил", "Елена", "Феликс", "Галина", "Игорь", "Ирина", "Юрий", "Карина",
                 "Лев", "Мария", "Нина", "Олег", "Полина", "Кирилл", "Роза", "Семён", "Татьяна")}
_FILLERS = {"en": ("", "so", "well", "tell me", "and", "okay", "right", "then", "now", "also"),
            "ru": ("", "так", "скажите", "а", "и", "хорошо", "ну", "тогда", "кстати", "понятно")}


def unique_line(line: str, lang: str, trainee: int) -> str:
    """`line` as trainee number `trainee` (of up to 200) says it: addressed by name, with their own opening
    word, so no two trainees send the same text. A sales floor does not repeat its lines word for word; a
    load that did would find every sentence vector in the classifier's cache (bench/turns.py --unique-lines).
    """
    names, fillers = _NAMES.get(lang, _NAMES["en"]), _FILLERS.get(lang, _FILLERS["en"])
    name, filler = names[trainee % len(names)], fillers[(trainee // len(names)) % len(fillers)]
    if len(line) > 1 and line[1].islower():
        line = line[0].lower() + line[1:]
    return f"{name}, {filler} {line}" if filler else f"{name}, {line}"


def arrival_times(rate_per_s: float, duration_s: float) -> list[float]:
    """Open-loop send times (seconds from the start) for a steady `rate_per_s` over `duration_s`."""
    if rate_per_s <= 0 or duration_s <= 0:
        return []
    count = int(rate_per_s * duration_s)
    return [i / rate_per_s for i in range(count)]


def ramp(start: float, factor: float, stop: float) -> list[float]:
    """Offered rates for a capacity ramp: start, start*factor, ... up to `stop` (rounded to whole turns/s)."""
    rates: list[float] = []
    rate = start
    while rate <= stop:
        rates.append(float(round(rate)))
        rate *= factor
    return rates


# --- machine and docs ----------------------------------------------------------------------------

@cache
def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores (nproc), {model}; load average {load:.2f} at start (shared machine)"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def splice_section(document: str, name: str, body: str) -> str:
    """`document` with the text between this section's markers replaced by `body` (appended if new)."""
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in document and end in document:
        head, rest = document.split(begin, 1)
        _, tail = rest.split(end, 1)
        return head + block + tail
    return document.rstrip() + "\n\n" + block + "\n"


def write_section(name: str, title: str, command: str, body: str, path: Path = DOCS) -> None:
    """Write or update one bench's section of docs/benchmarks.md, with its command, date and machine."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = (f"### {title}\n\n`{command}`  \n{stamp}, {machine()}\n\n{body.rstrip()}\n")
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    path.write_text(splice_section(current, name, text), encoding="utf-8")


def command_line() -> str:
    """This bench's command as run from the repository root, with the server launcher if one was set."""
    launcher = os.environ.get("SPIN_BENCH_SERVER")
    prefix = f"SPIN_BENCH_SERVER={os.path.relpath(launcher, ROOT)} " if launcher else ""
    return prefix + ".venv/bin/python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


# --- processes -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc/PID/status (VmRSS), in MB; NaN when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, parents first (from /proc/PID/task/*/children); a process gone is skipped."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        out.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def is_encoder_process(pid: int) -> bool:
    """Whether `pid` runs the server's sentence encoder (trainer.spin.encoder_process)."""
    try:
        return b"trainer.spin.encoder_process" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, from /proc/PID/stat, in seconds; NaN when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


@dataclass
class Process:
    """A child process on a loopback port, with its RSS sampled every half second."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    rss_peak: float = 0.0
    rss_last: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tree(self) -> list[int]:
        """The process and all its descendants: the workers of `serve --workers N` and each one's sentence
        encoder process (a grandchild), whose CPU and memory are the server's too."""
        return process_tree(self.proc.pid)

    def cpu(self) -> float:
        """CPU seconds the process and all its descendants (see `tree`) have used so far (user + system)."""
        return sum(cpu_seconds(pid) for pid in self.tree())

    def encoder_cpu(self) -> float:
        """CPU seconds of the sentence encoder's processes among them (part of `cpu`): the label's other half."""
        return sum(cpu_seconds(pid) for pid in self.tree() if is_encoder_process(pid))

    def sample(self) -> None:
        value = sum(rss_mb(pid) for pid in self.tree())
        if value == value:
            self.rss_last = value
            self.rss_peak = max(self.rss_peak, value)

    def start_sampling(self) -> None:
        def loop() -> None:
            while not self._stop.wait(0.5):
                self.sample()

        threading.Thread(target=loop, daemon=True).start()

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        keep = ROOT / "var" / "bench-logs"
        keep.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            shutil.copyfile(self.log, keep / self.log.name)  # the temp folder goes; the log stays for a look


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def spawn(args: Sequence[str], env: dict[str, str], port: int, ready_path: str, log: Path,
          ready_timeout_s: float = 60) -> Process:
    out = log.open("wb")
    proc = subprocess.Popen(list(args), env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                            cwd=ROOT)
    wait_http(f"http://127.0.0.1:{port}{ready_path}", proc, log, ready_timeout_s)
    p = Process(proc=proc, port=port, log=log)
    p.sample()
    p.start_sampling()
    return p


def serve(data_dir: Path, database_url: str, *, engine: str = "scripted", extra_env: dict[str, str] | None = None,
          workers: int = 1, wrapper: Sequence[str] = (), ready_timeout_s: float = 60) -> Process:
    """`spin-trainer serve` on a free loopback port, turn rate limit off, already migrated.

    `wrapper` goes before the command (bench/instructions.py runs the server under valgrind)."""
    port = free_port()
    env = {"SPIN_TRAINER_DATA_DIR": str(data_dir), "SPIN_TRAINER_DATABASE_URL": database_url,
           "SPIN_TRAINER_ENGINE": engine, "SPIN_TRAINER_TURNS_PER_MINUTE": "0",
           "SPIN_TRAINER_SECRET_KEY": secrets.token_urlsafe(48), **(extra_env or {})}
    # SPIN_BENCH_SERVER=path/to/launcher.py runs that script (same arguments) instead of the installed
    # command: a way to measure a proposed fix before it lands in trainer/.
    launcher = os.environ.get("SPIN_BENCH_SERVER")
    program = [str(VENV_BIN / "python"), launcher] if launcher else [str(VENV_BIN / "spin-trainer")]
    args = [*wrapper, *program, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"]
    if workers > 1:
        args += ["--workers", str(workers)]
    return spawn(args, env, port, "/healthz", data_dir / f"server-{port}.log", ready_timeout_s)


def with_outermost(middleware: Any) -> None:
    """Make the app `spin-trainer serve` builds carry `middleware` as its outermost ASGI layer (for a
    SPIN_BENCH_SERVER launcher: it tags or marks each request before the app sees it)."""
    import trainer.app

    create_app = trainer.app.create_app

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)
        app.add_middleware(middleware)
        return app

    trainer.app.create_app = wrapped  # serve looks it up when it runs


def launcher_main(script: str, doc: str, out: Path, serve: Callable[[], int],
                  report: Callable[[list[Path]], int], pattern: str = "*.json") -> int:
    """The command line of a SPIN_BENCH_SERVER launcher (bench/phases.py, bench/gc_pauses.py).

    `--report` hands `report` what the runs recorded in `out` (oldest first), `-h` prints `doc`, and
    anything else is `spin-trainer`'s own arguments, served with the launcher's hooks by `serve`. One
    server process only: uvicorn's worker processes start afresh, without the hooks.
    """
    args = sys.argv[1:]
    if args == ["--report"]:
        files = sorted(out.glob(pattern), key=lambda p: p.stat().st_mtime)
        if not files:
            print(f"nothing recorded in {out}: run a bench with SPIN_BENCH_SERVER=bench/{script} first")
            return 1
        return report(files)
    if args[:1] in (["-h"], ["--help"]):
        print(doc)
        return 0
    if "--workers" in args:
        raise SystemExit(f"{script} records one server process; run the bench without --workers")
    return serve()


# --- databases and accounts ----------------------------------------------------------------------

@contextlib.contextmanager
def bench_database(kind: str, data_dir: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file in `data_dir`, or a throwaway PostgreSQL database dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{data_dir / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text

    name = f"spin_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare_accounts(database_url: str, count: int, personas_dir: Path = ROOT / "personas") -> list[str]:
    """Migrate, sync the persona files, and add `count` trainees with one bearer token each.

    Done in-process before the server starts (much faster than `spin-trainer users add` per user):
    the first user gets a real password hash, the others share it.
    """
    from trainer.db.migrate import upgrade
    from trainer.db.models import User
    from trainer.db.session import make_engine, make_sessionmaker, unit_of_work
    from trainer.services.accounts import create_token, create_user
    from trainer.services.personas import sync_persona_files

    upgrade(database_url)
    engine = make_engine(database_url)
    tokens: list[str] = []
    try:
        with unit_of_work(make_sessionmaker(engine)) as db:
            sync_persona_files(db, personas_dir)
            create_user(db, "bench-admin", "admin", BENCH_PASSWORD)
            first = create_user(db, "bench-0", "trainee", BENCH_PASSWORD)
            users = [first]
            for i in range(1, count):
                user = User(name=f"bench-{i}", role="trainee", password_hash=first.password_hash, active=True)
                db.add(user)
                users.append(user)
            db.flush()
            tokens = [create_token(db, u, "bench") for u in users]
    finally:
        engine.dispose()
    return tokens


# --- what the trainees say -----------------------------------------------------------------------

@dataclass(frozen=True)
class Script:
    persona: str
    lang: str
    lines: tuple[str, ...]


@cache
def spin_scripts() -> tuple[Script, ...]:
    """The SPIN trainee's lines for every listed persona in each of its languages, played offline once
    against the scripted engine: realistic openings, S/P/I/N questions, objections and a meeting request."""
    from trainer.engines.scripted import ScriptedEngine
    from trainer.personas.bots import SpinTrainee
    from trainer.personas.loader import load_personas
    from trainer.personas.simulation import play
    from trainer.spin.classifier import classify

    personas = load_personas(ROOT / "personas")
    out = []
    for persona in sorted((p for p in personas.values() if p.listed), key=lambda p: p.id):
        for lang in persona.languages:
            result = play(persona, lang, SpinTrainee(), classify, ScriptedEngine(), personas.__getitem__, 7)
            lines = tuple(t.text for t in result.turns if t.role == "trainee")
            if lines:
                out.append(Script(persona.id, lang, lines))
    return tuple(out)
