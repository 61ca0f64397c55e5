"""The standard Moving MNIST protocol's metrics, in OpenSTL's convention, and OpenSTL's published
table.

- MSE and MAE **per frame**: the squared (absolute) error summed over a frame's 64×64 pixels in
  [0, 1], then averaged over frames and sequences (OpenSTL's ``MSE``: mean over batch and time,
  sum over pixels);
- SSIM per frame with scikit-image's defaults (7×7 uniform window, sample covariance, data range
  1), averaged. ``ssim`` computes it for a whole batch at once; a test checks it against
  ``skimage.metrics.structural_similarity``.
"""

from __future__ import annotations

import numpy as np

# OpenSTL's Moving MNIST benchmark (Tan et al. 2023, docs/en/model_zoos/video_benchmarks.md): 10 → 10
# frames, trained 200 epochs on sequences generated on the fly, tested on the fixed 10,000-sequence
# file mnist_test_seq.npy, best of three trials. Published, not comparable with our budget.
PUBLISHED_EPOCHS = 200
PUBLISHED_TEST_SEQUENCES = 10_000
PUBLISHED = [  # model, MSE and MAE per frame, SSIM
    {"model": "ConvLSTM-S", "mse": 29.80, "mae": 90.64, "ssim": 0.9288, "cite": "shi2015"},
    {"model": "PredRNN", "mse": 23.97, "mae": 72.82, "ssim": 0.9462, "cite": "wang2017"},
    {"model": "PhyDNet", "mse": 28.19, "mae": 78.64, "ssim": 0.9374, "cite": "guen2020"},
    {"model": "SimVP (IncepU)", "mse": 32.15, "mae": 89.05, "ssim": 0.9268, "cite": "gao2022"},
]


def frame_errors(pred: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, H, W[, 1]) frames in [0, 1] → (squared, absolute) error per frame, each (N, T): the sums
    over the frame's pixels."""
    if pred.shape != true.shape:
        raise ValueError(f"predicted frames {pred.shape} and true frames {true.shape} differ")
    diff = pred.reshape(pred.shape[:2] + (-1,)).astype("float64") - true.reshape(true.shape[:2] + (-1,))
    return (diff ** 2).sum(axis=2), np.abs(diff).sum(axis=2)


def ssim(pred: np.ndarray, true: np.ndarray, win: int = 7, chunk: int = 32) -> np.ndarray:
    """SSIM of every frame: (N, T, H, W[, 1]) in [0, 1] → (N, T), as skimage's structural_similarity
    with its defaults and data_range=1 computes it for one frame (mean of the SSIM map away from the
    borders), a few frames at a time."""
    from scipy.ndimage import uniform_filter1d

    if pred.shape != true.shape:
        raise ValueError(f"predicted frames {pred.shape} and true frames {true.shape} differ")
    n, t, h, w = pred.shape[:4]
    x_all, y_all = pred.reshape(n * t, h, w), true.reshape(n * t, h, w)
    pad = (win - 1) // 2

    def mean(a):  # the window means, where skimage averages them
        return uniform_filter1d(uniform_filter1d(a, win, axis=1), win, axis=2)[:, pad:h - pad, pad:w - pad]

    cov_norm = win * win / (win * win - 1.0)  # sample covariance
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    out = np.empty(n * t)
    for start in range(0, n * t, chunk):
        x = x_all[start:start + chunk].astype("float32")
        y = y_all[start:start + chunk].astype("float32")
        ux, uy = mean(x).astype("float64"), mean(y).astype("float64")
        vx = cov_norm * (mean(x * x) - ux * ux)
        vy = cov_norm * (mean(y * y) - uy * uy)
        vxy = cov_norm * (mean(x * y) - ux * uy)
        s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
        out[start:start + len(x)] = s.mean(axis=(1, 2))
    return out.reshape(n, t)
