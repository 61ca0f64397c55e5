"""Several experiments of one `dltp run`, side by side.

The experiments are cut into *batches*, one child process each (`python -m dltp run A B C --backend
X`), all the experiments of a batch on one backend, and the batches are dealt to ``jobs`` *lanes*
that run at the same time: one process per backend instead of one per experiment, and two of them
at once on two cores. Each batch starts on the cores split among the lanes still running (all of
them once it runs alone), unless the user set a thread count; jax, which only a CPU binding holds
to a thread count, is bound to CPUs that no other lane holds.

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


def resolve_jobs(flag: int | None, threads: int | None, units: int) -> int:
    """Lanes for a run of ``units`` experiments: ``--jobs``, else DLTP_JOBS, else as many as the
    cores hold at the user's ``threads`` each, or two halves of the cores when the user set no
    thread count (one lane on a GPU, whose memory one experiment may take)."""
    jobs = first_count((flag, "--jobs"), (os.environ.get("DLTP_JOBS"), "DLTP_JOBS"))
    if jobs is None:
        width = threads or backends.share(2)
        jobs = 1 if backends.gpu_visible() else max(1, backends.cores() // width)
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


class _Cores:
    """Which CPUs the running lanes hold, so that each new child gets those least held."""

    def __init__(self):
        try:
            self.cpus = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not Linux: no binding
            self.cpus = []
        self.held = {cpu: 0 for cpu in self.cpus}

    def take(self, threads: int) -> list[int] | None:
        """``threads`` CPUs for a child, or None when it may use them all (nothing to bind)."""
        if not self.cpus or threads >= len(self.cpus):
            return None
        chosen = sorted(self.cpus, key=lambda cpu: (self.held[cpu], cpu))[:threads]
        for cpu in chosen:
            self.held[cpu] += 1
        return sorted(chosen)

    def give_back(self, cpus: list[int] | None) -> None:
        for cpu in cpus or ():
            self.held[cpu] -= 1


def threads_now(requested: int | None, running: int) -> int:
    """Threads for a batch that starts while ``running`` lanes (itself included) have work left."""
    return requested or backends.share(running)


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


def run(lanes: list[list[Batch]], args, threads: int | None, on_result, run_batch=None) -> Outcome:
    """Run every lane at once; ``on_result(unit, result)`` is called as each experiment ends.
    ``threads``: the user's thread count, or None for each batch's share of the cores when it starts
    (threads_now). ``run_batch``: child.run_batch, or a stand-in with its signature."""
    run_batch = run_batch or child.run_batch
    outcome = Outcome()
    printer = _Printer(max(len(u) for lane in lanes for b in lane for u in b.units))
    stopping = threading.Event()
    procs: list[subprocess.Popen] = []
    cores, lock = _Cores(), threading.Lock()
    running = [len(lanes)]  # lanes with work left

    def lane_worker(batches: list[Batch]) -> None:
        try:
            for batch in batches:
                if stopping.is_set():
                    return
                run_one(batch)
        finally:
            with lock:
                running[0] -= 1

    def run_one(batch: Batch) -> None:
        with lock:
            batch_threads = threads_now(threads, running[0])
            cpus = cores.take(batch_threads)
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

        try:
            code = run_batch(batch.units, args, batch.backend, batch_threads, output=output, on_result=result,
                             started=procs.append, cpus=cpus)
        finally:
            with lock:
                cores.give_back(cpus)
        if code == 130:
            outcome.interrupted = True
            stopping.set()
        for unit in batch.units:
            if unit not in outcome.results:
                outcome.codes[unit] = code or 1

    workers = [threading.Thread(target=lane_worker, args=(lane,), daemon=True, name=f"dltp-lane-{index}")
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
