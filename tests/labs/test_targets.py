"""The quick targets: judged from a result's figures, carried by `dltp run`, shown by `dltp report`."""

import pytest

from dltp import cli, registry, report, tracking
from dltp.labs import targets
from dltp.labs.common import result


class Digits:
    name = "digits"
    fallback = True
    fallback_from = "mnist"


def test_every_experiment_has_a_target_with_a_line_saying_what_it_shows():
    assert {e.id for e in registry.EXPERIMENTS} <= set(targets.TARGETS)
    for target in targets.TARGETS.values():
        assert (target.checks or target.parts) and len(target.shows) > 20
        assert all(part in targets.TARGETS for _, part in target.parts)


@pytest.mark.parametrize("accuracy, met", [(0.95, True), (0.90, True), (0.8999, False), (0.1, False)])
def test_threshold_is_judged_on_the_figure(accuracy, met):
    verdict = targets.judge("tp1", {"dataset": "digits", "test_accuracy": accuracy})
    assert verdict["target_met"] is met
    assert verdict["target"]["checks"] == "test_accuracy ≥ 0.9"
    assert verdict["target"]["measured"] == {"test_accuracy": accuracy}


def test_missing_or_nan_figure_is_not_met():
    assert targets.judge("tp1", {"dataset": "digits"})["target_met"] is False
    assert targets.judge("tp1", {"dataset": "digits", "test_accuracy": float("nan")})["target_met"] is False


def tp2_figures(**changes):
    """A tp2 lab result as the lab returns it: one dict of figures per exercise."""
    figures = {
        "diagnose": {"verdict": "high variance", "test_accuracy": 0.87},
        "regularize": {"gap_change": -0.02, "baseline_verdict": "high variance", "test_accuracy": 0.88},
        "optimizers": {"ranking": ["adam", "rmsprop", "sgd_momentum"], "adam_test_accuracy": 0.87,
                       "rmsprop_test_accuracy": 0.86, "sgd_momentum_test_accuracy": 0.83},
        "batchnorm": {"converges_faster": "no", "relative_level": 0.98, "val_accuracy_threshold": 0.975,
                      "val_accuracy_curve": [0.67, 0.74, 0.79, 0.83, 0.86, 0.87],
                      "without_bn_val_accuracy_curve": [0.63, 0.79, 0.83, 0.85, 0.88, 0.88],
                      "best_val_accuracy": 0.87, "without_bn_best_val_accuracy": 0.88}}
    for key, value in changes.items():
        part, _, figure = key.partition("__")
        figures[part] = {**figures[part], figure: value}
    return figures


def test_checks_for_other_data_do_not_apply():
    # the 0.90 is a digits/MNIST figure: a Fashion-MNIST run has no target, not a failed one
    assert targets.judge("tp1", {"dataset": "fashion_mnist", "test_accuracy": 0.5}) == {
        "target": None, "target_met": None}
    # TP2 on MNIST: the balanced baseline is not asked to overfit, nor Adam to beat SGD by much
    balanced = tp2_figures(diagnose__verdict="balanced", regularize__baseline_verdict="balanced",
                           optimizers__sgd_momentum_test_accuracy=0.97, optimizers__adam_test_accuracy=0.96,
                           optimizers__ranking=["sgd_momentum", "adam", "rmsprop"])
    mnist = targets.judge("tp2", {"dataset": "mnist", **balanced})
    assert mnist["target_met"] is True and "diagnose.verdict" not in mnist["target"]["checks"]
    assert targets.judge("tp2", {"dataset": "mnist_5k", **balanced})["target_met"] is False
    assert targets.judge("tp2", {"dataset": "mnist_5k", **tp2_figures()})["target_met"] is True


def test_references_to_other_figures_and_wildcards():
    good = {"dataset": "mnist_5k", "copy_last_mse_last20": 300.0, "predictor_tap_k1_mse_last20": 170.0,
            "predictor_tap_t_k40_mse_last20": 180.0, "instrument_true_identity50": 0.9,
            "instrument_threshold": 0.13, "autoencoder_standard_mse": 20.0, "baseline_standard_mse": 140.0}
    assert targets.judge("tp5.research", good)["target_met"] is True
    assert targets.judge("tp5.research", {**good, "predictor_tap_m_k4_mse_last20": 310.0})["target_met"] is False
    assert targets.judge("tp5.research", {**good, "instrument_true_identity50": 0.12})["target_met"] is False
    assert targets.judge("tp5.research", {"dataset": "x", "copy_last_mse_last20": 0.05})["target_met"] is False
    undecided = tp2_figures(batchnorm__converges_faster="undetermined (neither reached the threshold)",
                            batchnorm__relative_level=None, batchnorm__val_accuracy_threshold=0.99)
    assert targets.judge("tp2", {"dataset": "mnist_5k", **undecided})["target_met"] is False


