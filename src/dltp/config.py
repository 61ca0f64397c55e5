"""What the user asked for on the command line, handed to every experiment."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dltp import registry
from dltp.errors import DltpError


@dataclass
class RunConfig:
    epochs: int | None = None  # None: the experiment's default (the original recipe)
    batch_size: int | None = None
    dataset: str | None = None  # None: the lab's default dataset, with offline fallback
    quick: bool = False  # small budget for smoke runs and CI
    seed: int = 42
    resume: str | None = None  # MLflow run id to continue
    options: dict[str, Any] = field(default_factory=dict)  # experiment-specific flags the user gave
    experiment: str | None = None  # the experiment (or lab) id whose declared defaults apply

    def for_experiment(self, experiment_id: str) -> RunConfig:
        """This request, for one experiment: value() then reads that experiment's defaults."""
        return dataclasses.replace(self, experiment=experiment_id)

    def given(self, name: str) -> Any:
        """The user's value for ``name`` (an option, epochs or batch_size), or None."""
        return getattr(self, name) if name in registry.COMMON else self.options.get(name)

    def value(self, name: str) -> Any:
        """The user's value for ``name``, else the default declared in dltp.registry: the running
        experiment's own, else the option's; the --quick one under --quick. Lists for nargs options."""
        value = self.given(name)
        if value is None:
            value = registry.default(name, self.experiment, self.quick)
        option = registry.OPTIONS.get(name)
        if option is not None and option.nargs and value is not None:
            value = list(value)
        return value

    def pick(self, name: str, full: Any, quick: Any) -> Any:
        """The user's value for ``name`` if given, else ``quick`` or ``full``: for defaults that the lab
        derives itself (a model's or a recipe's); those declared in dltp.registry are read with value()."""
        value = self.given(name)
        if value is not None:
            return value
        return quick if self.quick else full


def require_at_least_one(**flags: int | None) -> None:
    """Refuse a count flag set below 1: ``require_at_least_one(epochs=0)`` raises "--epochs must be at
    least 1". A flag left out (None) takes its default later and is not checked."""
    for name, value in flags.items():
        if value is not None and value < 1:
            raise DltpError(f"--{name.replace('_', '-')} must be at least 1")


def first_count(*sources: tuple[object, str]) -> int | None:
    """The first of ``(value, where)`` that is set (a flag, then environment variables), as a whole
    number of at least 1; None when none is set. A bad value is an error naming where it came from."""
    for value, where in sources:
        if value in (None, ""):
            continue
        try:
            count = int(value)
        except (TypeError, ValueError):
            raise DltpError(f"{where} must be a whole number, not {value!r}") from None
        if count < 1:
            raise DltpError(f"{where} must be at least 1")
        return count
    return None


def cache_dir() -> Path:
    """dltp's own cache: bundled datasets, compiled programs (DLTP_CACHE_DIR, else
    $XDG_CACHE_HOME/dltp, else ~/.cache/dltp)."""
    if os.environ.get("DLTP_CACHE_DIR"):
        return Path(os.environ["DLTP_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "dltp"
