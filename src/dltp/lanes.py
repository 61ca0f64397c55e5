"""Several experiments of one `dltp run`, side by side.

Each experiment computes on ``threads`` threads (half the cores by default), so a run of several
experiments leaves the other half idle. Here the experiments are cut into *batches*, one child
process each (`python -m dltp run A B C --backend X`), all the experiments of a batch on one
backend, and the batches are dealt to ``jobs`` *lanes* that run at the same time: one process per
backend instead of one per experiment, and two of them at once on two cores.

The deal uses what each experiment took in `make bench` on its backend (the quick table of
dltp's backend preferences), longest first onto the least loaded lane; without a measurement,
every experiment counts the same. A lane's output is prefixed with the experiment it comes from.
On a GPU every experiment wants the one device, so the default there is one lane.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from dltp import backends, child
from dltp.config import first_count

UNMEASURED_S = 30.0  # an experiment without a measurement counts as this many seconds
START_S = 6.0  # a child process's start (Python, keras, the backend), added to each batch


@dataclass
class Batch:
    """Experiments run one after another by one child process on one backend."""

    backend: str
    units: list[str]
    estimate_s: float


@dataclass
class Outcome:
    """What came back from the lanes: results by experiment, and the exit code of each failure."""

    results: dict[str, dict] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False


def resolve_jobs(flag: int | None, threads: int, units: int) -> int:
    """Lanes for a run of ``units`` experiments: ``--jobs``, else DLTP_JOBS, else as many as the
    cores hold at ``threads`` each (one on a GPU, whose memory one experiment may take)."""
    jobs = first_count((flag, "--jobs"), (os.environ.get("DLTP_JOBS"), "DLTP_JOBS"))
    if jobs is None:
        jobs = 1 if backends.gpu_visible() else max(1, (os.cpu_count() or 1) // threads)
    return max(1, min(jobs, units))


def estimate(unit: str, backend: str, quick: bool, preferences: dict | None = None) -> float:
    """Seconds ``unit`` took on ``backend`` in the recorded quick suite (quick runs only)."""
    if not quick:
        return UNMEASURED_S
    prefs = backends.load_preferences() if preferences is None else preferences
    figures = ((prefs.get("cpu") or {}).get("quick") or {}).get("figures", {})
    return float((figures.get(unit) or {}).get(backend) or UNMEASURED_S)


def plan(units: list[str], backend_of: dict[str, str], jobs: int, seconds) -> list[list[Batch]]:
    """Batches dealt to ``jobs`` lanes. ``seconds(unit, backend)`` estimates one experiment."""
    batches: list[Batch] = []
    for unit in units:  # one batch per backend, in the order of the run
        backend = backend_of[unit]
        batch = next((b for b in batches if b.backend == backend), None)
        if batch is None:
            batch = Batch(backend, [], START_S)
            batches.append(batch)
        batch.units.append(unit)
        batch.estimate_s += seconds(unit, backend)
    while len(batches) < jobs:  # fewer backends than lanes: cut the longest batch in two
        splittable = [b for b in batches if len(b.units) > 1]
        if not splittable:
            break
        longest = max(splittable, key=lambda b: b.estimate_s)
        batches.remove(longest)
        batches += _halves(longest, seconds)
    lanes: list[list[Batch]] = [[] for _ in range(min(jobs, len(batches)))]
    load = [0.0] * len(lanes)
    for batch in sorted(batches, key=lambda b: -b.estimate_s):
        lane = load.index(min(load))
        lanes[lane].append(batch)
        load[lane] += batch.estimate_s
    return lanes


def _halves(batch: Batch, seconds) -> list[Batch]:
    """Two batches of consecutive experiments, as even in estimated seconds as the order allows."""
    times = [seconds(u, batch.backend) for u in batch.units]
    best_cut = min(range(1, len(times)), key=lambda cut: abs(sum(times[:cut]) - sum(times[cut:])))
    return [Batch(batch.backend, batch.units[:best_cut], START_S + sum(times[:best_cut])),
            Batch(batch.backend, batch.units[best_cut:], START_S + sum(times[best_cut:]))]


class _Printer:
    """Lines from several lanes, whole and prefixed with the experiment they come from."""

    def __init__(self, width: int):
        self.width = width
        self.lock = threading.Lock()

    def line(self, unit: str, text: str) -> None:
        with self.lock:
            sys.stdout.write(f"{unit:<{self.width}} | {text}")
            sys.stdout.flush()

    def plain(self, text: str) -> None:
        with self.lock:
            print(text, flush=True)


def run(lanes: list[list[Batch]], args, threads: int, on_result) -> Outcome:
    """Run every lane at once; ``on_result(unit, result)`` is called as each experiment ends."""
    outcome = Outcome()
    printer = _Printer(max(len(u) for lane in lanes for b in lane for u in b.units))
    stopping = threading.Event()
    procs: list[subprocess.Popen] = []

    def lane_worker(lane: int, batches: list[Batch]) -> None:
        for batch in batches:
            if stopping.is_set():
                return
            current = {"unit": batch.units[0]}

            def output(text: str, current=current, batch=batch) -> None:
                header = child.header_unit(text)
                if header in batch.units:
                    current["unit"] = header
                printer.line(current["unit"], text)

            def result(unit: str, value: dict) -> None:
                outcome.results[unit] = value
                with printer.lock:
                    on_result(unit, value)

            code = child.run_batch(batch.units, args, batch.backend, threads, output=output, on_result=result,
                                   started=procs.append, lane=lane)
            if code == 130:
                outcome.interrupted = True
                stopping.set()
            for unit in batch.units:
                if unit not in outcome.results:
                    outcome.codes[unit] = code or 1

    workers = [threading.Thread(target=lane_worker, args=(index, lane), daemon=True)
               for index, lane in enumerate(lanes)]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            while worker.is_alive():
                worker.join(0.2)
    except KeyboardInterrupt as exc:
        stopping.set()
        forwarded = str(exc).startswith("signal")
        for proc in procs:
            child.stop(proc, forwarded=forwarded, drain=False)
        deadline = time.monotonic() + 90
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        raise
    return outcome
