"""Production monitoring as Prometheus metrics: operational, model and data drift (TP1 ex. 5).

Cheap per request: a request adds to plain Python counters in its worker under one lock; a flusher
thread moves them into prometheus_client's metrics once a second (``DLTP_METRICS_FLUSH_SECONDS``),
and ``/metrics`` flushes its own worker first. Under gunicorn, prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set up by ``dltp.serve.gunicorn_conf``) adds up every worker's files;
gauges say how they combine (``livesum``, ``livemax``) and ``child_exit`` marks a dead worker's. A
histogram is kept as one counter per bucket (``Counter.inc`` is the public way to add many
observations) and exported as a histogram, with cumulative buckets, ``_sum`` and ``_count``.

Data drift: each worker compares the mean pixel values of its last ``window`` inputs with the
training reference (``reference_stats.json``, written by TP1) by the population stability index over
ten bins of a tenth of the training images each: below 0.1 the same population, 0.1 to 0.25 a
moderate shift, above ``threshold`` (0.25) inputs that no longer look like the training data.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
import time
import weakref
from collections import deque

import numpy as np

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
CONFIDENCE_BUCKETS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
PSI_FLOOR = 1e-4  # empty bins: log(0) would make the score infinite
MEAN_PIXEL_BUCKETS = (5, 10, 15, 20, 25, 30, 35, 40, 50, 60, 80, 100, 128, 160, 200, 255)
FLUSH_SECONDS = float(os.environ.get("DLTP_METRICS_FLUSH_SECONDS", "1"))

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
    "dltp_reference_class_share": ("gauge", "share of each class among the training labels (reference_stats.json)"),
    "dltp_reference_mean_confidence": ("gauge", "mean confidence on the validation images at training time"),
    "dltp_worker_up": ("gauge", "1 per live worker: their sum is the number of workers answering"),
    "dltp_workers_expected": ("gauge", "the number of workers gunicorn was configured to keep"),
    "dltp_process_resident_memory_bytes": ("gauge", "resident memory of the live workers (sum)"),
    "dltp_process_cpu_seconds": ("gauge", "CPU time used by the live workers (sum)"),
}
HISTOGRAMS = {"dltp_http_request_duration_seconds": LATENCY_BUCKETS,
              "dltp_prediction_confidence": CONFIDENCE_BUCKETS,
              "dltp_input_mean_pixel": MEAN_PIXEL_BUCKETS}
_RAW = "dltp_raw_"
_PREDICT_OK = ("/predict", "POST", 200)  # prefix of the counters that hold a histogram's buckets and sum


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Drift:
    """PSI of a sliding window of per-image mean pixel values against the training reference."""

    def __init__(self, reference: dict | None, window: int = 500, min_images: int = 100,
                 threshold: float = 0.25, bins: int = 10):
        self.window: deque[int] = deque()  # bin index of each recent image
        self.size = window
        self.min_images = min_images
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

    def add(self, mean_pixel: float) -> None:
        """Slide the window by one image: bin counts are updated in place, so a score costs O(bins)."""
        b = bisect.bisect_right(self.inner_edges, mean_pixel)
        self.window.append(b)
        self.counts[b] += 1
        if len(self.window) > self.size:
            self.counts[self.window.popleft()] -= 1

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


def _histogram_slots(bounds) -> list:
    """Counts per bucket (the last one: above every bound, +Inf), then the sum of the observations."""
    return [0] * (len(bounds) + 1) + [0.0]


class _Pending:
    """What the workers' requests added since the last flush: plain Python numbers."""

    def __init__(self, num_classes: int):
        self.requests: dict[tuple, int] = {}  # (endpoint, method, status) → count
        self.latency: dict[str, list] = {}  # endpoint → histogram slots
        self.errors: dict[tuple, int] = {}  # (endpoint, reason) → count
        self.digits = [0] * num_classes
        self.confidence = _histogram_slots(CONFIDENCE_BUCKETS)
        self.mean_pixel = _histogram_slots(MEAN_PIXEL_BUCKETS)


