"""What every course notebook sets up before its first lab cell (notebooks/)."""

from __future__ import annotations

import os

FIGURES = "figures"  # each notebook figure is saved here too: a script run has no window to show it in


def setup(quick: bool):
    """The threads `dltp run` gives an experiment alone, Keras without tensorflow when another backend
    runs, no progress bars from the tracked runs, a folder for the figures; returns pyplot. Call it
    before ``import keras``: the thread count must be set before the backend loads."""
    import dltp  # gives KERAS_BACKEND its default, torch
    from dltp import backends, plots

    backends.hold_to_threads(os.environ["KERAS_BACKEND"], backends.resolve_threads(None))
    import keras

    backends.keep_tensorflow_unloaded()  # off tensorflow, keras would import it only to seed tf.data
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.makedirs(FIGURES, exist_ok=True)
    print(f"dltp {dltp.__version__}, Keras {keras.__version__} on {keras.backend.backend()}; quick budget: {quick}")
    return plots.pyplot()
