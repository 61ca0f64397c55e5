"""TP5 ex. 2: seq2seq forecasting with cross-attention, evaluated honestly.

The original model: a BiLSTM encoder whose concatenated states initialise an LSTM decoder,
dot-product cross-attention, Dense 1; MSE, Adam, teacher forcing in training. What changes is the
evaluation:

- prediction is **autoregressive** (the decoder gets its own previous outputs); the original's
  teacher-forced prediction (the *true* future fed to the decoder) is measured too, to show the leak;
- ``mase_naive`` and ``mase_seasonal``: the model's MAE over that of the naive (last value) and
  seasonal-naive (one season earlier) forecasts of the same test windows (< 1: the model wins);
- the attention statistics (entropy, attended lag) come from the weights the model really used.

Series: ``--series`` synthetic (the original), co2, sunspots, or a CSV path; split in time (80/20),
scaled on the training part only.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from dltp import plots, tracking, training
from dltp.config import RunConfig
from dltp.data.series import Series, Windows, load_series, make_windows, naive_forecasts
from dltp.errors import DltpError
from dltp.labs.common import result
from dltp.models.seq2seq import build_seq2seq, predict_autoregressive, teacher_forced_inputs

EXPERIMENT = "tp5-seq2seq"
ENCODER_UNITS = 64  # BiLSTM(64); the decoder LSTM takes the two directions' states: 128 units


def run(cfg: RunConfig) -> dict:
    keras.utils.set_random_seed(cfg.seed)
    input_len, output_len, season = cfg.value("input_len"), cfg.value("output_len"), cfg.value("season")
    if season is not None and season < 1:
        raise DltpError("--season must be at least 1")

    # 1. Data: the series, cut into windows of input_len steps in → output_len steps out, split in time
    series = load_series(cfg.value("series"), seed=cfg.seed, season=season)
    win = make_windows(series.values, input_len, output_len, name=series.name)
    params = {
        "series": series.name, "series_source": series.source, "series_points": len(series.values),
        "season": series.season, "input_len": input_len, "output_len": output_len,
        "epochs": cfg.value("epochs"), "batch_size": cfg.value("batch_size"),
        "encoder_units": ENCODER_UNITS, "decoder_units": 2 * ENCODER_UNITS, "loss": "mse", "optimizer": "adam",
        "learning_rate": cfg.value("learning_rate"), "train_windows": len(win.x_train),
        "test_windows": len(win.x_test), "split_index": win.split, "quick": cfg.quick,
    }
    with tracking.run(EXPERIMENT, dltp_id="tp5.seq2seq", run_name=f"tp5-seq2seq-{series.name}", params=params,
                      data=series, seed=cfg.seed) as active:
        # 2. Model: BiLSTM encoder whose states start an LSTM decoder, dot-product cross-attention, Dense 1
        model, inspector = build_seq2seq(input_len, output_len, encoder_units=ENCODER_UNITS)
        model.compile(optimizer=keras.optimizers.Adam(params["learning_rate"]), loss="mse")

        # 3. Training, with teacher forcing: the decoder sees the true previous value (training only)
        dec_train = teacher_forced_inputs(win.x_train, win.y_train)
        n_val = max(1, len(win.x_train) // 10)  # the last (most recent) training windows
        start = time.perf_counter()
        logger = training.fit(model, [win.x_train[:-n_val], dec_train[:-n_val]], win.y_train[:-n_val],
                              validation_data=([win.x_train[-n_val:], dec_train[-n_val:]], win.y_train[-n_val:]),
                              epochs=params["epochs"], batch_size=params["batch_size"], checkpoint=False)
        train_seconds = time.perf_counter() - start
        tracking.log_figure(plots.training_curves(logger.history, f"TP5 seq2seq — {series.name}"),
                            "training_curves.png")

        # 4. Forecast: autoregressive (the decoder gets its own outputs); the original's teacher-forced leak beside it
        truth = win.unscale(win.y_test[..., 0])
        autoregressive_scaled, weights = predict_autoregressive(inspector, win.x_test, output_len)
        autoregressive = win.unscale(autoregressive_scaled[..., 0])
        teacher_forced = win.unscale(model.predict([win.x_test, teacher_forced_inputs(win.x_test, win.y_test)],
                                                   batch_size=512, verbose=0)[..., 0])

        # 5. Evaluation: errors against the naive and seasonal-naive forecasts of the same test windows
        naive, snaive = naive_forecasts(series.values, win.test_origins, output_len, series.season)
        scores = forecast_errors(truth, autoregressive)
        figures = {
            "mae": scores["mae"], "rmse": scores["rmse"],
            "mae_by_step": [round(float(v), 5) for v in np.abs(autoregressive - truth).mean(axis=0)],
            "teacher_forced_mae": forecast_errors(truth, teacher_forced)["mae"],
            "naive_mae": forecast_errors(truth, naive)["mae"],
            "naive_rmse": forecast_errors(truth, naive)["rmse"],
        }
        figures["mase_naive"] = figures["mae"] / figures["naive_mae"]
        if snaive is not None:
            seasonal = forecast_errors(truth, snaive)
            figures.update(seasonal_naive_mae=seasonal["mae"], seasonal_naive_rmse=seasonal["rmse"],
                           mase_seasonal=figures["mae"] / seasonal["mae"],
                           beats_seasonal_naive=bool(figures["mae"] < seasonal["mae"]))
        figures["leak_factor"] = figures["mae"] / max(figures["teacher_forced_mae"], 1e-12)

        # 6. Attention: statistics of the cross-attention weights the forecasts used, and their heatmap
        figures.update(attention_statistics(weights))
        tracking.log_metrics({k: v for k, v in figures.items() if isinstance(v, (int, float))})
        tracking.log_json({k: v for k, v in figures.items()}, "forecast_metrics.json")
        tracking.log_figure(attention_figure(weights, f"TP5 cross-attention — {series.name}"),
                            "attention_heatmap.png")
        tracking.log_figure(forecast_figure(series, win, autoregressive, teacher_forced, snaive,
                                            f"TP5 seq2seq — {series.name}: test-part forecasts"),
                            "forecast.png")
        tracking.log_keras_model(model, "model")
        return result("tp5.seq2seq", active.info.run_id, series, epochs=params["epochs"],
                      input_len=input_len, output_len=output_len, season=series.season,
                      test_windows=len(win.x_test), **figures,
                      val_loss=logger.history["val_loss"][-1], train_seconds=train_seconds)


# --------------------------------------------------------------------------- measures and figures

def forecast_errors(truth: np.ndarray, pred: np.ndarray) -> dict:
    """Mean absolute error and root mean squared error of a forecast."""
    err = pred - truth
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean()))}


def attention_statistics(weights: np.ndarray) -> dict:
    """Entropy and attended lag of cross-attention weights (N, H, L).

    Lag counts steps back from the forecast origin: the last observed value has lag 1, the first
    input step lag L. Entropy is in nats; ``attention_entropy_ratio`` divides it by log L (1 = uniform).
    """
    n, h, length = weights.shape
    w = np.clip(weights.astype("float64"), 1e-12, 1.0)
    entropy = -(w * np.log(w)).sum(axis=-1)  # (N, H)
    lags = np.arange(length, 0, -1, dtype="float64")  # input position j has lag L - j
    mean_lag = (weights * lags).sum(axis=-1)  # (N, H)
    peak_lag = lags[weights.argmax(axis=-1)]
    return {"attention_entropy": float(entropy.mean()),
            "attention_entropy_ratio": float(entropy.mean() / np.log(length)),
            "attention_mean_lag": float(mean_lag.mean()),
            "attention_peak_lag_median": float(np.median(peak_lag)),
            "attention_mean_lag_by_step": [round(float(v), 3) for v in mean_lag.mean(axis=0)]}


def attention_figure(weights: np.ndarray, title: str):
    """Cross-attention weights (forecast step × input lag): the mean over test windows, and the first one."""
    plt = plots.pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for ax, w, sub in ((axes[0], weights.mean(axis=0), "mean over test windows"),
                       (axes[1], weights[0], "first test window")):
        im = ax.imshow(w, aspect="auto", cmap="viridis")
        length = w.shape[1]
        ticks = np.linspace(0, length - 1, min(length, 6)).astype(int)
        ax.set_xticks(ticks, [str(length - t) for t in ticks])
        ax.set_xlabel("input step (lag before the forecast origin)")
        ax.set_ylabel("forecast step")
        ax.set_title(sub)
        fig.colorbar(im, ax=ax)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def forecast_figure(series: Series, win: Windows, ar: np.ndarray, tf: np.ndarray, snaive, title: str):
    """Four test windows: input, truth, autoregressive and teacher-forced forecasts, seasonal naive."""
    plt = plots.pyplot()

    input_len, output_len = win.x_test.shape[1], ar.shape[1]
    picks = np.linspace(0, len(ar) - 1, 4).astype(int)
    fig, axes = plt.subplots(1, len(picks), figsize=(16, 3.6), squeeze=False)
    for ax, i in zip(axes[0], picks):
        t = win.test_origins[i]
        hist_t = np.arange(t - input_len, t)
        fut_t = np.arange(t, t + output_len)
        ax.plot(hist_t, series.values[t - input_len:t], color="grey", label="input")
        ax.plot(fut_t, series.values[t:t + output_len], "k.-", label="truth")
        ax.plot(fut_t, ar[i], "o-", label="autoregressive")
        ax.plot(fut_t, tf[i], "x--", alpha=0.7, label="teacher-forced (leak)")
        if snaive is not None:
            ax.plot(fut_t, snaive[i], ":", label="seasonal naive")
        ax.set_title(f"origin t={t}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
