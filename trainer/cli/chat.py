"""`spin-trainer chat PERSONA --lang ru|en`: a practice call in the terminal.

Runs the same flow as the web (classify -> director -> engine) without storing
anything; hang up with an empty line, /end or end of input to see the scorecard.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from trainer.cli.common import SubParsers, fail
from trainer.config import load_settings


def register(sub: SubParsers) -> None:
    p = sub.add_parser("chat", help="a practice call in the terminal")
    p.add_argument("persona", help="persona id (see `spin-trainer personas list`)")
    p.add_argument("--lang", choices=("ru", "en"), default="en")
    p.add_argument("--seed", type=int, default=None, help="fix the client's phrasing (default: random)")
    p.add_argument("--json", action="store_true", help="print the final scorecard as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import secrets

    from trainer import conversation
    from trainer.engines.factory import build_engine
    from trainer.personas.director import end_by_trainee
    from trainer.personas.loader import PersonaError, load_persona_file
    from trainer.scoring.rubric import load_rubric
    from trainer.scoring.scorer import ScoringTurn, score_call
    from trainer.spin.types import ContextTurn

    settings = load_settings()
    path = settings.personas_dir / f"{args.persona}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in settings.personas_dir.glob("*.yaml")))
        return fail(f"no persona {args.persona!r}; known: {known}")

    def resolve(persona_id: str):  # type: ignore[no-untyped-def]
        return load_persona_file(settings.personas_dir / f"{persona_id}.yaml")

    try:
        persona = load_persona_file(path)
    except PersonaError as exc:
        return fail("; ".join(str(i) for i in exc.issues))
    if args.lang not in persona.languages:
        return fail(f"persona {args.persona!r} speaks {', '.join(persona.languages)}")
    engine = build_engine(settings)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    started = time.monotonic()
    state, spoken = conversation.open_call(engine, persona, args.lang, seed, resolve)
    history = [ContextTurn(role="client", text=spoken.reply.text)]
    interactive = sys.stdin.isatty()
    timeline = [ScoringTurn(index=0, role="client", text=spoken.reply.text, at=0.0 if interactive else None)]
    print(f"{persona.name_for(args.lang)}: {spoken.reply.text}", flush=True)
    while not state.ended:
        if interactive:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        text = line.strip()
        if not line or text in ("", "/end", "/hangup"):
            state = end_by_trainee(state)
            break
        result = conversation.take_turn(engine, persona, args.lang, seed, state, history, text, resolve)
        c = result.classification
        # Piped input has no real timing: leave it out so the scorer estimates length from the words.
        at = time.monotonic() - started if interactive else None
        timeline.append(ScoringTurn(index=len(history), role="trainee", text=text, label=c.label, at=at))
        history.append(ContextTurn(role="trainee", text=text))
        print(f"  [{c.label.letter}] {c.label.value} ({c.confidence:.2f}): {c.reason}")
        state = result.state
        if result.client:
            reply = result.client.reply.text
            timeline.append(ScoringTurn(index=len(history), role="client", text=reply, at=at))
            history.append(ContextTurn(role="client", text=reply))
            print(f"{persona.name_for(args.lang)}: {reply}")
    card = score_call(timeline, load_rubric(settings.rubrics_dir / "spin.yaml"), args.lang,
                      duration_s=time.monotonic() - started if interactive else None)
    if args.json:
        print(json.dumps(card, ensure_ascii=False, indent=2))
    else:
        print(f"\n-- call over ({state.outcome}). Score {card['total']}/100, {card['level']}, "
              f"outcome {card['outcome']}")
        for crit in card["criteria"]:
            print(f"  {crit['score']:>3}/{crit['max']:<3} {crit['title']}" + (f"\n        {crit['tip']}"
                                                                           if crit.get("tip") else ""))
    return 0
