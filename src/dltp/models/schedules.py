"""Learning-rate schedules the labs train with.

``LinearWarmup``: the learning rate grows linearly from ``rate / steps`` to ``rate`` over the first
``steps`` steps, then stays at ``rate``. Adam divides each gradient by its own running magnitude, and
in the first steps that estimate rests on one or two gradients, so every weight moves by about the
full learning rate whatever its gradient. A layer with many inputs then moves its output by the
rate times the sum of those inputs in a single step (TP4's Conv3D head: 16,384 inputs at 32³): the
warm-up keeps those first steps small while the estimates settle.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="dltp")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, rate: float, steps: int):
        if rate < 0 or steps < 1:
            raise ValueError(f"LinearWarmup needs rate >= 0 and steps >= 1, got {rate}, {steps}")
        self.rate = float(rate)
        self.steps = int(steps)

    def __call__(self, step):
        done = (keras.ops.cast(step, "float32") + 1.0) / self.steps  # step counts from 0
        return self.rate * keras.ops.minimum(1.0, done)

    def get_config(self) -> dict:
        return {"rate": self.rate, "steps": self.steps}
