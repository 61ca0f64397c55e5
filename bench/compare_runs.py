"""Compare two `dltp run ... --json` outputs figure by figure: the check that a change to the code
kept the results (same seed, same backend, same metrics).

    python bench/compare_runs.py bench/results/refactor/before.json bench/results/refactor/after.json

Each file is a record (bench/record.py, with the payload under ``result``) or a command's output
(its last line is the JSON). Every figure of every experiment is flattened and compared exactly;
figures that time something (run ids, seconds, throughput) are left out, since they move with the
machine. Prints one line per experiment and exits 1 when a figure differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TIMING = ("run_id", "seconds", "time_s", "samples_per_s", "backend_choice", "rollout_ms", "results_json",
          "compilation_cache")


def payload(path: Path) -> dict:
    text = path.read_text().strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = json.loads(text.splitlines()[-1])  # a command's output: the JSON is the last line
    return data.get("result", data)


def flatten(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten(item, f"{prefix}.{key}".lstrip(".")).items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in flatten(item, f"{prefix}[{i}]").items()}
    return {prefix: value}


def compare(before: dict, after: dict) -> list[tuple[str, int, list[str]]]:
    """(experiment, figures compared, figures that differ) per experiment of ``before``."""
    runs_after = {r["experiment"]: r for r in after.get("results", [after])}
    rows = []
    for run in before.get("results", [before]):
        old, new = flatten(run), flatten(runs_after.get(run["experiment"], {}))
        keys = [k for k in old if not any(word in k for word in TIMING)]
        rows.append((run["experiment"], len(keys), [k for k in keys if old[k] != new.get(k)]))
    return rows


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    rows = compare(payload(Path(argv[0])), payload(Path(argv[1])))
    for experiment, compared, differ in rows:
        line = f"{experiment}: {compared - len(differ)} of {compared} figures identical"
        print(line + (f"; differ: {', '.join(differ[:6])}{' ...' if len(differ) > 6 else ''}" if differ else ""))
    return 1 if any(differ for *_, differ in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