class Monitor:
    """The service's metrics, in a registry of its own (one per app)."""

    def __init__(self, reference: dict | None = None, drift_window: int = 500, drift_min_images: int = 100,
                 drift_threshold: float = 0.25, num_classes: int = 10):
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = registry = CollectorRegistry()
        help_text = {name: description for name, (_, description) in METRICS.items()}

        def counter(name, labels=()):
            return Counter(name[:-len("_total")], help_text[name], list(labels), registry=registry)

        def gauge(name, mode, labels=()):
            return Gauge(name, help_text[name], list(labels), registry=registry, multiprocess_mode=mode)

        self.requests = counter("dltp_http_requests_total", ["endpoint", "method", "status"])
        self.errors = counter("dltp_http_errors_total", ["endpoint", "reason"])
        self.predictions = counter("dltp_predictions_total", ["digit"])
        # Histograms as counters (see the module's docstring): buckets by upper bound, and the sum.
        self._raw = {}
        for name, labels in (("dltp_http_request_duration_seconds", ["endpoint"]),
                             ("dltp_prediction_confidence", []), ("dltp_input_mean_pixel", [])):
            self._raw[name] = (Counter(f"{_RAW}{name}_bucket", "buckets of " + name, labels + ["le"],
                                       registry=registry),
                               Counter(f"{_RAW}{name}_sum", "sum of " + name, labels, registry=registry))
        self.drift_psi = gauge("dltp_input_drift_psi", "livemax")
        self.drift_alert = gauge("dltp_input_drift_alert", "livemax")
        self.drift_images = gauge("dltp_input_drift_window_images", "livesum")
        self.model_info = gauge("dltp_model_info", "livemax", ["source", "forward", "backend"])
        self.memory = gauge("dltp_process_resident_memory_bytes", "livesum")
        self.cpu = gauge("dltp_process_cpu_seconds", "livesum")
        self.worker_up = gauge("dltp_worker_up", "livesum")
        self.workers_expected = gauge("dltp_workers_expected", "livemax")
        self.reference_share = gauge("dltp_reference_class_share", "livemax", ["digit"])
        self.reference_confidence = gauge("dltp_reference_mean_confidence", "livemax")

        self.num_classes = num_classes
        for digit in range(num_classes):  # every class has a series from the start (rates of 0, not gaps)
            self.predictions.labels(str(digit))
        self.worker_up.set(1)
        if os.environ.get("DLTP_WORKERS_EXPECTED"):  # set by gunicorn_conf's nworkers_changed hook
            self.workers_expected.set(int(os.environ["DLTP_WORKERS_EXPECTED"]))
        if reference:
            for digit, share in enumerate(reference.get("class_frequencies", [])):
                self.reference_share.labels(str(digit)).set(share)
            if "val_mean_confidence" in reference:
                self.reference_confidence.set(reference["val_mean_confidence"])
        self.drift = Drift(reference, drift_window, drift_min_images, drift_threshold)
        self._lock = threading.Lock()
        self._pending = _Pending(num_classes)
        self.flush()
        _FLUSHER.watch(self)

    # --- per request: plain Python counts under the lock --------------------------------------

    def record_prediction(self, seconds: float, mean_pixel: float, digit: int, confidence: float) -> None:
        """One image answered 200 by ``POST /predict`` (the fast path): everything in one lock."""
        with self._lock:
            p = self._pending
            p.requests[_PREDICT_OK] = p.requests.get(_PREDICT_OK, 0) + 1
            slots = p.latency.get("/predict")
            if slots is None:
                slots = p.latency["/predict"] = _histogram_slots(LATENCY_BUCKETS)
            slots[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            slots[-1] += seconds
            self._observe_image(p, mean_pixel, digit, confidence)

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            p = self._pending
            key = (endpoint, method, status)
            p.requests[key] = p.requests.get(key, 0) + 1
            slots = p.latency.get(endpoint)
            if slots is None:
                slots = p.latency[endpoint] = _histogram_slots(LATENCY_BUCKETS)
            slots[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            slots[-1] += seconds

    def observe_error(self, endpoint: str, reason: str) -> None:
        with self._lock:
            key = (endpoint, reason)
            self._pending.errors[key] = self._pending.errors.get(key, 0) + 1

    def observe_predictions(self, pixels: np.ndarray, probabilities: np.ndarray) -> None:
        """A batch of images (N, 784) and their probabilities (N, classes)."""
        means = pixels.mean(axis=1).tolist()
        digits = probabilities.argmax(axis=1).tolist()
        confidences = probabilities.max(axis=1).tolist()
        with self._lock:
            p = self._pending
            for mean, digit, confidence in zip(means, digits, confidences):
                self._observe_image(p, mean, digit, confidence)

    def _observe_image(self, p: _Pending, mean_pixel: float, digit: int, confidence: float) -> None:
        p.digits[digit] += 1
        p.confidence[bisect.bisect_left(CONFIDENCE_BUCKETS, confidence)] += 1
        p.confidence[-1] += confidence
        p.mean_pixel[bisect.bisect_left(MEAN_PIXEL_BUCKETS, mean_pixel)] += 1
        p.mean_pixel[-1] += mean_pixel
        if self.drift.available:
            self.drift.add(mean_pixel)

    # --- once a second, and before every scrape ------------------------------------------------

    def flush(self) -> None:
        """Add the pending counts to the Prometheus metrics; refresh the drift and process gauges."""
        with self._lock:
            p, self._pending = self._pending, _Pending(self.num_classes)
            score = self.drift.score()
            window = len(self.drift.window)
        for (endpoint, method, status), n in p.requests.items():
            self.requests.labels(endpoint, method, str(status)).inc(n)
        for (endpoint, reason), n in p.errors.items():
            self.errors.labels(endpoint, reason).inc(n)
        for digit, n in enumerate(p.digits):
            if n:
                self.predictions.labels(str(digit)).inc(n)
        for endpoint, slots in p.latency.items():
            self._add_histogram("dltp_http_request_duration_seconds", (endpoint,), slots)
        self._add_histogram("dltp_prediction_confidence", (), p.confidence)
        self._add_histogram("dltp_input_mean_pixel", (), p.mean_pixel)
        if self.drift.available:
            self.drift_images.set(window)
            if score is not None:
                self.drift_psi.set(score)
                self.drift_alert.set(1.0 if score > self.drift.threshold else 0.0)
        self._update_process()

    def _add_histogram(self, name: str, labels: tuple, slots: list) -> None:
        buckets, total = self._raw[name]
        bounds = HISTOGRAMS[name]
        for i, n in enumerate(slots[:-1]):
            if n:
                buckets.labels(*labels, _le(bounds[i]) if i < len(bounds) else "+Inf").inc(n)
        if any(slots[:-1]):
            (total.labels(*labels) if labels else total).inc(slots[-1])

    def _update_process(self) -> None:
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

        self.flush()
        if multiprocess():
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
        else:
            registry = self.registry
        return generate_latest(_Exported(registry)), CONTENT_TYPE_LATEST


def _le(bound: float) -> str:
    return repr(float(bound))


class _Exported:
    """A registry's families as exported: each histogram's raw counters become the histogram."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        from prometheus_client.core import HistogramMetricFamily

        raw: dict[str, dict] = {name: {} for name in HISTOGRAMS}  # name → label values → [buckets, sum]
        for family in self.registry.collect():
            if not family.name.startswith(_RAW):
                yield family
                continue
            name, _, part = family.name[len(_RAW):].rpartition("_")
            for sample in family.samples:
                if not sample.name.endswith("_total"):  # _created
                    continue
                labels = {k: v for k, v in sample.labels.items() if k != "le"}
                key = tuple(sorted(labels.items()))
                slot = raw[name].setdefault(key, [{}, 0.0])
                if part == "bucket":
                    slot[0][sample.labels["le"]] = slot[0].get(sample.labels["le"], 0.0) + sample.value
                else:
                    slot[1] += sample.value
        for name, series in raw.items():
            if not series and name != "dltp_http_request_duration_seconds":
                series[()] = [{}, 0.0]  # an unlabelled histogram exists, at 0, before its first observation
            label_names = sorted({k for key in series for k, _ in key})
            family = HistogramMetricFamily(name, METRICS[name][1], labels=label_names)
            for key, (counts, total) in sorted(series.items()):
                cumulative, buckets = 0.0, []
                for bound in [_le(b) for b in HISTOGRAMS[name]] + ["+Inf"]:
                    cumulative += counts.get(bound, 0.0)
                    buckets.append((bound, cumulative))
                values = dict(key)
                family.add_metric([values.get(k, "") for k in label_names], buckets, total)
            yield family


class _Flusher:
    """One daemon thread per process that flushes every live Monitor each FLUSH_SECONDS."""

    def __init__(self):
        self.monitors: weakref.WeakSet = weakref.WeakSet()
        self.pid = None
        self.lock = threading.Lock()

    def watch(self, monitor: Monitor) -> None:
        with self.lock:
            self.monitors.add(monitor)
            if self.pid != os.getpid():  # none yet in this process (or the one we had was forked away)
                self.pid = os.getpid()
                threading.Thread(target=self._run, name="dltp-metrics-flush", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush_all()

    def flush_all(self) -> None:
        for monitor in list(self.monitors):
            try:
                monitor.flush()
            except Exception:  # a metrics failure must never stop the flushing of the others
                import logging

                logging.getLogger("dltp.serve").exception("metrics flush failed")


_FLUSHER = _Flusher()
flush_all = _FLUSHER.flush_all  # gunicorn's worker_exit hook: nothing counted is lost at a restart
