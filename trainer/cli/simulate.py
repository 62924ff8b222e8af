"""`spin-trainer simulate`: scripted trainees against every persona, with the outcome rules checked.

Exit 0 when every rule holds, 1 when one fails, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from trainer.cli.common import SubParsers, fail
from trainer.engines.base import Engine
from trainer.personas.bots import make_bots
from trainer.personas.model import Persona
from trainer.personas.simulation import SimResult, play
from trainer.spin.labels import LANGS, Lang
from trainer.spin.types import Classification, ContextTurn


def register(sub: SubParsers) -> None:
    parser = sub.add_parser("simulate", help="play scripted trainees against the personas and check the rules",
                            description=__doc__)
    parser.add_argument("--persona", metavar="ID", help="only this persona (default: every listed persona)")
    parser.add_argument("--lang", choices=LANGS, help="only this language (default: every language it speaks)")
    parser.add_argument("--engine", choices=("scripted", "llm"), default="scripted")
    parser.add_argument("--dir", type=Path, default=None, help="persona folder (default: the repo's personas/)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every call's transcript")
    parser.set_defaults(handler=run)


def default_dir() -> Path:
    import trainer

    return Path(trainer.__file__).resolve().parent.parent / "personas"


def run(args: argparse.Namespace) -> int:
    from trainer.engines.scripted import ScriptedEngine
    from trainer.personas.loader import PersonaError, load_personas
    from trainer.spin.classifier import classify

    engine: Engine = ScriptedEngine()
    if args.engine == "llm":
        from trainer.config import load_settings
        from trainer.engines.llm import LLMEngine

        settings = load_settings()
        if not (settings.openai_base_url or settings.openai_api_key):
            return fail("--engine llm needs an LLM server: set OPENAI_BASE_URL (and OPENAI_API_KEY if it wants one) "
                        "and SPIN_TRAINER_LLM_MODEL")
        engine = LLMEngine.from_settings(settings)
    directory = args.dir or default_dir()
    try:
        personas = load_personas(directory)
    except PersonaError as exc:
        for issue in exc.issues:
            print(issue)
        return fail(f"{len(exc.issues)} problem(s) in {directory}", 1)
    if args.persona and args.persona not in personas:
        return fail(f"no persona {args.persona!r} in {directory}; try `spin-trainer personas list`")
    chosen = [personas[args.persona]] if args.persona else [p for p in personas.values() if p.listed]

    @cache
    def cached(text: str, context: tuple[ContextTurn, ...], lang: Lang) -> Classification:
        return classify(text, context, lang)

    def classify_fn(text: str, context: Sequence[ContextTurn], lang: Lang) -> Classification:
        return cached(text, tuple(context), lang)

    results = simulate(chosen, personas, args.lang, classify_fn, engine, args.seed)
    print_table(results, verbose=args.verbose)
    failed = [r for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)}/{len(results)} calls follow the rules")
    return 1 if failed else 0


def simulate(chosen: Sequence[Persona], personas: dict[str, Persona], lang: Lang | None, classify_fn: object,
             engine: object, seed: int) -> list[SimResult]:
    results: list[SimResult] = []
    for persona in chosen:
        for call_lang in persona.languages:
            if lang and call_lang != lang:
                continue
            for bot in make_bots():
                results.append(play(persona, call_lang, bot, classify_fn, engine,  # type: ignore[arg-type]
                                    personas.__getitem__, seed))
    return results


def print_table(results: Sequence[SimResult], verbose: bool = False) -> None:
    header = f"{'persona':<28} {'lang':<4} {'trainee':<13} {'outcome':<17} {'turns':>5} {'~min':>5}  rule"
    print(header)
    print("-" * len(header))
    for r in results:
        rule = "ok" if r.passed else f"FAIL: {r.problem}"
        print(f"{r.persona:<28} {r.lang:<4} {r.bot:<13} {r.outcome or '-':<17} {len(r.turns):>5} "
              f"{r.seconds / 60:>5.1f}  {rule}")
        if verbose or not r.passed:
            for t in r.turns:
                tag = f"[{t.label}]" if t.role == "trainee" else f"<{t.act}@{t.speaker}>"
                print(f"      {t.role:<7} {tag:<32} {t.text}")
