"""dltp: the Deep Learning Engineering labs (TP1-TP5) as reproducible, tracked experiments."""

import os

# What the user asked for, before dltp gives KERAS_BACKEND a value: set, it pins every experiment
# to that backend; unset, `dltp run` picks each experiment's measured-fastest one (dltp.backends).
USER_KERAS_BACKEND = os.environ.get("KERAS_BACKEND") or None
# The backend must be chosen before keras is first imported anywhere; library use gets torch.
os.environ.setdefault("KERAS_BACKEND", "torch")
# Quiet third-party start-up noise; none of it is actionable for a student.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

__version__ = "0.2.0"
