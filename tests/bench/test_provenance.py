"""A record knows where it comes from: bench/record.py takes the commit when the command starts, counts
untracked files as dirt, and lists the files the command's processes read (children too); a record is
stale once one of those files changes. Everything runs in a throwaway git repository."""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import _provenance  # noqa: E402
import record  # noqa: E402

# alpha reads a data file and starts a child that imports gamma; it also commits during the run, so
# that the commit at the start and the commit at the end differ. beta is never imported.
ALPHA = '''import json, subprocess, sys
from pathlib import Path
Path(__file__).with_name("table.txt").read_text()
try:
    open(Path(__file__).with_name("absent.txt"))  # a probe that fails is not a file it read
except FileNotFoundError:
    pass
subprocess.run([sys.executable, "-c", "import gamma"], check=True)
subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "during the run"], check=True)
print(json.dumps({"accuracy": 0.5, "run_id": None}))
'''


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    (tmp_path / "bench" / "_hook").mkdir(parents=True)
    for name in ("record.py", "_provenance.py", "_hook/sitecustomize.py"):
        shutil.copy(BENCH / name, tmp_path / "bench" / name)
    src = tmp_path / "src"
    src.mkdir()
    (src / "alpha.py").write_text(ALPHA)
    (src / "beta.py").write_text("VALUE = 1\n")
    (src / "gamma.py").write_text("VALUE = 2\n")
    (src / "table.txt").write_text("data\n")
    (tmp_path / ".gitignore").write_text("ignored.txt\n__pycache__/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "test@example.com")
    git(tmp_path, "config", "user.name", "test")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


def take(repo: Path, name: str = "alpha") -> dict:
    proc = subprocess.run([sys.executable, "bench/record.py", name, "--", sys.executable, "-c", "import alpha"],
                          cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads((repo / "bench" / "results" / "labs" / f"{name}.json").read_text())


def problems(record: dict, repo: Path) -> list[str]:
    return _provenance.problems(record, repo)


def test_a_record_holds_the_commit_at_the_start_and_what_its_processes_read(repo):
    start = git(repo, "rev-parse", "HEAD")
    taken = take(repo)
    assert git(repo, "rev-parse", "HEAD") != start  # the command committed while it ran
    assert taken["commit"] == start and taken["dirty"] is False and "dirty_files" not in taken
    assert taken["measured"] == ["src/alpha.py", "src/gamma.py", "src/table.txt"]  # gamma: the child's
    assert taken["result"] == {"accuracy": 0.5, "run_id": None}
    assert problems(taken, repo) == []


def test_a_record_goes_stale_when_a_measured_file_changes_and_not_otherwise(repo):
    taken = take(repo)
    (repo / "src" / "beta.py").write_text("VALUE = 3\n")  # unrelated, in the working tree then committed
    assert problems(taken, repo) == []
    git(repo, "commit", "-qam", "beta")
    assert problems(taken, repo) == []

    (repo / "src" / "table.txt").write_text("other data\n")  # a data file it read, not yet committed
    [why] = problems(taken, repo)
    assert "src/table.txt" in why and "changed after its commit" in why
    git(repo, "commit", "-qam", "table")
    [why] = problems(taken, repo)
    assert "src/table.txt" in why

    git(repo, "rm", "-q", "src/gamma.py")  # a deleted module counts too
    assert "src/gamma.py" in problems(taken, repo)[0]


def test_an_untracked_file_makes_the_record_dirty_an_ignored_one_or_an_output_does_not(repo):
    (repo / "ignored.txt").write_text("x")
    (repo / "bench" / "results").mkdir()
    (repo / "bench" / "results" / "earlier.json").write_text("{}")  # another record: an output
    assert take(repo)["dirty"] is False

    (repo / "src" / "delta.py").write_text("VALUE = 4\n")
    taken = take(repo)
    assert taken["dirty"] is True and taken["dirty_files"] == ["src/delta.py"]
    assert any("uncommitted changes (src/delta.py)" in why for why in problems(taken, repo))


def test_records_without_provenance_are_stale(repo):
    taken = take(repo)
    assert "no commit" in problems({**taken, "commit": None}, repo)[0]
    assert any("does not list the files" in why for why in problems({**taken, "measured": []}, repo))
    assert any("not in this repository's history" in why for why in problems({**taken, "commit": "f" * 40}, repo))
    assert any("does not say whether" in why for why in problems({**taken, "dirty": None}, repo))


def test_a_failing_command_writes_no_record(repo):
    proc = subprocess.run([sys.executable, "bench/record.py", "broken", "--", sys.executable, "-c",
                           "raise SystemExit(3)"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and "no record written" in proc.stderr
    assert not (repo / "bench" / "results" / "labs" / "broken.json").exists()
    usage = subprocess.run([sys.executable, "bench/record.py", "--figures", "x"], cwd=repo, capture_output=True,
                           text=True, timeout=60)
    assert usage.returncode == 2 and "usage" in usage.stderr


def test_run_ids_are_named_by_where_they_sit_in_the_result():
    result = {"run_id": "p", "diagnose": {"run_id": "d"}, "optimizers": {"run_ids": {"adam": "a"}},
              "results": [{"experiment": "tp3.cnn", "run_id": "c"}], "runs": [{"run_id": "d"}]}
    assert record.run_ids(result) == {"p": "", "d": "diagnose", "a": "optimizers-adam", "c": "tp3.cnn"}


def test_figures_are_copied_from_the_runs_artifacts_small_enough_for_the_docs(tmp_path, monkeypatch):
    import mlflow
    import numpy as np
    from PIL import Image

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    noise = np.random.default_rng(0).integers(0, 255, (900, 900, 3), dtype=np.uint8)  # does not compress
    Image.fromarray(noise).save(tmp_path / "curves.png")
    Image.fromarray(noise[:20, :20]).save(tmp_path / "small.png")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as parent:
        mlflow.log_artifact(str(tmp_path / "curves.png"))
        mlflow.log_artifact(str(tmp_path / "small.png"), "plots")
        mlflow.log_text("not a figure", "notes.txt")
    with mlflow.start_run() as child:
        mlflow.log_artifact(str(tmp_path / "small.png"))
    result = {"run_id": parent.info.run_id, "child": {"run_id": child.info.run_id}}

    figures = record.copy_figures("demo", result, [], figures_dir=tmp_path / "figures")
    files = {Path(f["file"]).name: f for f in figures}
    assert set(files) == {"curves.png", "plots-small.png", "child-small.png"}
    assert (tmp_path / "figures" / "demo" / "curves.png").stat().st_size <= record.MAX_FIGURE_BYTES
    assert (tmp_path / "curves.png").stat().st_size > record.MAX_FIGURE_BYTES  # it was shrunk
    assert files["child-small.png"]["run_id"] == child.info.run_id

    only = record.copy_figures("demo", result, ["plots/*"], figures_dir=tmp_path / "figures")
    assert [Path(f["file"]).name for f in only] == ["plots-small.png"]
    assert not (tmp_path / "figures" / "demo" / "curves.png").exists()  # the folder holds this record's only
    with pytest.raises(RuntimeError, match="no PNG artifact matching none.png"):
        record.copy_figures("demo", result, ["none.png"], figures_dir=tmp_path / "figures")


def test_a_record_goes_stale_when_auto_would_now_choose_another_backend(repo):
    prefs = repo / "src" / "dltp" / "backend_preferences.json"
    prefs.parent.mkdir()

    def rank(order: list[str]) -> None:  # the preferences are an output of measuring: never dirt
        prefs.write_text(json.dumps({"cpu": {"quick": {"order": {"tp3": order}}, "full": {"order": {}}}}))

    rank(["torch", "jax"])
    taken = take(repo)
    nested = {"payload": {"runs": [{"experiment": "tp3", "backend": "torch",
                                    "backend_choice": "auto: cpu/quick measurement"}]}}
    record = {**taken, **nested}
    assert problems(record, repo) == []
    pinned = {"experiment": "tp3", "backend": "torch", "backend_choice": "--backend"}
    passed_over = {"experiment": "tp3", "backend": "jax",
                   "backend_choice": "auto: cpu/quick measurement; torch not installed or not usable"}

    rank(["jax", "torch"])
    assert problems(record, repo) == ["auto now runs tp3 on jax, not torch (cpu/quick preferences)"]
    assert problems({**taken, "result": pinned}, repo) == []  # a pinned run measured what it says
    assert problems({**taken, "result": passed_over}, repo) == []  # cannot be replayed here
    rank([])
    assert problems(record, repo) == ["auto now runs tp3 on no measured backend, not torch (cpu/quick preferences)"]


REGISTRY = '''"""Every option with its full default and its --quick one."""
EPOCHS = Default(10, quick=5)
STEPS = Option("--steps", int, "optimisation steps", default=200, quick=30)
'''


def test_a_full_budget_record_outlives_a_change_of_quick_defaults_only(repo):
    registry = repo / "src" / "dltp" / "registry.py"
    registry.parent.mkdir()
    registry.write_text(REGISTRY)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "registry")
    full = {"command": "dltp run tp3 --json", "commit": git(repo, "rev-parse", "HEAD"), "dirty": False,
            "measured": ["src/dltp/registry.py"]}
    quick = {**full, "command": "dltp run tp3 --quick --json"}
    benchmark = {**full, "command": "python bench/quick_backends.py"}  # does not say its budget

    registry.write_text(REGISTRY.replace("quick=5", "quick=3").replace("quick=30", "quick=(12, 2)"))
    assert problems(full, repo) == []
    assert "src/dltp/registry.py" in problems(quick, repo)[0]
    assert "src/dltp/registry.py" in problems(benchmark, repo)[0]
    git(repo, "commit", "-qam", "quicker")
    assert problems(full, repo) == [] and problems(quick, repo)
    registry.write_text(REGISTRY.replace(", quick=5", ""))  # --quick takes the full value: still quick-only
    assert problems(full, repo) == []

    for other in (REGISTRY.replace("Default(10", "Default(12"),  # a full default
                  REGISTRY.replace("default=200, quick=30", "default=30"),  # a quick value moved to the full one
                  REGISTRY.replace("optimisation steps", "steps"),  # any other change
                  REGISTRY + "def broken(:\n"):  # a file that does not parse
        registry.write_text(other)
        [why] = problems(full, repo)
        assert "src/dltp/registry.py" in why


def test_every_quick_default_of_the_registry_is_a_quick_keyword():
    """What the rule above relies on: a --quick value in the registry is always a ``quick=`` keyword,
    never a positional argument (``Default(full, quick)``, or an ``Option`` with all six fields
    positional), which the rule would not see as a quick value."""
    tree = ast.parse((BENCH.parent / "src" / "dltp" / "registry.py").read_text())
    code = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)}
    calls = [node for node in ast.walk(tree)  # the table of options, not the functions that read it
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and id(node) not in code]
    defaults = [c for c in calls if c.func.id == "Default"]
    options = [c for c in calls if c.func.id == "Option"]
    assert defaults and options
    assert all(len(c.args) <= 1 for c in defaults)  # Default(full, quick=...)
    assert all(len(c.args) <= 5 for c in options)  # flag, type, help, nargs, default; quick only by name
    assert sum(k.arg == "quick" for c in defaults + options for k in c.keywords) >= 20


def test_every_benchmark_keeps_the_hook_on_its_childrens_path():
    """A benchmark that gives its children a PYTHONPATH of its own must keep the caller's after it:
    bench/_hook is there, and without it a record lists none of the files its children read (so it
    would never go stale when they change)."""
    import re

    setting = re.compile(r'"PYTHONPATH":\s*(\w*)(.*)')
    keeps = ("pythonpath()", 'os.environ.get("PYTHONPATH"')
    for script in sorted(BENCH.glob("*.py")):
        text = script.read_text()
        for line in text.splitlines():
            match = setting.search(line)
            if match:
                name, rest = match[1], match[2]
                defined = re.search(rf"^\s*{name} = (.+)$", text, re.M) if name and not rest.startswith("(") else None
                value = (defined[1] if defined else "") + name + rest
                assert any(k in value for k in keeps), f"{script.name}: {line.strip()}"
