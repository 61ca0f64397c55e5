"""Turn the recorded benchmark runs into dltp's backend preferences (src/dltp/backend_preferences.json).

Two tables per device kind (cpu, gpu: the kind of the machine that measured them):

- ``full``: each experiment's training throughput per backend, from the throughput benchmarks
  (train_throughput for the dense recipe of TP1/TP2, tp3_, tp4_, tp5_throughput); a lab is ranked
  by the time its models take together (per round, the sum of 1/rate);
- ``quick``: each experiment's seconds in `dltp run ... --quick`, pinned to each backend, on the
  second and later runs (bench/quick_backends.py: a first run per backend warms the caches, then
  interleaved rounds), where start-up and compilation weigh as much as throughput.

Every figure comes in rounds (≥ 5, interleaved: bench/_rounds.py). A backend moves ahead of the
default order (torch, jax, tensorflow) only when it is faster in every round (_rounds.rank); two
backends within each other's spread keep the default order. A backend on which a recorded quick
run missed the experiment's target is left out of the quick order. A record without rounds (made
before they were taken) ranks nothing.

The quick table answers one more question, because `dltp run all --quick` (`make run`) runs each
backend's experiments in one process and deals those processes to lanes (dltp.lanes): an
experiment that is faster alone on another backend can make the whole run slower (one more
process to start, lanes that no longer balance). So the moves off the default backend are kept
only as a set that shortens the whole run as dltp.lanes.plan deals it, on this machine's lanes, in
every round (``suite``); the experiments whose move does not are put back on the default backend
(``kept_default``, with the order they were ranked in).

`dltp run` uses the table of its budget and falls back to the other one. The file keeps, for each
table, the medians it was ranked from (``figures``: lanes.py deals experiments with them), their
spread and rounds, the date, the machine, the threads and the load average.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import _rounds

HERE = Path(__file__).resolve().parent
RUNS = HERE / "results" / "runs"
LABS = HERE / "results" / "labs"
TARGET = HERE.parent / "src" / "dltp" / "backend_preferences.json"
BACKENDS = ("torch", "jax", "tensorflow")
DENSE = ("tp1", "tp1.batching", "tp2", "tp2.diagnose", "tp2.regularize", "tp2.optimizers", "tp2.batchnorm")
THROUGHPUT = ("train_throughput", "tp3_throughput", "tp4_throughput", "tp5_throughput")
QUICK = "quick_backends"


def _payload(name: str) -> tuple[dict, dict] | None:
    path = RUNS / f"{name}.json"
    if not path.exists():
        return None
    run = json.loads(path.read_text())
    if run.get("returncode") or not run.get("payload"):
        return None
    return run, run["payload"]


def _rates() -> tuple[dict[str, dict[str, list[float]]], list[dict]]:
    """workload -> backend -> rate of each round (higher is faster), and the runs they come from.
    Each throughput benchmark saves them under ``ranking``."""
    rates: dict[str, dict[str, list[float]]] = {}
    sources = []
    for name in THROUGHPUT:
        got = _payload(name)
        if not got or not got[1].get("ranking"):
            continue
        sources.append(got[0])
        for workload, by_backend in got[1]["ranking"].items():
            rates.setdefault(workload, {}).update(by_backend)
    return rates, sources


def rank_by_time(workloads: list[str], rates: dict) -> tuple[list[str], dict, dict] | None:
    """Backends ordered by the time ``workloads`` take together (per round, the sum of 1/rate),
    in the default order wherever a round disagrees; the median rates, and each backend's seconds
    per sample in every round. None if unmeasured."""
    measured = [w for w in workloads if w in rates]
    if not measured:
        return None
    common = [b for b in BACKENDS if all(b in rates[w] for w in measured)]
    if not common:
        return None
    n = min(len(rates[w][b]) for w in measured for b in common)
    if n < _rounds.MIN_ROUNDS:  # a record without rounds ranks nothing
        return None
    cost = {b: [sum(1.0 / rates[w][b][i] for w in measured) for i in range(n)] for b in common}
    figures = {w: {b: round(_rounds.summary(rates[w][b])["median"], 2) for b in common} for w in measured}
    return _rounds.rank(cost, BACKENDS), figures, cost


FULL_WORKLOADS = {
    **{unit: ["dense"] for unit in DENSE},
    "tp3.cnn": ["cnn"], "tp3.resnet": ["resnet"], "tp3.detection": ["detector"], "tp3": ["cnn", "resnet", "detector"],
    "tp4.unet": ["unet"], "tp4.conv3d": ["conv3d"],
    "tp5.attention": ["attention"], "tp5.seq2seq": ["seq2seq"],
}


def _context(run: dict) -> dict:
    return {key: run.get(key) for key in ("benchmark", "date", "machine", "threads", "load_average_at_start")}


def full_table() -> dict | None:
    rates, sources = _rates()
    order, figures = {}, {}
    for unit, workloads in FULL_WORKLOADS.items():
        ranked = rank_by_time(workloads, rates)
        if ranked:
            order[unit], figures[unit], _ = ranked
    if not order:
        return None
    return {"measured": [_context(r) for r in sources],
            "figure": "training samples/s per backend, median of interleaved rounds",
            "rule": RULE, "order": order, "figures": figures,
            "rounds": {w: {b: list(v) for b, v in by_backend.items()} for w, by_backend in rates.items()}}


RULE = ("a backend goes ahead of the default order torch, jax, tensorflow only when it is faster in every round; "
        "backends within each other's spread keep the default order")


def _default_quick_run(command: str) -> bool:
    """`dltp run ID --quick` with nothing changed but the backend or threads (a run with, say, a
    zero learning rate misses its target on purpose)."""
    words = command.split()
    if words[:2] != ["dltp", "run"] or "--quick" not in words:
        return False
    rest = [w for w in words[3:] if w not in ("--quick", "--json")]
    while rest[:1] in (["--backend"], ["--threads"]):
        rest = rest[2:]
    return not rest


def missed_targets(labs: Path = LABS) -> dict[str, set[str]]:
    """unit → backends on which a recorded quick run missed the unit's target (bench/results/labs)."""
    missed: dict[str, set[str]] = {}
    for path in sorted(labs.glob("*.json")):
        record = json.loads(path.read_text())
        if not _default_quick_run(record.get("command", "")):
            continue
        result = record.get("result") or {}
        for r in result.get("results", [result]):
            if r.get("target_met") is False and r.get("backend"):
                missed.setdefault(r["experiment"], set()).add(r["backend"])
    return missed