# What a broken TP2 returns, and the check that catches it (every other figure as a working lab's).
BROKEN_TP2 = {
    "the BatchNorm verdict contradicts its curves": {"batchnorm__converges_faster": "yes"},
    "BatchNorm left out: the two curves are the same": {
        "batchnorm__val_accuracy_curve": [0.63, 0.79, 0.83, 0.85, 0.88, 0.88], "batchnorm__converges_faster": "same"},
    "labels shuffled: BatchNorm's models at chance": {
        "batchnorm__val_accuracy_curve": [0.10, 0.11, 0.12],
        "batchnorm__without_bn_val_accuracy_curve": [0.10, 0.13, 0.10],
        "batchnorm__best_val_accuracy": 0.12, "batchnorm__without_bn_best_val_accuracy": 0.13,
        "batchnorm__converges_faster": "yes"},
    "a ranking that disagrees with the accuracies": {"optimizers__ranking": ["rmsprop", "adam", "sgd_momentum"]},
    "a ranking that leaves an optimiser out": {"optimizers__ranking": ["adam", "rmsprop"]},
    "Adam behind SGD on the small set": {"optimizers__adam_test_accuracy": 0.82,
                                         "optimizers__ranking": ["rmsprop", "sgd_momentum", "adam"]},
    "optimisers that did not learn": {"optimizers__adam_test_accuracy": 0.12, "optimizers__rmsprop_test_accuracy": 0.11,
                                      "optimizers__sgd_momentum_test_accuracy": 0.10},
    "regularisation without effect": {"regularize__gap_change": 0.0},
    "a baseline that does not overfit": {"diagnose__verdict": "high bias", "regularize__baseline_verdict": "high bias"},
    "a regularised model that did not learn": {"regularize__test_accuracy": 0.3},
}


@pytest.mark.parametrize("broken", BROKEN_TP2.values(), ids=list(BROKEN_TP2))
def test_a_broken_tp2_misses_its_target(broken):
    assert targets.judge("tp2", {"dataset": "mnist_5k", **tp2_figures()})["target_met"] is True
    verdict = targets.judge("tp2", {"dataset": "mnist_5k", **tp2_figures(**broken)})
    assert verdict["target_met"] is False, verdict["target"]["measured"]


@pytest.mark.parametrize("curves, relative, expected", [
    (([0.5, 0.9, 0.95], [0.5, 0.7, 0.95]), 0.98, "same"),  # level 0.98 × 0.95: both first at epoch 3
    (([0.5, 0.95, 0.95], [0.5, 0.7, 0.95]), 0.98, "yes"),
    (([0.5, 0.7, 0.95], [0.5, 0.95, 0.95]), 0.98, "no"),
    (([0.5, 0.95], [0.5, 0.95]), 0.98, "same"),
    (([0.5, 0.96], [0.5, 0.6]), None, None),  # the absolute 0.975: neither reaches it
    (([0.98, 0.96], [0.5, 0.6]), None, "yes"),
])
def test_the_batchnorm_rule_reads_the_curves(curves, relative, expected):
    figures = {"val_accuracy_curve": curves[0], "without_bn_val_accuracy_curve": curves[1],
               "relative_level": relative, "val_accuracy_threshold": 0.975}
    assert targets.converges_faster(figures) == expected


def test_the_optimiser_rule_sorts_by_the_measured_accuracies():
    figures = {"ranking": ["adam", "sgd_momentum", "rmsprop"], "adam_test_accuracy": 0.9,
               "sgd_momentum_test_accuracy": 0.8, "rmsprop_test_accuracy": 0.8}
    assert targets.ranked_by_test_accuracy(figures) == ["adam", "sgd_momentum", "rmsprop"]  # a tie keeps its order
    assert targets.ranked_by_test_accuracy({**figures, "rmsprop_test_accuracy": 0.85}) == ["adam", "rmsprop",
                                                                                           "sgd_momentum"]
    judged = targets.judge("tp2.optimizers", {"dataset": "shapes", **figures})
    assert judged["target_met"] is True and judged["target"]["checks"] == "ranking = the optimisers by test accuracy"
    assert judged["target"]["measured"]["ranking by the rule"] == figures["ranking"]
    assert targets.judge("tp2.optimizers", {"dataset": "shapes", "ranking": ["adam"]})["target_met"] is False


