"""Where a turn's time goes, without HTTP: the request path's service calls under cProfile, in-process.

Run: `.venv/bin/python bench/profile_turns.py [--db sqlite|postgresql] [--calls 60] [--top 30]`.
Each request is done as the server does it (one session and transaction, the bearer token looked up,
then start_call / take_turn / end_call), for every persona's SPIN script in turn. Prints the time per
request kind and the functions with the most cumulative time (only the project's and SQLAlchemy's
session layer, to keep it readable). For the whole server under load use `bench/turns.py --profile`
(py-spy).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, Summary, bench_database, markdown_table, ms, prepare_accounts, spin_scripts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-cprofile", action="store_true", help="time the requests only, without cProfile")
    args = parser.parse_args()

    from trainer.app import build_context
    from trainer.config import load_settings
    from trainer.db.session import unit_of_work
    from trainer.services import accounts, call_access
    from trainer.services import calls as call_service

    with tempfile.TemporaryDirectory(prefix="spin-prof-") as tmp, bench_database(args.db, Path(tmp)) as url:
        token = prepare_accounts(url, 1)[0]
        settings = load_settings(data_dir=Path(tmp), database_url=url, engine="scripted", content_dir=ROOT,
                                 turns_per_minute=0)
        ctx = build_context(settings)
        scripts = spin_scripts()
        times: dict[str, list[float]] = defaultdict(list)

        def request(kind: str, fn: object) -> object:
            t0 = time.perf_counter()
            with unit_of_work(ctx.sessions) as db:
                user = accounts.user_for_token(db, token)
                assert user is not None
                out = fn(db, user)  # type: ignore[operator]
            times[kind].append((time.perf_counter() - t0) * 1000)
            return out

        def one_call(i: int) -> None:
            script = scripts[i % len(scripts)]
            call_id = request("start", lambda db, user: call_service.start_call(
                db, user, script.persona, script.lang, ctx.engine).id)
            ended = False
            for line in script.lines:
                def turn(db: object, user: object, line: str = line) -> bool:
                    call = call_access.get_call_for(db, user, call_id)  # type: ignore[arg-type]
                    pair = call_service.take_turn(db, call, line, ctx.engine, 2000, ctx.rubric)  # type: ignore[arg-type]
                    return bool(pair.call.ended)
                ended = bool(request("turn", turn))
                if ended:
                    break
            if not ended:
                request("end", lambda db, user: call_service.end_call(
                    db, call_access.get_call_for(db, user, call_id), ctx.rubric))

        for i in range(len(scripts)):  # warm: caches, classifier model, persona versions
            one_call(i)
        times.clear()
        profiler = cProfile.Profile()
        if not args.no_cprofile:
            profiler.enable()
        for i in range(args.calls):
            one_call(i)
        profiler.disable()
        ctx.db_engine.dispose()
    rows = [[kind, s.count, ms(s.p50), ms(s.p95), ms(s.max)] for kind, v in times.items() if (s := Summary.of(v))]
    print(markdown_table(["request", "count", "p50 ms", "p95 ms", "max ms"], rows))
    print("(without cProfile)" if args.no_cprofile else "(times above include cProfile's own overhead)\n")
    if args.no_cprofile:
        return 0
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative")
    keep = ("trainer/", "sqlalchemy/orm/session.py", "sqlalchemy/engine/base.py")
    entries = [(k, v) for k, v in stats.stats.items() if any(s in k[0] for s in keep)]  # type: ignore[attr-defined]
    entries.sort(key=lambda kv: -kv[1][3])
    total = sum(v for kind in times.values() for v in kind)
    print(f"{'cum ms':>9} {'% of req':>8} {'calls':>7}  function")
    for (path, line, name), (_cc, nc, _tt, ct, _callers) in entries[:args.top]:
        short = path.split("/work/main/")[-1].split("site-packages/")[-1]
        print(f"{ct * 1000:9.0f} {100 * ct * 1000 / total:7.1f}% {nc:7d}  {short}:{line} {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
