"""The standard Moving MNIST protocol's metrics (Srivastava et al. 2015; as reported by ConvLSTM,
PredRNN, PhyDNet and SimVP): 10 given frames → 10 predicted, 64×64, pixels in [0, 1].

- MSE and MAE **per frame, summed over the pixels** (then averaged over frames and sequences);
- SSIM per frame (scikit-image, data range 1), averaged.

The figures published with long GPU training on the fixed 10,000-sequence test file, for the
table that puts ours beside them (SimVP, Gao et al., CVPR 2022, Table 2)."""

from __future__ import annotations

import numpy as np

GIVEN, PREDICTED = 10, 10

PUBLISHED_TEST_SEQUENCES = 10_000  # the fixed test file of the published figures
PUBLISHED = [  # model, MSE per frame, SSIM; from the SimVP paper
    {"model": "ConvLSTM", "mse": 103.3, "ssim": 0.707, "cite": "shi2015"},
    {"model": "PredRNN", "mse": 56.8, "ssim": 0.867, "cite": "wang2017"},
    {"model": "PhyDNet", "mse": 24.4, "ssim": 0.947, "cite": "guen2020"},
    {"model": "SimVP", "mse": 23.8, "ssim": 0.948, "cite": "gao2022"},
]


def standard_metrics(pred: np.ndarray, true: np.ndarray) -> dict:
    """(N, T, H, W[, 1]) frames in [0, 1] → MSE and MAE per frame summed over pixels, and SSIM,
    each averaged over frames and sequences."""
    from skimage.metrics import structural_similarity

    if pred.shape != true.shape:
        raise ValueError(f"predicted frames {pred.shape} and true frames {true.shape} differ")
    n, t = pred.shape[:2]
    p = pred.reshape(n, t, true.shape[2], true.shape[3]).astype("float64")
    y = true.reshape(p.shape).astype("float64")
    diff = p - y
    # The frames of one sequence as channels: skimage averages the per-channel (per-frame) SSIM.
    ssim = [structural_similarity(y[i], p[i], data_range=1.0, channel_axis=0) for i in range(n)]
    return {"mse": float((diff ** 2).sum(axis=(2, 3)).mean()), "mae": float(np.abs(diff).sum(axis=(2, 3)).mean()),
            "ssim": float(np.mean(ssim))}
