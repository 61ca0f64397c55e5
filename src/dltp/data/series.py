"""Time series for TP5's forecaster: the original synthetic series, real series bundled with
statsmodels (no download), or a user's CSV; and their windowing into (input, future) pairs with a
chronological split and a scaler fitted on the training part only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dltp.errors import DltpError

TRAIN_FRACTION = 0.8


@dataclass
class Series:
    name: str
    values: np.ndarray  # float64, 1-D, no NaN
    season: int | None  # period in steps, for the seasonal-naive forecast (None: unknown)
    source: str
    unit: str = ""
    fallback_from: str | None = None  # the series API mirrors ImageData's (never a fallback here)

    @property
    def fallback(self) -> bool:
        return self.fallback_from is not None


def synthetic(n: int = 2000, seed: int = 42) -> Series:
    """The original: 0.5 sin(t/20) + 0.3 sin(t/10) + 0.2 t/N + 0.1 N(0, 1), t = 0..N-1."""
    t = np.arange(n, dtype="float64")
    noise = np.random.default_rng(seed).standard_normal(n)
    values = 0.5 * np.sin(t / 20) + 0.3 * np.sin(t / 10) + 0.2 * t / n + 0.1 * noise
    # sin(t/20) and sin(t/10) share the period 40π ≈ 125.7 steps.
    return Series("synthetic", values, season=round(40 * np.pi), source=f"generated, {n} points, seed {seed}")


def _interpolated(values: np.ndarray) -> np.ndarray:
    """Linear interpolation over gaps (the ends are held at the nearest observation)."""
    values = np.asarray(values, dtype="float64")
    missing = np.isnan(values)
    if missing.any():
        idx = np.arange(len(values))
        values = values.copy()
        values[missing] = np.interp(idx[missing], idx[~missing], values[~missing])
    return values


def co2() -> Series:
    """Weekly atmospheric CO2 at Mauna Loa, 1958–2001 (statsmodels; 59 missing weeks interpolated)."""
    from statsmodels.datasets import co2 as dataset

    raw = dataset.load_pandas().data["co2"].to_numpy()
    return Series("co2", _interpolated(raw), season=52, unit="ppm",
                  source=f"statsmodels.datasets.co2, weekly 1958-2001, {int(np.isnan(raw).sum())} gaps interpolated")


def sunspots() -> Series:
    """Yearly sunspot numbers 1700–2008 (statsmodels); the solar cycle is about 11 years."""
    from statsmodels.datasets import sunspots as dataset

    values = dataset.load_pandas().data["SUNACTIVITY"].to_numpy(dtype="float64")
    return Series("sunspots", values, season=11, source="statsmodels.datasets.sunspots, yearly 1700-2008")


BUILTIN = {"synthetic": synthetic, "co2": co2, "sunspots": sunspots}


def from_csv(path: str | Path, season: int | None = None) -> Series:
    """A user's series: the last column of a CSV (a header row is allowed), one value per row."""
    path = Path(path)
    if not path.is_file():
        raise DltpError(f"series file {path} does not exist")
    import pandas as pd

    try:
        frame = pd.read_csv(path, skip_blank_lines=False)  # a blank line is a missing value
    except Exception as exc:  # pandas raises many kinds for a malformed file
        raise DltpError(f"cannot read {path} as CSV: {exc}") from exc
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DltpError(f"{path} holds no values")
    column = frame.columns[-1]
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        rows = ", ".join(str(i + 2) for i in bad[:5]) + (" …" if bad.size > 5 else "")
        raise DltpError(f"{path}: column {column!r} has {bad.size} missing or non-numeric value(s) "
                        f"(line {rows}); fill or remove them first")
    return Series(path.stem, values, season=season, source=f"CSV {path} column {column!r}")


def load_series(name_or_path: str | None, seed: int = 42, season: int | None = None) -> Series:
    """``synthetic`` (default), ``co2``, ``sunspots``, or the path of a CSV file."""
    name = name_or_path or "synthetic"
    if name in BUILTIN:
        series = BUILTIN[name](seed=seed) if name == "synthetic" else BUILTIN[name]()
        if season is not None:
            series.season = season
        return series
    if name.lower().endswith((".csv", ".txt")) or Path(name).exists():
        return from_csv(name, season)
    raise DltpError(f"unknown series {name!r}: use one of {', '.join(BUILTIN)} or the path of a CSV file")


@dataclass
class Windows:
    """Scaled (input, future) windows of one series, split chronologically."""

    x_train: np.ndarray  # (N, L, 1) scaled
    y_train: np.ndarray  # (N, H, 1) scaled
    x_test: np.ndarray
    y_test: np.ndarray
    test_origins: np.ndarray  # index in the series of each test window's first forecast step
    split: int  # first index of the test part
    mean: float
    std: float

    def scale(self, v):
        return (v - self.mean) / self.std

    def unscale(self, v):
        return np.asarray(v) * self.std + self.mean


def make_windows(values: np.ndarray, input_len: int, output_len: int,
                 train_fraction: float = TRAIN_FRACTION, name: str = "series") -> Windows:
    """Training windows lie entirely in the first ``train_fraction`` of the series; test windows
    forecast every position of the rest (their inputs may reach back into the training part, which
    is the past). The scaler (mean, std) sees the training part only."""
    n = len(values)
    if input_len < 1 or output_len < 1:
        raise DltpError("--input-len and --output-len must be at least 1")
    split = int(n * train_fraction)
    if input_len + output_len > split or n - split < output_len:
        raise DltpError(
            f"--input-len {input_len} + --output-len {output_len} do not fit series {name!r} of {n} points: "
            f"the training part has {split} points (needs at least {input_len + output_len}) and the "
            f"test part {n - split} (needs at least {output_len})")
    mean, std = float(values[:split].mean()), float(values[:split].std())
    if std == 0:
        raise DltpError(f"series {name!r} is constant on its training part: nothing to forecast")
    scaled = ((values - mean) / std).astype("float32")

    def windows(origins):
        x = np.stack([scaled[t - input_len:t] for t in origins])[..., None]
        y = np.stack([scaled[t:t + output_len] for t in origins])[..., None]
        return x, y

    train_origins = np.arange(input_len, split - output_len + 1)
    test_origins = np.arange(max(split, input_len), n - output_len + 1)
    x_train, y_train = windows(train_origins)
    x_test, y_test = windows(test_origins)
    return Windows(x_train, y_train, x_test, y_test, test_origins, split, mean, std)


def naive_forecasts(values: np.ndarray, origins: np.ndarray, output_len: int, season: int | None):
    """(naive, seasonal naive or None), each (N, H), in the series' units, from the past only.

    Naive: the last observed value, repeated. Seasonal naive: the value one season (m steps)
    earlier, i.e. y[t+h−m·⌈(h+1)/m⌉], always before the origin t.
    """
    h = np.arange(output_len)
    naive = np.repeat(values[origins - 1][:, None], output_len, axis=1)
    if not season:
        return naive, None
    back = season * np.ceil((h + 1) / season).astype(int)
    idx = origins[:, None] + h[None, :] - back[None, :]
    if idx.min() < 0:
        return naive, None
    return naive, values[idx]
