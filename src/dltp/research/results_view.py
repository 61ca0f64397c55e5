"""``results.json`` of tp5.research as the paper reads it: the regimes, the three main predictors
and their names, the (regime, predictor) pairs that were trained, the seeds, and where the run ran.
Nothing here imports numpy, keras or LaTeX."""

from __future__ import annotations

from dltp.research.wording import REGIME_NAMES, spread, variant_name


class ResultsView:
    def __init__(self, results: dict):
        self.results = results
        self.settings = results["settings"]
        self.regimes = results["regimes"]
        self.teacher_forcing = self.regimes["teacher_forcing"]
        self.rollout = self.regimes.get("rollout", {})
        self.n_seeds = len(results["seeds"])
        self.main = [v for v in results["main"] if v in self.teacher_forcing]
        self.base, self.tap_t, self.tap_m = self.main
        self.names = {v: variant_name(results, v) for v in self.teacher_forcing}
        self.short = {self.base: "TAP", self.tap_t: "TAP-T", self.tap_m: "TAP-M"}
        # Every trained main predictor, as (regime, variant) pairs.
        self.learned = [(g, v) for g in self.regimes for v in self.regimes[g] if v in self.main]
        self.last, self.frames = self.settings["last"], self.settings["frames"]

    def stat(self, model: dict, key: str) -> tuple[float, float]:
        """(mean, std) over seeds of ``key`` for one model's entry in ``regimes``."""
        return model["mean"][key], model["std"][key]

    def cell(self, model: dict, key: str, fmt) -> str:
        """``key`` of one model as a table cell: mean ± std, or the mean alone with one seed."""
        return spread(model["mean"][key], model["std"][key], self.n_seeds, fmt)

    def mean(self, pair: tuple[str, str], key: str) -> float:
        """The mean over seeds of ``key`` for a (regime, variant) pair."""
        regime, variant = pair
        return self.regimes[regime][variant]["mean"][key]

    def label(self, pair: tuple[str, str]) -> str:
        """'TAP-T (2 layers) with rollout training' for a (regime, variant) pair."""
        regime, variant = pair
        return f"{self.names[variant]} with {REGIME_NAMES[regime]}"

    def named(self, pair: tuple[str, str]) -> str:
        """'TAP-T (2 layers) (rollout training)' for a (regime, variant) pair, in lists."""
        regime, variant = pair
        return f"{self.names[variant]} ({REGIME_NAMES[regime]})"

    @property
    def device_text(self) -> str:
        """Where the run ran, from the run itself: 'a CPU with 2 cores (Keras jax backend)'."""
        device, backend = self.results.get("device", {}), self.results["backend"]
        if device.get("kind") == "gpu":
            return f"a GPU (Keras {backend} backend)"
        if device.get("cpu_count"):
            return f"a CPU with {device['cpu_count']} cores (Keras {backend} backend)"
        return f"a CPU (Keras {backend} backend)"
