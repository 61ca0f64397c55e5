import subprocess
import sys

from conftest import run_cli
from dltp import cli, registry


def test_list_names_every_experiment(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for exp in registry.EXPERIMENTS:
        assert exp.id in out


def test_unknown_experiment_is_a_clear_error(capsys):
    assert cli.main(["run", "tp42"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment or lab 'tp42'" in err and "Traceback" not in err


def test_bad_numbers_are_rejected(capsys):
    assert cli.main(["run", "tp1", "--epochs", "0"]) == 2
    assert "--epochs must be at least 1" in capsys.readouterr().err


def test_option_that_does_not_apply(capsys, monkeypatch):
    monkeypatch.setitem(registry.OPTIONS, "zzz", registry.Option("--zzz", int))
    assert cli.main(["run", "tp1", "--zzz", "3"]) == 2
    assert "--zzz does not apply to tp1" in capsys.readouterr().err


def test_plan_expands_labs_and_all():
    assert registry.plan("tp1") == ["tp1"]
    everything = registry.plan("all")
    assert everything[0] == "tp1" and len(everything) >= len(registry.labs())
    for unit in everything:
        assert callable(registry.runner(unit))


def test_named_dataset_missing_exits_2_with_where_to_put_it(mlflow_store, capsys):
    # The download is really attempted, against an unused loopback port, and really refused.
    assert cli.main(["run", "tp1", "--dataset", "mnist", "--quick", "--json"]) == 2
    out, err = capsys.readouterr()
    assert "put mnist.npz" in err and "Traceback" not in err
    assert not out.strip().endswith("}")


def test_unparsable_flag_is_usage_error():
    proc = run_cli("run", "tp1", "--epochs", "many")
    assert proc.returncode == 2 and "invalid int value" in proc.stderr


def test_run_all_ends_with_the_report_page(mlflow_store, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(registry, "plan", lambda target: ["tp1"])  # one real lab stands for all of them
    assert cli.main(["run", "all", "--quick"]) == 0
    out = capsys.readouterr().out
    page = tmp_path / "dltp-results" / "report" / "index.html"
    assert f"report: {page.relative_to(tmp_path)}" in out and page.exists()
    assert "tp1" in (page.parent / "report.md").read_text()


def test_only_the_named_command_is_imported():
    """`dltp run` builds its parser without loading the server, the sweep or the paper: a change in
    those leaves every lab record's measured files untouched (bench/_provenance.py)."""
    probe = ("import sys; from dltp import cli; cli.build_parser(sys.argv[1:]); "
             "print(sorted(m for m in sys.modules if m.startswith(('dltp.serve', 'dltp.sweep', 'dltp.research.paper'))))")
    run = subprocess.run([sys.executable, "-c", probe, "run", "tp1", "--quick"], capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == "[]"
    sweep = subprocess.run([sys.executable, "-c", probe, "sweep", "--quick"], capture_output=True, text=True,
                           check=True)
    assert "dltp.sweep.cli" in sweep.stdout and "dltp.serve" not in sweep.stdout
