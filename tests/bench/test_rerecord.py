"""`make records` (bench/rerecord.py): the plan comes from bench/records.toml, a record's command runs with
the manifest's environment and nothing of the caller's that changes what it measures, and a tree with
uncommitted changes is refused before anything runs."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import record  # noqa: E402
import render_results  # noqa: E402
import rerecord  # noqa: E402


def test_every_quoted_lab_record_is_in_the_manifest_with_its_minutes():
    manifest = render_results.manifest()
    quoted = {name for row in render_results.ROWS for name in row.records}
    assert quoted <= set(manifest)
    for name, spec in manifest.items():
        # a dltp command, or a script of this checkout run by the same interpreter (record.resolve)
        assert spec["command"].startswith(("dltp ", "python notebooks/", "python bench/")), name
        assert spec["command"].endswith(" --json"), name
        assert spec["minutes"] > 0 and set(spec.get("env", {})) <= set(record.ENV), name


def test_a_record_runs_with_the_manifests_environment_only(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    spec = {"command": "dltp run tp1 --dataset fashion_mnist --json", "env": {"DLTP_THREADS": "1"},
            "figures": ["training_curves.png"]}
    env = rerecord.env_for(spec)
    assert env["DLTP_THREADS"] == "1" and "KERAS_BACKEND" not in env and "OMP_NUM_THREADS" not in env
    argv = rerecord.argv_for("tp1_fashion_mnist", spec)
    assert argv[2:] == ["tp1_fashion_mnist", "--figures", "training_curves.png", "--", "dltp", "run", "tp1",
                        "--dataset", "fashion_mnist", "--json"]


def test_the_plan_lists_every_record_and_the_total_time():
    proc = subprocess.run([sys.executable, str(BENCH / "rerecord.py"), "--list"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    manifest = render_results.manifest()
    for name in manifest:
        assert f" {name}: " in proc.stdout
    assert f"{sum(s['minutes'] for s in manifest.values())} min  in all" in proc.stdout
    bad = subprocess.run([sys.executable, str(BENCH / "rerecord.py"), "no_such_record"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "not in bench/records.toml: no_such_record" in bad.stderr


def test_a_tree_with_changes_is_refused_before_anything_runs(tmp_path):
    import shutil

    (tmp_path / "bench").mkdir()
    for name in ("rerecord.py", "record.py", "render_results.py", "run_all.py", "_docs.py", "_provenance.py",
                 "records.toml"):
        shutil.copy(BENCH / name, tmp_path / "bench" / name)
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "start"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    (tmp_path / "notes.txt").write_text("not committed")
    proc = subprocess.run([sys.executable, "bench/rerecord.py", "tp5_attention"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "notes.txt" in proc.stderr
    assert not (tmp_path / "bench" / "results").exists()


def test_dltp_and_python_mean_this_checkout_and_this_interpreter():
    assert record.resolve(["dltp", "run", "tp1"]) == [sys.executable, "-m", "dltp", "run", "tp1"]
    course = str(record.ROOT / "notebooks" / "course.py")  # found from any working directory
    assert record.resolve(["python", "notebooks/course.py", "run"]) == [sys.executable, course, "run"]
    assert record.resolve(["python", "-c", "pass"]) == [sys.executable, "-c", "pass"]
    assert record.resolve(["wrk", "-c4"]) == ["wrk", "-c4"]
