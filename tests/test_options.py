"""Option defaults: declared once in dltp.registry, read by the labs through RunConfig.value."""

import pytest

from dltp import cli, registry
from dltp.config import RunConfig
from dltp.registry import Default, Experiment


def test_every_declared_default_has_the_option_type():
    declared = [(name, opt.defaults) for name, opt in registry.OPTIONS.items()]
    declared += [(name, d) for exp in registry.EXPERIMENTS for name, d in exp.defaults.items()]
    for name, d in declared:
        opt = registry.OPTIONS.get(name)
        kind, many = (opt.type, opt.nargs) if opt else (int, None)  # epochs, batch_size
        for value in (d.pick(False), d.pick(True)):
            if value is not None:
                assert all(isinstance(v, kind) for v in (value if many else [value])), (name, value)


def test_value_is_the_user_value_then_the_experiment_default_then_the_option_default():
    unet = RunConfig(experiment="tp4.unet")
    assert unet.value("learning_rate") == 1e-3 and RunConfig(quick=True, experiment="tp4.unet").value(
        "learning_rate") == 3e-3
    assert RunConfig(experiment="tp4.conv3d").value("learning_rate") == 3e-3
    assert RunConfig(experiment="tp1").value("learning_rate") == registry.OPTIONS["learning_rate"].default
    assert RunConfig(options={"learning_rate": 0.5}, quick=True, experiment="tp4.unet").value("learning_rate") == 0.5
    assert RunConfig(experiment="tp1").value("epochs") == 5 and RunConfig(quick=True, experiment="tp1").value(
        "epochs") == 5  # the recipe's epochs at both budgets
    assert RunConfig(experiment="tp4.conv3d").value("epochs") == 20 and RunConfig(
        quick=True, experiment="tp4.conv3d").value("epochs") == 5
    assert RunConfig(epochs=7, experiment="tp1").value("epochs") == 7
    assert RunConfig(quick=True).value("sequences") == 80 and RunConfig().value("sequences") == 600
    assert RunConfig(quick=True).value("depths") == [1, 4] and RunConfig().value("depths") == [1, 4, 40]
    assert RunConfig().value("season") is None
    filters = RunConfig(experiment="tp4.unet").value("filters")
    assert filters == [8, 16, 32] and isinstance(filters, list)
    assert RunConfig().for_experiment("tp3.detection").value("batch_size") == 64


def test_a_lab_runner_gets_the_defaults_its_experiments_share():
    assert RunConfig(experiment="tp2").value("bias_threshold") == 0.90
    assert RunConfig(experiment="tp3").value("recipe") == "original"
    with pytest.raises(ValueError, match="differ in the default of epochs"):
        RunConfig(experiment="tp3").value("epochs")
    assert RunConfig(experiment="tp3").for_experiment("tp3.detection").value("epochs") == 15


def test_an_experiment_cannot_declare_a_default_for_an_option_it_does_not_take():
    with pytest.raises(ValueError, match="seq_len"):
        Experiment("x", "x", "x", "x:run", ("dropout",), defaults={"seq_len": 5})
    assert Experiment("x", "x", "x", "x:run", ("dropout",), defaults={"dropout": 0.1}).defaults == {
        "dropout": Default(0.1)}


def test_help_shows_the_declared_defaults(monkeypatch, capsys):
    assert registry.help_text("seq_len").endswith("(default 20)")
    assert "(default 600, --quick 80)" in registry.help_text("sequences")
    lr = registry.help_text("learning_rate")
    assert "default 0.001" in lr and "tp4.conv3d, tp5.attention: 0.003" in lr
    assert "tp4.unet, tp5.seq2seq: 0.001, --quick 0.003" in lr
    assert "98 %% " in registry.help_text("val_threshold")
    monkeypatch.setitem(registry.OPTIONS, "zzz", registry.Option("--zzz", int, "a 5 % thing", default=5))
    assert registry.help_text("zzz") == "a 5 %% thing (default 5)"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert exit_.value.code == 0 and "a 5 % thing (default 5)" in out and "sentence length (default 20)" in out


