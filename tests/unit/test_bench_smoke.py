"""The load benches' pure parts: percentiles, the load model's pacing, the docs section splice."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.bench_modules import load_bench

common = load_bench("common")


def test_percentiles_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert common.percentile(values, 0.50) == 50.0
    assert common.percentile(values, 0.95) == 95.0
    assert common.percentile(values, 0.99) == 99.0
    assert common.percentile(values, 1.0) == 100.0
    assert common.percentile([7.0], 0.95) == 7.0
    assert common.percentile(list(reversed(values)), 0.5) == 50.0  # order does not matter
    summary = common.Summary.of([3.0, 1.0, 2.0])
    assert (summary.count, summary.p50, summary.max) == (3, 2.0, 3.0)
    assert common.percentile([], 0.5) != common.percentile([], 0.5)  # NaN for no values


def test_trainees_start_spread_and_think_around_the_base() -> None:
    offsets = common.start_offsets(4, 3.0)
    assert offsets == [0.0, 0.75, 1.5, 2.25]
    assert common.start_offsets(0, 3.0) == []
    rng = random.Random(1)
    pauses = [common.think_time(3.0, rng) for _ in range(200)]
    assert all(2.4 <= p <= 3.6 for p in pauses)
    assert len(set(pauses)) > 100  # not lockstep
    same = common.think_time(3.0, random.Random(5))
    assert [common.think_time(3.0, random.Random(5)) for _ in range(2)] == [same, same]
    assert common.think_time(0.0, rng) == 0.0  # closed loop without think time


def test_open_loop_arrivals_and_ramp() -> None:
    times = common.arrival_times(4.0, 2.0)
    assert times == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    assert common.arrival_times(0.0, 5.0) == []
    assert common.ramp(20, 1.25, 50) == [20.0, 25.0, 31.0, 39.0, 49.0]


def test_docs_section_is_replaced_in_place() -> None:
    doc = "# Benchmarks\n\nintro\n"
    once = common.splice_section(doc, "turns-x", "first")
    assert "<!-- bench:turns-x -->\nfirst\n<!-- /bench:turns-x -->" in once
    other = common.splice_section(once, "capacity", "cap")
    twice = common.splice_section(other, "turns-x", "second")
    assert "first" not in twice and "second" in twice and "cap" in twice
    assert twice.index("second") < twice.index("cap")  # kept its place
    assert common.markdown_table(["a", "bb"], [[1, 2]]).splitlines()[1] == "|---|----|"


def test_verdicts() -> None:
    assert common.verdict(29.0, 30.0) == "pass"
    assert common.verdict(31.0, 30.0) == "FAIL"
    assert common.verdict(120.0, 100.0, at_most=False) == "pass"
    assert common.verdict(float("nan"), 1.0) == "n/a"


def test_llm_overheads_subtract_the_fakes_own_time() -> None:
    turns = load_bench("turns")
    # Turn 3 waited for a label check (the fake's request 4, 0.5 s) before its reply (request 5).
    streamed = [(1, 10.0, 10.30, 11.05, None), (2, 20.0, 20.26, 21.02, None), (9, 30.0, 30.3, 31.0, None),
                (5, 40.0, 40.80, 41.55, 4)]
    timings = [{"n": 1, "arrived": 10.01, "first": 10.25, "end": 11.01},
               {"n": 2, "arrived": 20.005, "first": 20.245, "end": 21.005},
               {"n": 4, "arrived": 40.01, "first": 40.51, "end": 40.51},
               {"n": 5, "arrived": 40.52, "first": 40.76, "end": 41.52}]
    server, first, unmatched = turns.llm_overheads(streamed, timings)
    assert [round(x) for x in server] == [50, 20, 50]  # 1050 - 1000, 1020 - 1000, 1550 - 500 - 1000
    assert [round(x) for x in first] == [60, 20, 60]  # 300 - 240, 260 - 240, 800 - 500 - 240
    assert unmatched == 1
    assert turns._label_check({"check": {"completion_id": "chatcmpl-bench-4", "cached": False}}) == 4
    assert turns._label_check({"check": {"completion_id": "chatcmpl-bench-4", "cached": True}}) is None
    assert turns._label_check({"check": None}) is None
    fake = load_bench("fake_llm").Fake(first_token_s=0.24, tokens_per_s=25, words=20)
    assert round(fake.reply_s, 3) == 1.0
    assert fake.reply_words(7)[-1] == "#7" and len(fake.reply_words(7)) == 20


def test_gc_pauses_count_only_what_happened_once_the_server_was_ready(tmp_path: Path) -> None:
    gc_pauses = load_bench("gc_pauses")
    recorder = gc_pauses.Recorder()
    recorder("start", {"generation": 2})
    recorder("stop", {"generation": 2})  # during startup: not counted
    recorder.mark_ready()
    for gen in (0, 0, 1, 2):
        recorder("start", {"generation": gen})
        recorder("stop", {"generation": gen})
    assert [p[0] for p in recorder.pauses] == [2, 0, 0, 1, 2]
    assert recorder.pauses[0][2] is None and all(p[2] is not None and p[2] >= 0 for p in recorder.pauses[1:])
    path = tmp_path / "1.json"
    recorder.dump(path, frozen=True, thresholds=lambda: (20_000, 10, 10))
    stored = json.loads(path.read_text())
    rows = gc_pauses.summary(stored["pauses"])
    assert stored["frozen"] is True and stored["thresholds"] == [20_000, 10, 10]
    assert [row[:2] for row in rows] == [[0, 2], [1, 1], [2, 1]]


def test_phases_measure_the_gaps_between_a_requests_own_marks() -> None:
    phases = load_bench("phases")
    marks = [[1, "request", 10.000], [2, "request", 10.001], [1, "sign-in<", 10.002], [2, "sign-in<", 10.011],
             [1, "sign-in>", 10.003], [2, "sign-in>", 10.012]]
    got = {(a, b): [round(v, 3) for v in values] for a, b, values in phases.steps(marks)}
    assert got == {("request", "sign-in<"): [2.0, 10.0], ("sign-in<", "sign-in>"): [1.0, 1.0]}
    assert phases.steps(marks)[0][:2] == ("request", "sign-in<"), "the step with the most time comes first"
    assert phases.wrapped(lambda x: x + 1, "step")(1) == 2  # outside a marked request: no mark, same result
    assert phases.MARKS == []


def test_unique_lines_differ_per_trainee_and_keep_the_line() -> None:
    line = "How many trucks do you run today?"
    said = [common.unique_line(line, "en", i) for i in range(200)]
    assert len(set(said)) == 200  # no two trainees send the same text: none is in the vector cache
    assert all(text.endswith("many trucks do you run today?") for text in said)
    assert said[0] == "Anna, how many trucks do you run today?"
    assert common.unique_line("Сколько у вас машин?", "ru", 21) == "Борис, так сколько у вас машин?"
    assert common.unique_line("I run sales at Acme.", "en", 0) == "Anna, I run sales at Acme."  # "I" stays


def test_ab_reads_the_turns_table_and_alternates_its_report() -> None:
    ab = load_bench("ab")
    row = {"turns": 1360, "errors": 0, "server CPU ms/turn": "17.2", "p50 ms": "1022.8", "p95 ms": "1057.1",
           "server p50/p95 ms": "21.9/51.3", "first-token overhead p50/p95 ms": "16.2/45.5",
           "before model p50/p95 ms": "-"}
    got = ab.figures(row)
    assert got["server time p95 ms"] == 51.3 and got["first-token overhead p50 ms"] == 16.2
    assert got["turns"] == 1360 and got["before model p95 ms"] != got["before model p95 ms"]  # "-" is NaN
    a = ab.Variant("child", {"SPIN_TRAINER_ENCODER_PROCESS": "true"})
    b = ab.Variant("in-server", {"SPIN_TRAINER_ENCODER_PROCESS": "false"})
    a.runs = [{"load average": 0.5, **got}, {"load average": 0.7, **got, "server time p95 ms": 60.0}]
    b.runs = [{"load average": 0.6, **got, "server time p95 ms": 120.0}]
    text = ab.report(a, b, [a, b, a])
    lines = text.splitlines()
    assert "- child: the working tree, SPIN_TRAINER_ENCODER_PROCESS=true" in lines
    runs = [line for line in lines if line.startswith("| 1 ") or line.startswith("| 2 ") or line.startswith("| 3 ")]
    assert [r.split("|")[2].strip() for r in runs] == ["child", "in-server", "child"]
    summary = next(line for line in lines if line.startswith("| server time p95 ms"))
    assert "55.6 (51.3-60.0)" in summary and "| 120.0" in summary
    assert next(line for line in lines if line.startswith("| turns ")).split("|")[2].strip() == "1360"


@pytest.mark.parametrize(("args", "fix"), [
    (["--db", "both", "--trainees", "200"], "not both"),
    (["--engine", "llm"], "one trainee count"),
    (["--trainees", "10,200"], "one trainee count"),
    (["--trainees", "200", "--json", "x"], "sets --json itself"),
])
def test_ab_refuses_what_would_not_compare(args: list[str], fix: str) -> None:
    with pytest.raises(SystemExit, match=fix):
        load_bench("ab").check_turns_args(args)


def test_ab_environment_pairs() -> None:
    ab = load_bench("ab")
    assert ab.env_pairs(["A=1", "B=x=y"], "--a-env") == {"A": "1", "B": "x=y"}
    with pytest.raises(SystemExit, match="give KEY=VALUE"):
        ab.env_pairs(["NOVALUE"], "--a-env")


def test_the_servers_process_tree_reaches_grandchildren() -> None:
    # A child that starts a grandchild: the server's workers and their encoder processes.
    script = ("import subprocess, sys, time\n"
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
              "time.sleep(30)\n")
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 10
        tree = common.process_tree(child.pid)
        while len(tree) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            tree = common.process_tree(child.pid)
        assert tree[0] == child.pid and len(tree) == 2
        me = common.process_tree(os.getpid())
        assert child.pid in me and tree[1] in me and me[0] == os.getpid()
    finally:
        for pid in reversed(common.process_tree(child.pid)):
            os.kill(pid, 9)
        child.wait()


def test_instructions_bench_reads_callgrind_totals_and_sums_up_steps(tmp_path: Path) -> None:
    instructions = load_bench("instructions")
    dump = tmp_path / "callgrind.out.1.1"
    assert instructions.read_totals(dump) is None  # not written yet
    dump.write_text("# callgrind format\nversion: 1\nevents: Ir\nsummary: 31758480\n\nfn=(1) main\n0 5\n")
    assert instructions.read_totals(dump) is None  # still being written: no totals line yet
    dump.write_text(dump.read_text() + "totals: 31758480\n")
    assert instructions.read_totals(dump) == 31_758_480
    rows = instructions.rows_of("sqlite", "llm", {"streamed turn": [30_000_000, 32_000_000, 40_000_000]})
    assert rows == [["sqlite", "llm", "streamed turn", 3, "34.0", "32.0", "30.0", "40.0"]]
    with pytest.raises(SystemExit):
        instructions.main(["--env", "NO_EQUALS_SIGN"])


def test_instructions_bench_splits_a_step_between_the_phase_marks(tmp_path: Path) -> None:
    instructions = load_bench("instructions")

    def dump(part: int, trigger: str, total: int) -> None:
        (tmp_path / f"callgrind.out.7.{part}").write_text(
            f"# callgrind format\nversion: 1\ndesc: Trigger: {trigger}\nevents: Ir\n\nfn=(1) main\n0 5\n"
            f"totals: {total}\n")

    dump(1, "dump before", 100)
    for base, step in ((1, "streamed turn"), (5, "hang-up"), (9, "streamed turn")):
        dump(base + 1, "Client Request: request", 10)
        dump(base + 2, "Client Request: label<", 20)
        dump(base + 3, "Client Request: label>", 3000 if step == "streamed turn" else 7)
        if step == "streamed turn":
            dump(base + 4, f"dump {step}", 400)
        else:
            dump(base + 4, f"dump {step}", 9)
    (tmp_path / "callgrind.out.7").write_text("totals: 5\n")  # the last dump, at exit: not a part
    found = instructions.parts(tmp_path, 7, after=1)
    assert [number for number, _, _ in found] == list(range(2, 14))
    steps = instructions.phase_steps(found)
    assert steps == [{"(step start) -> request": 10, "request -> label<": 20, "label< -> label>": 3000,
                      "label> -> (step end)": 400}] * 2  # the hang-up's segments are not a streamed turn's
    rows = instructions.phase_rows([{"label< -> label>": 3_000_000}, {"label< -> label>": 1_000_000,
                                                                      "x -> y": 50_000}])
    assert rows == [["label< -> label>", "2.00", "2.00", "99 %"], ["the whole step", "2.02", "2.02", "100 %"]]
    counters = instructions.Counters(7, tmp_path)
    counters.dumps = 9
    counters._control = lambda *args: None  # the dump asked for is already on disk
    assert counters.take("streamed turn") == 10 + 20 + 3000 + 400
    assert counters.dumps == 13


def test_the_relay_floor_relays_the_fake_models_words_as_the_turns_bench_reads_them() -> None:
    """bench/relay_app.py, in process against bench/fake_llm.py on a loopback port: the events the turns bench
    reads (trainee, a token per word, done with the reply's `#N` mark), and a call start and hang-up."""
    import asyncio

    import httpx

    from tests.unit.test_llm_async import in_fresh_thread

    fake_llm, relay_app, wire = load_bench("fake_llm"), load_bench("relay_app"), load_bench("wire")

    async def scenario() -> tuple[int, list[tuple[str, str]], int, int]:
        fake = fake_llm.Fake(first_token_s=0.01, tokens_per_s=200, words=5)
        server = await asyncio.start_server(fake_llm.handler(fake), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        app = relay_app.create_app(f"http://127.0.0.1:{port}/v1")
        async with server, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay") as c:
            started = await c.post("/api/calls", json={"persona": "x", "lang": "en"})
            streamed = await c.post(f"/api/calls/{started.json()['id']}/turns/stream", json={"text": "How many?"})

            async def body():  # type: ignore[no-untyped-def]
                yield streamed.content

            events = [(event, data) async for event, data in wire.sse_events(body())]
            ended = await c.post("/api/calls/1/end")
        return started.status_code, events, ended.status_code, fake.served

    status, events, ended, served = in_fresh_thread(lambda: asyncio.run(scenario()))
    assert (status, ended, served) == (201, 200, 1)
    kinds = [event for event, _ in events]
    assert kinds == ["trainee", "token", "token", "token", "token", "token", "done"]
    assert json.loads(events[0][1])["text"] == "How many?"
    words = "".join(json.loads(data)["text"] for event, data in events if event == "token")
    done = json.loads(events[-1][1])
    assert done["client"]["text"] == words.strip() and done["client"]["text"].endswith("#1")


def test_the_relay_floor_refuses_to_start_without_a_model_server(monkeypatch: pytest.MonkeyPatch) -> None:
    relay_app = load_bench("relay_app")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setattr(sys, "argv", ["relay_app.py", "serve", "--port", "1"])
    assert relay_app.main() == 2


def test_gate_holds_report_per_route_with_the_share_of_time_held(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    gate_holds = load_bench("gate_holds")
    assert gate_holds.route_of("/api/calls/12/turns/stream") == "/api/calls/{id}/turns/stream"
    holds = [["POST /api/calls/{id}/end", 0.0, 30.0, 1.0], ["POST /api/calls", 2.0, 4.0, 1.5],
             ["POST /api/calls", 0.0, 6.0, 2.0]]
    (tmp_path / "1.json").write_text(json.dumps({"span_s": 2.0, "holds": holds}))
    assert gate_holds.report([tmp_path / "1.json"]) == 0
    rows = [line.split("|") for line in capsys.readouterr().out.splitlines() if line.startswith("| POST")]
    by_route = {cells[1].strip(): [c.strip() for c in cells[2:-1]] for cells in rows}
    assert by_route["POST /api/calls/{id}/end"][-1] == "15", "30 ms held in 2 s"
    assert by_route["POST /api/calls"][0] == "2" and by_route["POST /api/calls"][-1] == "5"
    assert list(by_route) == ["POST /api/calls/{id}/end", "POST /api/calls"], "the longest held first"


def test_phases_tail_shows_the_steps_of_the_slowest_turns_without_the_checked_labels() -> None:
    phases = load_bench("phases")
    marks: list[list[object]] = []
    for rid in range(1, 21):  # twenty turns: 1 ms to sign in, then the model; turn 20 waits 9 ms for vectors
        start = float(rid)
        wait = 0.009 if rid == 20 else 0.0
        marks += [[rid, "request", start], [rid, "vectors<", start + 0.001],
                  [rid, "vectors>", start + 0.001 + wait], [rid, "open model stream<", start + 0.002 + wait]]
    marks += [[21, "request", 30.0], [21, "label check<", 30.001], [21, "open model stream<", 31.0]]
    table = phases.tail(marks)
    assert table.splitlines()[0].startswith("the slowest 1 of 20 turns"), table  # turn 21 is left out
    first_row = [cell.strip() for cell in table.splitlines()[3].split("|")[1:4]]
    assert first_row == ["vectors< -> vectors>", "9.0", "0.5"], table  # the step that made it slow, first
    assert phases.tail([[1, "request", 1.0]]) == "no turn reached 'open model stream<'"
