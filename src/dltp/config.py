"""What the user asked for on the command line, handed to every experiment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dltp.errors import DltpError


@dataclass
class RunConfig:
    epochs: int | None = None  # None: the experiment's default (the original recipe)
    batch_size: int | None = None
    dataset: str | None = None  # None: the lab's default dataset, with offline fallback
    quick: bool = False  # small budget for smoke runs and CI
    seed: int = 42
    resume: str | None = None  # MLflow run id to continue
    options: dict[str, Any] = field(default_factory=dict)  # experiment-specific flags

    def option(self, name: str, default: Any = None) -> Any:
        value = self.options.get(name)
        return default if value is None else value

    def pick(self, name: str, full: Any, quick: Any) -> Any:
        """The user's value for ``name`` if given, else the quick or full default."""
        value = getattr(self, name, None) if hasattr(self, name) else self.options.get(name)
        if value is not None:
            return value
        return quick if self.quick else full


def require_at_least_one(**flags: int | None) -> None:
    """Refuse a count flag set below 1: ``require_at_least_one(epochs=0)`` raises "--epochs must be at
    least 1". A flag left out (None) takes its default later and is not checked."""
    for name, value in flags.items():
        if value is not None and value < 1:
            raise DltpError(f"--{name.replace('_', '-')} must be at least 1")