def quick_table() -> dict | None:
    got = _payload(QUICK)
    if not got:
        return None
    run, payload = got
    return quick_table_of(payload, [_context(run)])


def quick_table_of(payload: dict, measured: list[dict]) -> dict | None:
    """The quick table of a bench/quick_backends.py payload, without the backends on which one of
    its runs or a recorded quick run (bench/results/labs) missed an experiment's target."""
    missed = missed_targets(LABS)
    for unit, backends in (payload.get("missed_target") or {}).items():
        missed.setdefault(unit, set()).update(backends)
    return quick_table_from(payload.get("seconds", {}), measured, missed)


def quick_table_from(seconds: dict[str, dict[str, list[float]]], measured: list[dict],
                     missed: dict[str, set[str]] | None = None, lanes: int | None = None) -> dict | None:
    """The quick table from each unit's seconds per pinned backend, a list of rounds each (the
    rounds of one index ran back to back). A backend on which a recorded quick run missed the
    unit's target is left out: a quick run must still make its lab's point."""
    order, figures, spread, excluded = {}, {}, {}, {}
    for unit, by_backend in seconds.items():
        left_out = sorted((missed or {}).get(unit, set()))
        common = {b: list(by_backend[b]) for b in BACKENDS if by_backend.get(b) and b not in left_out}
        if left_out:
            excluded[unit] = left_out
        if len(common) < 2:
            continue
        n = min(len(v) for v in common.values())
        if n < _rounds.MIN_ROUNDS:
            raise ValueError(f"{unit}: {n} rounds; a ranking takes at least {_rounds.MIN_ROUNDS}")
        common = {b: v[:n] for b, v in common.items()}
        order[unit] = _rounds.rank(common, BACKENDS)
        figures[unit] = {b: round(_rounds.summary(v)["median"], 2) for b, v in common.items()}
        spread[unit] = {b: [round(min(v), 2), round(max(v), 2)] for b, v in common.items()}
    if not order:
        return None
    suite = suite_rule(order, seconds, lanes)
    return {"measured": measured,
            "figure": "seconds of the experiment in `dltp run ... --quick` pinned to each backend, second and later "
                      "runs: median of interleaved rounds (spread: min, max)",
            "rule": RULE + "; " + SUITE_RULE, "missed_target": excluded, "order": order, "figures": figures,
            "spread": spread, "suite": suite,
            "rounds": {u: {b: list(v) for b, v in by_backend.items() if b in figures.get(u, {})}
                       for u, by_backend in seconds.items() if u in order}}


