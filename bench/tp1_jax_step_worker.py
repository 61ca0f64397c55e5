"""The TP1 recipe written in plain jax, without Keras: how fast the same training could go on this
machine, next to Keras' jax trainer (bench/train_throughput.py prints both).

Same arithmetic as dltp's TP1: dense 784-512-10 (Glorot-uniform kernels, zero biases), relu,
dropout 0.2, softmax cross-entropy, accuracy, Adam (lr 1e-3, epsilon 1e-7 as in Keras), batch 128,
a new shuffle every epoch, the last partial batch kept. One jitted step per batch, batches sliced
from numpy as Keras does. As tp1_worker.py: a first compiling epoch timed apart, then a round is
the steady state of as many whole epochs as make ``--min-seconds`` (a side of train_throughput.py,
answering one measurement per round through _common.serve).

    python tp1_jax_step_worker.py            # one jitted step per batch, as Keras' fit does
    python tp1_jax_step_worker.py --scan     # the data on the device, a whole epoch in one XLA program
"""

import argparse
import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from _common import TP1_BATCH as BATCH
from _common import TP1_SAMPLES, peak_rss_mb, serve, tp1_data

HIDDEN, RATE = 512, 0.2


def glorot(key, fan_in: int, fan_out: int):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, (fan_in, fan_out), minval=-limit, maxval=limit)


def loss_and_accuracy(params, x, y, key):
    hidden = jax.nn.relu(x @ params["w1"] + params["b1"])
    keep = jax.random.bernoulli(key, 1.0 - RATE, hidden.shape)
    hidden = jnp.where(keep, hidden / (1.0 - RATE), 0.0)
    logits = hidden @ params["w2"] + params["b2"]
    loss = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))
    return loss, jnp.mean(jnp.argmax(logits, axis=1) == y)


def step(state, x, y):
    params, m, v, step, key = state
    key, dropout_key = jax.random.split(key)
    step = step + 1
    (loss, accuracy), grads = jax.value_and_grad(loss_and_accuracy, has_aux=True)(params, x, y, dropout_key)
    m = jax.tree.map(lambda m_, g: m_ + (g - m_) * 0.1, m, grads)
    v = jax.tree.map(lambda v_, g: v_ + (g * g - v_) * 0.001, v, grads)
    alpha = 1e-3 * jnp.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
    params = jax.tree.map(lambda p, m_, v_: p - alpha * m_ / (jnp.sqrt(v_) + 1e-7), params, m, v)
    return (params, m, v, step, key), loss, accuracy


train_step = jax.jit(step)


@jax.jit
def scanned_epoch(state, x, y, order):
    """Every full batch of one epoch in one program (lax.scan), gathered on the device."""
    full = (len(order) // BATCH) * BATCH
    xs = x[order[:full]].reshape(-1, BATCH, x.shape[1])
    ys = y[order[:full]].reshape(-1, BATCH)
    state, _ = jax.lax.scan(lambda s, batch: (step(s, *batch)[0], None), state, (xs, ys))
    return state


def epoch_on_device(state, x, y, rng):
    order = rng.permutation(len(x))
    full = (len(x) // BATCH) * BATCH
    state = scanned_epoch(state, x, y, jnp.asarray(order))
    rest = order[full:]
    if len(rest):
        state, _, _ = train_step(state, x[rest], y[rest])
    jax.block_until_ready(state)
    return state


def epoch(state, x, y, rng):
    order = rng.permutation(len(x))
    for start in range(0, len(x), BATCH):
        batch = order[start:start + BATCH]
        state, loss, accuracy = train_step(state, x[batch], y[batch])
    jax.block_until_ready(state)
    return state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scan", action="store_true", help="the data on the device, one program per epoch")
    parser.add_argument("--min-seconds", type=float, default=1.5, help="training seconds per round, at least")
    args = parser.parse_args()
    rss_before = peak_rss_mb()
    rng = np.random.default_rng(0)
    x, y = tp1_data(rng)
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    params = {"w1": glorot(k1, 784, HIDDEN), "b1": jnp.zeros(HIDDEN),
              "w2": glorot(k2, HIDDEN, 10), "b2": jnp.zeros(10)}
    run_epoch = epoch
    if args.scan:
        x, y, run_epoch = jnp.asarray(x), jnp.asarray(y), epoch_on_device
    zeros = lambda: jax.tree.map(jnp.zeros_like, params)  # noqa: E731
    state = [(params, zeros(), zeros(), jnp.float32(0), k3)]
    start = time.perf_counter()
    state[0] = run_epoch(state[0], x, y, rng)  # compiles the full and the last, partial batch
    first_epoch_s = time.perf_counter() - start
    start = time.perf_counter()
    state[0] = run_epoch(state[0], x, y, rng)
    once = time.perf_counter() - start
    epochs = max(1, math.ceil(args.min_seconds / once))

    def measure() -> float:
        start = time.perf_counter()
        for _ in range(epochs):
            state[0] = run_epoch(state[0], x, y, rng)
        return TP1_SAMPLES * epochs / (time.perf_counter() - start)

    serve({"measure": measure}, {"backend": "jax", "steps_per_execution": "epoch" if args.scan else 1,
                                 "first_epoch_s": first_epoch_s, "epoch_s": once, "epochs_per_round": epochs,
                                 "rss_before_mb": rss_before,
                                 "threads": os.environ.get("DLTP_THREADS") or "library default"})


if __name__ == "__main__":
    main()
