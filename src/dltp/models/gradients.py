"""BACKEND-SPECIFIC: the gradient of a scalar function with respect to an input array.

This is the one module of dltp that calls torch / jax / tensorflow directly (Keras 3 has no
backend-agnostic "gradient of this function" call outside ``model.fit``): the style transfer
optimises the *pixels* of an image, not the weights of a model, so it needs d(loss)/d(image).
Everything else (the VGG16 features, the losses, the Adam update) is backend-agnostic.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np


def value_and_grad(fn: Callable) -> Callable[[np.ndarray], tuple[float, np.ndarray, dict]]:
    """``fn(x) -> (scalar loss, aux dict of scalars)`` written with keras.ops; returns
    ``loss_and_grad(x_numpy) -> (loss, dloss/dx as numpy, aux as floats)`` for the current Keras backend."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        def loss_and_grad(x):
            x_tensor = torch.tensor(x, requires_grad=True)
            loss, aux = fn(x_tensor)
            loss.backward()
            return float(loss.detach()), x_tensor.grad.detach().cpu().numpy(), _floats(aux)
    elif backend == "jax":
        import jax

        grad_fn = jax.jit(jax.value_and_grad(fn, has_aux=True))

        def loss_and_grad(x):
            (loss, aux), grad = grad_fn(x)
            return float(loss), np.asarray(grad), _floats(aux)
    elif backend == "tensorflow":
        import tensorflow as tf

        def loss_and_grad(x):
            x_tensor = tf.convert_to_tensor(x)
            with tf.GradientTape() as tape:
                tape.watch(x_tensor)
                loss, aux = fn(x_tensor)
            return float(loss), tape.gradient(loss, x_tensor).numpy(), _floats(aux)
    else:  # pragma: no cover - Keras has no other training backend today
        from dltp.errors import DltpError

        raise DltpError(f"style transfer needs gradients; backend {backend!r} is not supported")
    return loss_and_grad


def _floats(aux: dict) -> dict:
    return {k: float(keras.ops.convert_to_numpy(v)) for k, v in aux.items()}
