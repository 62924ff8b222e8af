"""`spin-trainer serve`: migrate the database, then serve the app with uvicorn."""

from __future__ import annotations

import argparse
import os

from trainer.cli.common import SubParsers, fail
from trainer.config import SettingsError, load_settings


def register(sub: SubParsers) -> None:
    p = sub.add_parser("serve", help="serve the web app and API")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1, or SPIN_TRAINER_HOST)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000, or SPIN_TRAINER_PORT)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (on SQLite they take turns to write, through <database>.lock)")
    p.add_argument("--access-log", action="store_true", default=None,
                   help="print a line per request (default: SPIN_TRAINER_ACCESS_LOG, off)")
    p.add_argument("--no-migrate", action="store_true", help="do not run database migrations first")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from trainer.app import create_app
    from trainer.db.migrate import upgrade

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("access_log", args.access_log))
                 if v is not None}
    settings = load_settings(**overrides)
    try:
        settings.resolved_secret_key()
    except SettingsError as exc:
        return fail(str(exc))
    if not args.no_migrate:
        upgrade(settings.effective_database_url)
    print(f"SPIN Trainer serving on {settings.base_url()}  (engine: {settings.effective_engine})", flush=True)
    if args.workers > 1:
        # Each worker builds its own app from the environment; overrides travel as variables.
        for key, value in overrides.items():
            os.environ[f"SPIN_TRAINER_{key.upper()}"] = str(value)
        uvicorn.run("trainer.app:from_env", factory=True, workers=args.workers, host=settings.host,
                    port=settings.port, log_level="info", proxy_headers=True, access_log=settings.access_log,
                    timeout_graceful_shutdown=settings.shutdown_grace_s)
    else:
        app = create_app(settings, freeze_heap=True, encoder_process=settings.encoder_process)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                    proxy_headers=True, access_log=settings.access_log,
                    timeout_graceful_shutdown=settings.shutdown_grace_s)
    return 0
