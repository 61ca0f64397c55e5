"""`dltp report` on an empty store, on partial runs, and rendered in a real Chromium."""

from pathlib import Path

import mlflow
import pytest

from browser import chromium_page
from dltp import cli, plots, report, tracking


class FallbackDigits:
    name = "digits"
    fallback_from = "mnist"


class RealMnist:
    name = "mnist"
    fallback_from = None


class FashionMnist:
    name = "fashion_mnist"
    fallback_from = None


def log_tp1_run(test_accuracy: float, data=None):
    with tracking.run("tp1-mnist-dense", dltp_id="tp1", params={"epochs": 1}, data=data, seed=1) as active:
        tracking.log_metrics({"test_accuracy": test_accuracy, "val_accuracy": 0.9})
        tracking.log_figure(plots.training_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}), "training_curves.png")
    return active.info.run_id


def test_empty_store_says_what_to_run(mlflow_store, tmp_path, capsys):
    assert cli.main(["report", "--output", str(tmp_path / "r")]) == 0
    page = (tmp_path / "r" / "index.html").read_text()
    assert "id='empty'" in page and "dltp run all --quick" in page
    assert "No runs yet" in (tmp_path / "r" / "report.md").read_text()


def test_partial_runs_latest_wins_with_reference_and_badge(mlflow_store, tmp_path):
    log_tp1_run(0.5)
    run_id = log_tp1_run(0.95, data=FallbackDigits())
    with mlflow.start_run():  # untagged runs are not dltp experiments: ignored
        mlflow.log_metric("test_accuracy", 0.1)
    index = report.build(tmp_path / "r")
    page = index.read_text()
    assert "0.9500" in page and "0.9781 (mnist)" in page and "0.5000" not in page
    assert "fallback dataset" in page and run_id in page
    assert "Not run yet: <code>dltp run tp1.batching</code>" in page
    assert (tmp_path / "r" / "assets" / run_id / "training_curves.png").stat().st_size > 1000
    md = (tmp_path / "r" / "report.md").read_text()
    # Digits standing in for MNIST: no difference against the author's MNIST figure, and why.
    assert "| test accuracy (MNIST, 5 epochs) | 0.9500 | 0.9781 (mnist) | not comparable: digits vs mnist |" in md
    assert "-0.0281" not in md and "-0.0281" not in page


@pytest.mark.parametrize(("data", "difference"), [
    (RealMnist(), "-0.0281"),
    (FashionMnist(), "not comparable: fashion_mnist vs mnist"),
])
def test_difference_only_against_the_same_dataset(mlflow_store, tmp_path, data, difference):
    log_tp1_run(0.95, data=data)
    report.build(tmp_path / "r")
    md = (tmp_path / "r" / "report.md").read_text()
    assert f"| test accuracy (MNIST, 5 epochs) | 0.9500 | 0.9781 (mnist) | {difference} |" in md
    assert "| val_accuracy | 0.9000 | — | — |" in md  # our own metrics have no reference


def test_report_renders_in_chromium(mlflow_store, tmp_path):
    run_id = log_tp1_run(0.97, data=FallbackDigits())
    index = report.build(tmp_path / "r")
    with chromium_page() as page:
        page.goto(Path(index).as_uri())
        assert page.title() == "dltp results"
        cells = page.locator("table[data-experiment='tp1'] tbody tr").first.locator("td").all_inner_texts()
        assert cells == ["test accuracy (MNIST, 5 epochs)", "0.9700", "0.9781 (mnist)",
                         "not comparable: digits vs mnist"]
        assert page.locator(".badge.fallback").first.is_visible()
        image = page.locator(f"img[src*='{run_id}']").first
        assert image.evaluate("img => img.complete && img.naturalWidth > 100")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
