"""Production monitoring as Prometheus metrics: operational, model and data drift (TP1 ex. 5).

Under gunicorn every worker is a separate process; prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set up by ``dltp.serve.gunicorn_conf``) writes each worker's
values to files that ``/metrics`` aggregates, so counters and histograms count the requests of
all workers, whichever one answers the scrape. Gauges say how they combine (``livesum``,
``livemax``); the files of dead workers are marked by gunicorn's ``child_exit`` hook.

Data drift: each worker keeps the mean pixel value of its last ``window`` input images and
compares their distribution with the model's training reference (``reference_stats.json``,
written by TP1) by the population stability index (PSI) over ten bins holding a tenth of the
training images each. PSI < 0.1: same population; 0.1-0.25: moderate shift; above
``threshold`` (0.25): the inputs no longer look like the training data.
"""

from __future__ import annotations

import bisect
import math
import os
import time
from collections import deque

import numpy as np

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONFIDENCE_BUCKETS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
PSI_FLOOR = 1e-4  # empty bins: log(0) would make the score infinite
MEAN_PIXEL_BUCKETS = (5, 10, 15, 20, 25, 30, 35, 40, 50, 60, 80, 100, 128, 160, 200, 255)

# Every metric the service exports: name → (type, description). docs/serving.md lists the same.
METRICS = {
    "dltp_http_requests_total": ("counter", "HTTP requests by endpoint, method and status code"),
    "dltp_http_request_duration_seconds": ("histogram", "time to answer a request, by endpoint"),
    "dltp_http_errors_total": ("counter",
                               "error responses by endpoint and reason (bad_json, out_of_range, ..., internal)"),
    "dltp_predictions_total": ("counter", "predicted digits, by class"),
    "dltp_prediction_confidence": ("histogram", "probability of the predicted class"),
    "dltp_input_mean_pixel": ("histogram", "mean pixel value (0-255) of each input image"),
    "dltp_input_drift_psi": ("gauge", "PSI of recent inputs' mean pixel vs the training reference (worst worker)"),
    "dltp_input_drift_alert": ("gauge", "1 when the drift PSI of some worker is above the threshold"),
    "dltp_input_drift_window_images": ("gauge", "images in the drift windows of the live workers"),
    "dltp_model_info": ("gauge", "the served model: source, forward pass kind and Keras backend"),
    "dltp_process_resident_memory_bytes": ("gauge", "resident memory of the live workers (sum)"),
    "dltp_process_cpu_seconds": ("gauge", "CPU time used by the live workers (sum)"),
}


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Drift:
    """PSI of a sliding window of per-image mean pixel values against the training reference."""

    def __init__(self, reference: dict | None, window: int = 500, min_images: int = 100,
                 threshold: float = 0.25, bins: int = 10):
        self.window: deque[int] = deque()  # bin index of each recent image
        self.size = window
        self.min_images = min_images
        self.score_every = max(1, window // 50)
        self.added_since_score = 0
        self.threshold = threshold
        self.edges = self.expected = self.counts = None
        if reference and "mean_pixel" in reference:
            self.edges, self.expected = quantile_bins(reference["mean_pixel"]["edges"],
                                                      reference["mean_pixel"]["counts"], bins)
            self.counts = [0] * len(self.expected)
            self.inner_edges = [float(e) for e in self.edges[1:-1]]
            self._log_expected = [math.log(e) for e in np.clip(self.expected, PSI_FLOOR, None)]
            self._expected = [float(e) for e in np.clip(self.expected, PSI_FLOOR, None)]

    @property
    def available(self) -> bool:
        return self.edges is not None

    def add(self, mean_pixels) -> None:
        """Slide the window: bin counts are updated in place, so a score costs O(bins)."""
        if not self.available:
            return
        counts, window = self.counts, self.window
        for m in mean_pixels:
            b = bisect.bisect_right(self.inner_edges, m)
            window.append(b)
            counts[b] += 1
            if len(window) > self.size:
                counts[window.popleft()] -= 1
            self.added_since_score += 1

    def score(self) -> float | None:
        """The current PSI, or None before ``min_images`` images (or without a reference)."""
        if not self.available or len(self.window) < self.min_images:
            return None
        total = float(len(self.window))  # = sum(counts); psi() below, in plain Python for ten bins
        score = 0.0
        for c, e, log_e in zip(self.counts, self._expected, self._log_expected):
            o = max(c / total, PSI_FLOOR)
            score += (o - e) * (math.log(o) - log_e)
        return score


def quantile_bins(edges, counts, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Merge a fine reference histogram into about ``bins`` bins of equal reference mass.

    The outer bins reach 0 and 255 so that any input falls in one of them.
    """
    edges = np.asarray(edges, dtype=float)
    counts = np.asarray(counts, dtype=float)
    cdf = np.cumsum(counts) / counts.sum()
    cut_idx = sorted({int(np.searchsorted(cdf, q)) + 1 for q in np.linspace(0, 1, bins + 1)[1:-1]})
    merged_edges = [0.0] + [float(edges[i]) for i in cut_idx if 0 < i < len(edges) - 1] + [255.0]
    merged_edges = np.unique(merged_edges)
    expected = np.histogram(np.repeat((edges[:-1] + edges[1:]) / 2, counts.astype(int)), bins=merged_edges)[0]
    return merged_edges, expected / expected.sum()


def psi(expected_fractions, observed_counts, floor: float = PSI_FLOOR) -> float:
    e = np.clip(np.asarray(expected_fractions, dtype=float), floor, None)
    o = np.asarray(observed_counts, dtype=float)
    o = np.clip(o / max(o.sum(), 1.0), floor, None)
    return float(np.sum((o - e) * np.log(o / e)))


class Monitor:
    """The service's metrics, in a registry of its own (one per app)."""

    def __init__(self, reference: dict | None = None, drift_window: int = 500, drift_min_images: int = 100,
                 drift_threshold: float = 0.25):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry = CollectorRegistry()
        help_text = {name: description for name, (_, description) in METRICS.items()}
        self.requests = Counter("dltp_http_requests", help_text["dltp_http_requests_total"],
                                ["endpoint", "method", "status"], registry=registry)
        self.latency = Histogram("dltp_http_request_duration_seconds",
                                 help_text["dltp_http_request_duration_seconds"],
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry)
        self.errors = Counter("dltp_http_errors", help_text["dltp_http_errors_total"], ["endpoint", "reason"],
                              registry=registry)
        self.predictions = Counter("dltp_predictions", help_text["dltp_predictions_total"], ["digit"],
                                   registry=registry)
        self.confidence = Histogram("dltp_prediction_confidence", help_text["dltp_prediction_confidence"],
                                    buckets=CONFIDENCE_BUCKETS, registry=registry)
        self.mean_pixel = Histogram("dltp_input_mean_pixel", help_text["dltp_input_mean_pixel"],
                                    buckets=MEAN_PIXEL_BUCKETS, registry=registry)
        self.drift_psi = Gauge("dltp_input_drift_psi", help_text["dltp_input_drift_psi"], registry=registry,
                               multiprocess_mode="livemax")
        self.drift_alert = Gauge("dltp_input_drift_alert", help_text["dltp_input_drift_alert"], registry=registry,
                                 multiprocess_mode="livemax")
        self.drift_images = Gauge("dltp_input_drift_window_images", help_text["dltp_input_drift_window_images"],
                                  registry=registry, multiprocess_mode="livesum")
        self.model_info = Gauge("dltp_model_info", help_text["dltp_model_info"], ["source", "forward", "backend"],
                                registry=registry, multiprocess_mode="livemax")
        self.memory = Gauge("dltp_process_resident_memory_bytes", help_text["dltp_process_resident_memory_bytes"],
                            registry=registry, multiprocess_mode="livesum")
        self.cpu = Gauge("dltp_process_cpu_seconds", help_text["dltp_process_cpu_seconds"], registry=registry,
                         multiprocess_mode="livesum")
        self.drift = Drift(reference, drift_window, drift_min_images, drift_threshold)
        self._drift_unscored = True  # until the first score: score as soon as min_images are in
        self._digit_counters: dict = {}  # class → its counter's inc, looked up once
        self._recorders: dict = {}
        self._last_process_update = 0.0
        self.update_process()

    def request_recorder(self, endpoint: str, method: str, status: int):
        """A function of the seconds a request took that counts it: the label lookups done once."""
        count = self.requests.labels(endpoint, method, str(status)).inc
        observe = self.latency.labels(endpoint).observe

        def record(seconds: float) -> None:
            count()
            observe(seconds)
            if time.monotonic() - self._last_process_update > 1.0:
                self.update_process()
        return record

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        key = (endpoint, method, status)
        record = self._recorders.get(key)
        if record is None:
            record = self._recorders[key] = self.request_recorder(endpoint, method, status)
        record(seconds)

    def observe_error(self, endpoint: str, reason: str) -> None:
        self.errors.labels(endpoint, reason).inc()

    def observe_predictions(self, pixels: np.ndarray, probabilities: np.ndarray) -> None:
        means = pixels.mean(axis=1).tolist()
        for m in means:
            self.mean_pixel.observe(m)
        for digit, conf in zip(probabilities.argmax(axis=1).tolist(), probabilities.max(axis=1).tolist()):
            inc = self._digit_counters.get(digit)
            if inc is None:
                inc = self._digit_counters[digit] = self.predictions.labels(str(digit)).inc
            inc()
            self.confidence.observe(conf)
        drift = self.drift
        if not drift.available:
            return
        drift.add(means)
        self.drift_images.set(len(drift.window))
        # The score moves little per image: recompute it every `score_every` images (2 % of the window).
        if drift.added_since_score >= drift.score_every or self._drift_unscored:
            score = drift.score()
            if score is not None:
                drift.added_since_score = 0
                self._drift_unscored = False
                self.drift_psi.set(score)
                self.drift_alert.set(1.0 if score > drift.threshold else 0.0)

    def update_process(self) -> None:
        self._last_process_update = time.monotonic()
        times = os.times()
        self.cpu.set(times.user + times.system)
        try:
            with open("/proc/self/statm") as f:
                self.memory.set(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, IndexError):
            import resource

            self.memory.set(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        self.update_process()
        if multiprocess():
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