@pytest.mark.parametrize("experiment, name, full, quick", [
    ("tp1", "subset", None, [12_000, 2_000]),  # None: all of them
    ("tp2.diagnose", "split", None, [600, 600, 1_000]),  # None: the course's split
    ("tp2.batchnorm", "split", None, [600, 600, 1_000]),
    ("tp1.batching", "budget_s", 30.0, 1.5),
    ("tp1.batching", "eval_points", 10, 4),
    ("tp1.batching", "eval_images", 2000, 2000),
    ("tp1.batching", "learning_rate", 0.05, 0.05),
    ("tp3.cnn", "epochs", 10, 5),
    ("tp3.resnet", "epochs", 10, 5),
    ("tp3.cnn", "batch_size", None, None),  # the recipe's (dltp.models.recipes)
    ("tp3.cnn", "train_images", None, 1000),  # None: all of them
    ("tp3.resnet", "test_images", None, 500),
    ("tp3.style_transfer", "steps", 200, 30),
    ("tp3.style_transfer", "image_size", 256, 32),
    ("tp3.detection", "epochs", 15, 12),
    ("tp3.detection", "batch_size", 64, 32),
    ("tp3.detection", "detection_images", 6000, 1500),
    ("tp3.detection", "detection_test_images", 1000, 300),
    ("tp3.detection", "detection_size", 64, 32),
    ("tp3.detection", "object_radius", [0.08, 0.3], [0.15, 0.4]),
    ("tp4.unet", "circle_images", [500, 100], [200, 50]),
    ("tp4.unet", "circle_size", 128, 64),
    ("tp4.conv3d", "volumes", [600, 200, 400], [600, 100, 200]),
    ("tp4.conv3d", "volume_size", 32, 16),
    ("tp5.attention", "sentences", 4000, 2000),
    ("tp5.attention", "test_sentences", 1000, 500),
    ("tp5.attention", "epochs", 10, 6),
    ("tp5.seq2seq", "epochs", 20, 6),
    ("tp5.seq2seq", "learning_rate", 1e-3, 3e-3),
])
def test_each_budget_is_declared_once_full_and_quick(experiment, name, full, quick):
    assert registry.get(experiment).takes(name)
    assert RunConfig(experiment=experiment).value(name) == full
    assert RunConfig(quick=True, experiment=experiment).value(name) == quick


def test_a_recipe_says_how_to_train_not_for_how_long():
    from dltp.models import recipes

    assert all("epochs" not in recipes.settings(r) and recipes.settings(r)["batch_size"] for r in recipes.RECIPES)


def test_help_shows_a_quick_default_whose_full_one_is_unset():
    assert registry.help_text("train_images").endswith("all if not given (--quick 1000)")
    assert registry.help_text("object_radius").endswith("(default 0.08 0.3, --quick 0.15 0.4)")
    assert "tp1.batching: 0.05" in registry.help_text("learning_rate")


RESEARCH = ("sequences", "test_sequences", "seeds", "depths", "rollout_epochs", "ae_epochs", "ae_frames",
            "reader_epochs", "reader_frames", "baseline_epochs", "baseline_windows", "resamples", "learning_rate",
            "results_dir")


def test_every_research_setting_is_declared_once_and_read_by_the_study():
    from dltp.research.experiment import settings

    assert set(registry.get("tp5.research").options) == set(RESEARCH)
    for quick in (False, True):
        cfg = RunConfig(quick=quick, experiment="tp5.research")
        resolved = settings(cfg)
        assert set(resolved) == set(RESEARCH) | set(registry.COMMON)
        for name in (*RESEARCH, *registry.COMMON):
            declared = registry.default(name, "tp5.research", quick)
            assert resolved[name] == (sorted(declared) if name == "depths" else declared), name
    full, quick = settings(RunConfig(experiment="tp5.research")), settings(RunConfig(quick=True,
                                                                                      experiment="tp5.research"))
    assert full["test_sequences"] >= 1000 and 40 in full["depths"] and len(full["depths"]) >= 3
    assert quick["sequences"] < full["sequences"] and quick["seeds"] == 1
    given = settings(RunConfig(options={"depths": [40, 1, 4], "seeds": 3}, experiment="tp5.research"))
    assert given["depths"] == [1, 4, 40] and given["seeds"] == 3


def test_research_help_prints_every_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "tp5.research", "--help"])
    out = "".join(capsys.readouterr().out.split())  # argparse wraps lines, even inside a path
    for name in RESEARCH:
        shown = registry.help_text(name).replace("%%", "%")
        assert registry.OPTIONS[name].flag in out and "".join(shown.split()) in out, name