MEMORY = {"dataset": "volumes", "activation_mb_smallest": 3.0, "activation_growth_mb": 21.0}


@pytest.mark.parametrize("smallest, growth, met", [
    (21.0, 45.0, True),  # a measurement that sees the activations and their growth
    (0.27, -0.13, False),  # an allocator's reuse: the second pass measured nothing
    (23.1, -5.1, False),  # the larger volume measured smaller
    (2.0, 40.0, False),  # less than the activations the backward pass keeps
    (21.0, 10.0, False),  # growth below the activations' growth
])
def test_the_memory_target_wants_the_activations_and_their_growth(smallest, growth, met):
    verdict = targets.judge("tp4.memory", {**MEMORY, "measured_peak_mb_smallest": smallest,
                                           "measured_growth_mb": growth})
    assert verdict["target_met"] is met


def test_result_carries_the_verdict_and_tags_the_run_for_the_report(mlflow_store, tmp_path):
    with tracking.run("tp1-mnist-dense", dltp_id="tp1", data=Digits(), seed=1) as active:
        tracking.log_metrics({"test_accuracy": 0.5})
    record = result("tp1", active.info.run_id, Digits(), test_accuracy=0.5)
    assert record["target_met"] is False and record["target"]["shows"] == targets.TARGETS["tp1"].shows
    assert "target NOT met (test_accuracy ≥ 0.9)" in cli._summary(record)
    tags = tracking.client().get_run(active.info.run_id).data.tags
    assert tags["dltp.target"] == "test_accuracy ≥ 0.9" and tags["dltp.target_met"] == "no"
    md = report.build(tmp_path / "r").with_name("report.md").read_text()
    assert "Target: **NOT met** — test_accuracy ≥ 0.9 (a dense network learns to read digits)" in md
    assert "Not run yet: `dltp run tp1.batching`" in md


def test_report_takes_the_verdict_from_the_parent_when_children_share_the_experiment(mlflow_store, tmp_path):
    with tracking.run("tp5-research", dltp_id="tp5.research", seed=1) as parent:
        with tracking.run("tp5-research", dltp_id="tp5.research", seed=1, parent_run_id=parent.info.run_id):
            tracking.log_metrics({"mse_last20": 0.03})
    record = result("tp5.research", parent.info.run_id, Digits(), copy_last_mse_last20=300.0,
                    predictor_tap_k1_mse_last20=310.0, instrument_true_identity50=0.9, instrument_threshold=0.13,
                    autoencoder_standard_mse=20.0, baseline_standard_mse=140.0)
    assert record["target_met"] is False  # one predictor above copy-last: the lab did not make its point
    md = report.build(tmp_path / "r").with_name("report.md").read_text()
    assert ("Target: **NOT met** — instrument_true_identity50 > instrument_threshold; "
            "predictor_*_mse_last20 < copy_last_mse_last20") in md


def test_a_run_of_several_experiments_counts_the_targets_met(capsys, mlflow_store, monkeypatch):
    figures = {"tp5.attention": {"test_accuracy": 1.0, "focus_top1": 0.99},
               "tp5.seq2seq": {"mase_seasonal": 1.2},  # worse than the seasonal-naive forecast
               "tp5.research": {"copy_last_mse_last20": 300.0, "predictor_tap_k1_mse_last20": 170.0,
                                "instrument_true_identity50": 0.9, "instrument_threshold": 0.13,
                                "autoencoder_standard_mse": 20.0, "baseline_standard_mse": 140.0}}

    class Synthetic(Digits):
        name = "synthetic"

    # real result records, without the training: how `dltp run` reports them is what is tested
    monkeypatch.setattr(registry, "runner", lambda unit: lambda cfg: result(unit, None, Synthetic(), **figures[unit]))
    assert cli.main(["run", "tp5"]) == 0
    out = capsys.readouterr().out
    assert "tp5.attention: " in out and "; target met (test_accuracy ≥ 0.95; focus_top1 ≥ 0.9)" in out
    assert "tp5.seq2seq: mase_seasonal=1.2000" in out and "; target NOT met (mase_seasonal < 1)" in out
    assert "ran 3 of 3 experiments; targets met: 2 of 3 (NOT met: tp5.seq2seq)" in out