SUITE_RULE = ("moves off the default backend are kept only as a set that shortens the whole quick run, dealt to "
              "lanes as dltp runs it, in every round")


def suite_rule(order: dict[str, list[str]], seconds: dict[str, dict[str, list[float]]], lanes: int | None) -> dict:
    """Put back on its default backend every experiment whose move does not help the whole run.

    ``order`` (unit → backends, ranked per experiment) is changed in place. Each subset of the moves is
    dealt as `dltp run all --quick` deals it (dltp.lanes.plan: a process per backend, START_S each,
    onto ``lanes`` lanes), round by round with that round's seconds; the run takes as long as its
    longest lane. The subset kept is the one with the shortest median among those shorter than no
    move at all in every round (none: every experiment stays on its default backend)."""
    import itertools
    import statistics

    sys.path.insert(0, str(HERE.parent / "src"))
    from dltp import lanes as dltp_lanes

    units = list(order)
    jobs = lanes or dltp_lanes.resolve_jobs(None, None, len(units))
    default = {u: next(b for b in BACKENDS if b in order[u]) for u in units}
    moves = [u for u in units if order[u][0] != default[u]]
    n = min(len(seconds[u][b]) for u in units for b in order[u])

    def run_s(assign: dict[str, str]) -> list[float]:
        spans = []
        for i in range(n):
            plan = dltp_lanes.plan(units, assign, jobs, lambda u, b: seconds[u][b][i])
            spans.append(round(max(sum(batch.estimate_s for batch in lane) for lane in plan), 2))
        return spans

    none = run_s(default)
    best, best_s = (), none
    for k in range(1, len(moves) + 1):
        for subset in itertools.combinations(moves, k):
            spans = run_s({**default, **{u: order[u][0] for u in subset}})
            if all(a < b for a, b in zip(spans, none)) and statistics.median(spans) < statistics.median(best_s):
                best, best_s = subset, spans
    kept = {u: list(order[u]) for u in moves if u not in best}
    for u in kept:
        order[u] = [default[u]] + [b for b in order[u] if b != default[u]]
    return {"lanes": jobs, "moved": list(best), "kept_default": kept,
            "predicted_run_s": {"no move": none, "kept moves": best_s}}


def device_kind() -> str:
    sys.path.insert(0, str(HERE.parent / "src"))
    from dltp.backends import gpu_visible

    return "gpu" if gpu_visible() else "cpu"


def merged(tables: dict, target: Path = TARGET) -> dict:
    """The preferences file with ``tables`` (budget → table) replacing this device kind's."""
    prefs = json.loads(target.read_text()) if target.exists() else {}
    device = device_kind()
    prefs[device] = {**prefs.get(device, {}), **{k: v for k, v in tables.items() if v}}
    return prefs


def write(target: Path = TARGET) -> dict | None:
    if not target.parent.is_dir():  # not a dltp checkout
        return None
    prefs = merged({"full": full_table(), "quick": quick_table()}, target)
    target.write_text(json.dumps(prefs, indent=1) + "\n")
    return prefs


if __name__ == "__main__":
    print(json.dumps(write(), indent=1))
