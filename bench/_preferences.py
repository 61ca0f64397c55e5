"""Turn the recorded benchmark runs into dltp's backend preferences (src/dltp/backend_preferences.json).

Two tables per device kind (cpu, gpu: the kind of the machine that measured them):

- ``full``: each experiment's training throughput per backend, from the throughput benchmarks
  (train_throughput for the dense recipe of TP1/TP2, tp3_, tp4_, tp5_throughput); a lab is ranked
  by the time its models take together (the sum of 1/rate);
- ``quick``: each unit's measured seconds in `dltp run all --quick --jobs 1` pinned to each
  backend (suite_walltime: one experiment at a time, so no neighbour sways the figure), where
  start-up and compilation weigh as much as throughput.

`dltp run` uses the table of its budget and falls back to the other one. The file keeps, for each
table, the figures it was ranked from, the date, the machine, the threads and the load average.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = HERE / "results" / "runs"
LABS = HERE / "results" / "labs"
TARGET = HERE.parent / "src" / "dltp" / "backend_preferences.json"
BACKENDS = ("torch", "jax", "tensorflow")
DENSE = ("tp1", "tp1.batching", "tp2", "tp2.diagnose", "tp2.regularize", "tp2.optimizers", "tp2.batchnorm")


def _payload(name: str) -> tuple[dict, dict] | None:
    path = RUNS / f"{name}.json"
    if not path.exists():
        return None
    run = json.loads(path.read_text())
    if run.get("returncode") or not run.get("payload"):
        return None
    return run, run["payload"]


def _rates() -> tuple[dict[str, dict[str, float]], list[dict]]:
    """workload → backend → rate (higher is faster), and the runs they come from."""
    rates: dict[str, dict[str, float]] = {}
    sources = []
    if got := _payload("train_throughput"):
        sources.append(got[0])
        for row in got[1]["rows"]:
            if "samples_per_s" in row and not row.get("variant"):
                rates.setdefault("dense", {})[row["backend"]] = row["samples_per_s"]
    if got := _payload("tp3_throughput"):
        sources.append(got[0])
        for row in got[1]["rows"]:
            rates.setdefault(row["model"], {})[row["backend"]] = row["images_per_s"]
    if got := _payload("tp4_throughput"):
        sources.append(got[0])
        for row in got[1]["rows"]:
            key = "unet" if row["model"].startswith("U-Net") else "conv3d"
            rates.setdefault(key, {})[row["backend"]] = row["rate"]
    if got := _payload("tp5_throughput"):
        sources.append(got[0])
        for row in got[1]["rows"]:
            for key in ("attention", "seq2seq"):
                rates.setdefault(key, {})[row["backend"]] = row[key]
    return rates, sources


def _rank_by_time(workloads: list[str], rates: dict) -> tuple[list[str], dict] | None:
    """Backends ordered by the summed time of ``workloads`` (1/rate each); None if unmeasured."""
    measured = [w for w in workloads if w in rates]
    if not measured:
        return None
    common = [b for b in BACKENDS if all(b in rates[w] for w in measured)]
    cost = {b: sum(1.0 / rates[w][b] for w in measured) for b in common}
    figures = {w: {b: round(rates[w][b], 2) for b in common} for w in measured}
    return sorted(common, key=cost.get), figures


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
        ranked = _rank_by_time(workloads, rates)
        if ranked:
            order[unit], figures[unit] = ranked
    if not order:
        return None
    return {"measured": [_context(r) for r in sources], "figure": "training samples/s per backend",
            "order": order, "figures": figures}


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
    got = _payload("suite_walltime")
    if not got:
        return None
    run, payload = got
    return quick_table_from(payload.get("pinned_s", {}), [_context(run)], missed_targets())


def quick_table_from(pinned: dict[str, dict[str, float]], measured: list[dict],
                     missed: dict[str, set[str]] | None = None) -> dict | None:
    """The quick table from each unit's seconds per pinned backend. A backend on which a recorded
    quick run missed the unit's target is left out: a quick run must still make its lab's point."""
    order, figures, excluded = {}, {}, {}
    for unit, seconds in pinned.items():
        left_out = sorted((missed or {}).get(unit, set()))
        common = [b for b in BACKENDS if seconds.get(b) and b not in left_out]
        if left_out:
            excluded[unit] = left_out
        if len(common) >= 2:
            order[unit] = sorted(common, key=seconds.get)
            figures[unit] = {b: seconds[b] for b in common}
    if not order:
        return None
    return {"measured": measured,
            "figure": "seconds of the unit in `dltp run all --quick --jobs 1` pinned to each backend",
            "missed_target": excluded, "order": order, "figures": figures}


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
