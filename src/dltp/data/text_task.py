"""A generated text task for TP5's attention classifier, where the right attention is known.

Each sentence is ``seq_len`` token ids. A *marker* token sits at a random position p, and the
token right after it — ``GOOD`` or ``BAD`` — decides the label (1 or 0): that is the *deciding
token*, at position p + 1. Every other position holds a distractor: an ordinary word or, with
probability ``decoy_rate``, a ``GOOD``/``BAD`` drawn at random, independent of the label. A
unidirectional GRU that merely remembers "the last sentiment word" is misled by the decoys; the
model has to find the one sentiment word that follows the marker, so the attention weight it puts
there can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MARKER, GOOD, BAD = 1, 2, 3
FIRST_WORD = 4  # ids 4 .. vocab_size-1 are ordinary words; 0 is left free for padding


@dataclass
class KeyTokenTask:
    x: np.ndarray  # (N, T) int32 token ids
    y: np.ndarray  # (N,) int 0/1
    key_position: np.ndarray  # (N,) where the deciding token is
    vocab_size: int
    name: str = "key-token"
    fallback_from: str | None = None

    @property
    def fallback(self) -> bool:
        return False

    def split(self, n_train: int):
        return (self.x[:n_train], self.y[:n_train], self.key_position[:n_train],
                self.x[n_train:], self.y[n_train:], self.key_position[n_train:])


def token_name(token: int) -> str:
    return {0: "<pad>", MARKER: "»", GOOD: "GOOD", BAD: "BAD"}.get(int(token), f"w{int(token)}")


def key_token_task(n: int, seq_len: int = 20, vocab_size: int = 30, decoy_rate: float = 0.2,
                   seed: int = 0) -> KeyTokenTask:
    if seq_len < 2 or vocab_size <= FIRST_WORD:
        raise ValueError(f"need seq_len >= 2 and vocab_size > {FIRST_WORD}")
    rng = np.random.default_rng(seed)
    x = rng.integers(FIRST_WORD, vocab_size, size=(n, seq_len))
    decoy = rng.random((n, seq_len)) < decoy_rate
    x[decoy] = rng.choice((GOOD, BAD), size=int(decoy.sum()))
    y = rng.integers(0, 2, size=n)
    marker = rng.integers(0, seq_len - 1, size=n)
    rows = np.arange(n)
    x[rows, marker] = MARKER
    x[rows, marker + 1] = np.where(y == 1, GOOD, BAD)
    return KeyTokenTask(x.astype("int32"), y.astype("int32"), marker + 1, vocab_size)
