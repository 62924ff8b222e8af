"""`spin-trainer simulate --engine llm` plays every trainee bot through an OpenAI-compatible server;
the outcomes follow the same rules, because the director, not the model, decides."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.openai_server import fake_openai

EXE = str(Path(sys.executable).parent / "spin-trainer")


def run(*args: str, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIN_TRAINER_", "OPENAI_"))}
    return subprocess.run([EXE, "simulate", *args], capture_output=True, text=True, timeout=300, env={**env, **extra})


def test_simulate_with_the_llm_engine_follows_the_rules() -> None:
    with fake_openai(reply="Sure, go on.") as fake:
        res = run("--engine", "llm", "--persona", "logistics-director", "--lang", "en",
                  extra={"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "k", "SPIN_TRAINER_LLM_MODEL": "tiny"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "4/4 calls follow the rules" in res.stdout
    assert len(fake.requests) > 8, "every client line went through the model"


def test_simulate_with_llm_and_no_server_says_what_to_set() -> None:
    res = run("--engine", "llm", extra={})
    assert res.returncode == 2 and "OPENAI_BASE_URL" in res.stderr
