"""TP4's memory question, measured: what does a 3D convolution network cost in memory?

For every input side (32³, 64³, 96³, 128³) and batch size, two figures side by side:

* **from the shapes**: every layer's output tensor (the activations kept for the backward pass)
  and every layer's parameters, in float32 bytes — arithmetic on the model's shapes;
* **measured**: the peak resident memory of training, in a *fresh process per configuration*:
  two forward + backward passes (``train_on_batch`` with plain SGD, so the optimizer adds no
  state), the kernel's high-water mark reset before each (``/proc/self/clear_refs``) and read
  after it (``VmHWM``). The second pass's peak and the first's are both reported.

Then what the engineering choices (fewer filters, smaller kernels, early down-sampling, patches)
buy, from the shapes. Run as ``dltp run tp4.memory``; the child is
``python -m dltp.labs.tp4_memory --child SIDE BATCH``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from types import SimpleNamespace

from dltp import tables

MB = 1024 ** 2


def run(cfg) -> dict:
    import keras

    from dltp import tracking
    from dltp.errors import DltpError
    from dltp.labs.common import result
    from dltp.labs.tp4 import VOLUME_EXPERIMENT
    from dltp.models.conv3d import build_conv3d

    sides, batches = cfg.value("sizes"), cfg.value("batches")
    if any(s < 8 or s % 4 for s in sides):
        raise DltpError("--sizes must be multiples of 4, at least 8 (the network pools twice)")
    if any(b < 1 for b in batches):
        raise DltpError("--batches must be at least 1")
    data = SimpleNamespace(name="volumes", fallback=False, fallback_from=None)
    params = {"sides": sides, "batches": batches, "optimizer": "sgd", "dtype": "float32", "quick": cfg.quick}
    with tracking.run(VOLUME_EXPERIMENT, dltp_id="tp4.memory", run_name="conv3d-memory", params=params,
                      data=data, seed=cfg.seed) as active:
        rows, layers = [], {}
        for side in sides:
            # 1. Model: TP4's Conv3D network for volumes of this side
            model = build_conv3d((side, side, side, 1))
            # 2. From the shapes: each layer's activations kept for the backward pass, and its parameters
            layers[side] = layer_table(model, 1)
            for batch in batches:
                # 3. Measured: the peak resident memory of training, in a fresh process
                print(f"measuring {side}³ batch {batch} in a fresh process", flush=True)
                measured = measure(side, batch)
                row = {"side": side, "batch": batch, **shape_costs(model, batch),
                       "measured_peak_mb": measured.get("peak_mb"), "first_pass_mb": measured.get("first_pass_mb"),
                       "method": measured.get("method"), "error": measured.get("error")}
                if row["measured_peak_mb"] is not None:
                    row["ratio_measured_to_activations"] = row["measured_peak_mb"] / row["activation_mb"]
                    tracking.log_metrics({f"peak_mb_{side}_b{batch}": row["measured_peak_mb"],
                                          f"activation_mb_{side}_b{batch}": row["activation_mb"]})
                rows.append(row)
            keras.backend.clear_session()
        # 4. Comparison: measured against the shapes, and what the engineering choices buy
        designs = alternatives(max(sides), max(batches))
        tracking.log_json({"rows": rows, "layers": {str(k): v for k, v in layers.items()}, "alternatives": designs},
                          "memory_study.json")
        tracking.log_text(markdown(rows, layers, designs), "memory_study.md")
        tracking.log_figure(figure(rows), "memory_study.png")
        return result("tp4.memory", active.info.run_id, data, **extremes(rows), rows=rows, alternatives=designs)


# ------------------------------------------------------------------- from the shapes

def layer_table(model, batch: int = 1) -> list[dict]:
    """Per layer: output shape, activation elements and float32 bytes at ``batch``, parameters."""
    rows = []
    entries = [("input", "InputLayer", model.inputs[0], 0)]
    entries += [(layer.name, type(layer).__name__, layer.output, layer.count_params())
                for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for name, kind, tensor, params in entries:
        shape = tuple(tensor.shape[1:])
        elements = 1
        for d in shape:
            elements *= int(d)
        rows.append({"layer": name, "type": kind, "output_shape": [int(d) for d in shape],
                     "activation_elements": elements, "activation_bytes": 4 * elements * batch,
                     "parameters": int(params)})
    return rows


def shape_costs(model, batch: int) -> dict:
    rows = layer_table(model, batch)
    params = sum(r["parameters"] for r in rows)
    return {"activation_mb": sum(r["activation_bytes"] for r in rows) / MB, "parameters": params,
            "parameter_mb": 4 * params / MB}


# ------------------------------------------------------------------- the child: one measurement

# The peak is the second (steady-state) pass's, above the resident size *before the first pass*, with
# the model built and the batch in memory: what the first pass allocated and the process kept for the
# second counts (the buffers of TensorFlow's oneDNN kernels, the C allocator's free memory under torch
# and jax). A peak taken above the size just before the second pass misses it, and under tensorflow
# sees almost nothing. The first pass's peak also holds one-off costs (tracing, compiling).

def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _measured_pass(step, baseline_kb: int) -> tuple[float, str]:
    """MB above ``baseline_kb`` (the resident size before training) at the peak of ``step()``; and the
    method used."""
    if _reset_peak() and _status_kb("VmHWM") is not None:
        step()
        return (_status_kb("VmHWM") - baseline_kb) / 1024, "VmHWM after clear_refs"
    step()  # no reset: the peak of the process so far, an upper bound of this pass's
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_kb) / 1024, "ru_maxrss (upper bound)"


def _resident_kb() -> int:
    return _status_kb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(side: int, batch: int) -> dict:
    import numpy as np

    from dltp import backends

    keras = backends.import_keras(os.environ["KERAS_BACKEND"])  # without the libraries keras loads for nothing
    backends.keep_tensorflow_unloaded()
    from dltp.models.conv3d import build_conv3d

    keras.utils.set_random_seed(0)
    model = build_conv3d((side, side, side, 1))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, side, side, side, 1)).astype("float32")
    y = (np.arange(batch) % 2).astype("float32")[:, None]
    baseline = _resident_kb()
    first, method = _measured_pass(lambda: model.train_on_batch(x, y), baseline)
    steady, _ = _measured_pass(lambda: model.train_on_batch(x, y), baseline)
    return {"side": side, "batch": batch, "first_pass_mb": first, "peak_mb": steady, "method": method,
            "rss_after_mb": (_status_kb("VmRSS") or 0) / 1024, "backend": keras.backend.backend()}


def measure(side: int, batch: int, timeout: int = 900) -> dict:
    """One configuration in a fresh Python process; {"error": ...} when it could not run (e.g. memory)."""
    env = {**os.environ}
    env.setdefault("OMP_NUM_THREADS", "2")
    try:
        out = subprocess.run([sys.executable, "-m", "dltp.labs.tp4_memory", "--child", str(side), str(batch)],
                             capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"side": side, "batch": batch, "error": f"timed out after {timeout} s"}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"side": side, "batch": batch, "error": f"exit {out.returncode}: {out.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


# ------------------------------------------------------------------- the comparison

def alternatives(side: int = 96, batch: int = 4) -> list[dict]:
    """What the engineering choices buy at ``side``³, from the shapes (no training)."""
    from dltp.models.conv3d import build_conv3d

    designs = [
        ("original (16, 32 filters, 3³ kernels)", side, {}),
        ("fewer filters (8, 16)", side, {"filters": (8, 16)}),
        ("smaller kernels (1³ in place of 3³: params only)", side, {"kernel": 1}),
        ("early down-sampling (pool the input first)", side, {"early_pool": True}),
        (f"patches of 32³ (one patch of {(side // 32) ** 3})", 32, {}),
    ]
    rows = []
    for label, s, kwargs in designs:
        costs = shape_costs(build_conv3d((s, s, s, 1), **kwargs), batch)
        rows.append({"design": label, "side": s, "batch": batch, **costs})
    return rows


def extremes(rows: list[dict]) -> dict:
    """The smallest and the largest configuration (voxels × batch), measured and from the shapes, and
    how much each figure grows from one to the other: training must hold at least the activations
    it keeps for the backward pass, so the measured growth is at least theirs."""
    smallest = min(rows, key=lambda r: r["side"] ** 3 * r["batch"])
    largest = max(rows, key=lambda r: r["side"] ** 3 * r["batch"])
    measured = (smallest["measured_peak_mb"], largest["measured_peak_mb"])
    return {"measured_peak_mb_smallest": measured[0], "measured_peak_mb_largest": measured[1],
            "activation_mb_smallest": smallest["activation_mb"], "activation_mb_largest": largest["activation_mb"],
            "measured_growth_mb": None if None in measured else measured[1] - measured[0],
            "activation_growth_mb": largest["activation_mb"] - smallest["activation_mb"]}


def markdown(rows, layers, designs) -> str:
    """The study as Markdown: measured memory per input, activations per layer, design alternatives."""
    measured = []
    for r in rows:
        peak = f"{r['measured_peak_mb']:.1f}" if r["measured_peak_mb"] is not None else f"— ({r['error']})"
        first = f"{r['first_pass_mb']:.1f}" if r.get("first_pass_mb") is not None else "—"
        ratio = f"{r['ratio_measured_to_activations']:.2f}" if r.get("ratio_measured_to_activations") else "—"
        measured.append((f"{r['side']}³", r["batch"], f"{r['parameters']:,}", f"{r['activation_mb']:.1f}", peak, first,
                         ratio))
    text = tables.markdown(("input", "batch", "parameters", "activations from shapes (MB)", "measured peak (MB)",
                            "first pass (MB)", "measured / shapes"), measured)
    for side, table in layers.items():
        text += f"\nPer layer at {side}³, batch 1 (float32):\n\n" + tables.markdown(
            ("layer", "output shape", "activation (MB)", "parameters"),
            [(t["layer"], "×".join(map(str, t["output_shape"])), f"{t['activation_bytes'] / MB:.2f}",
              f"{t['parameters']:,}") for t in table])
    return text + "\nDesign alternatives, from the shapes:\n\n" + tables.markdown(
        ("design", "input", "batch", "activations (MB)", "parameters"),
        [(a["design"], f"{a['side']}³", a["batch"], f"{a['activation_mb']:.1f}", f"{a['parameters']:,}")
         for a in designs])


def figure(rows):
    from dltp.plots import pyplot

    fig, ax = pyplot().subplots(figsize=(6.4, 4.2))
    for batch, colour in zip(sorted({r["batch"] for r in rows}), ("C0", "C1", "C2", "C3")):
        sel = [r for r in rows if r["batch"] == batch]
        voxels = [r["side"] ** 3 for r in sel]
        ax.plot(voxels, [r["activation_mb"] for r in sel], "--", color=colour,
                label=f"activations from shapes, batch {batch}")
        ok = [r for r in sel if r["measured_peak_mb"] is not None]
        ax.plot([r["side"] ** 3 for r in ok], [r["measured_peak_mb"] for r in ok], "o-", color=colour,
                label=f"measured peak, batch {batch}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("voxels per volume (side³)")
    ax.set_ylabel("MB")
    ax.set_title("Conv3D: memory of one forward + backward pass")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]), int(sys.argv[3]))), flush=True)
    else:
        sys.exit("usage: python -m dltp.labs.tp4_memory --child SIDE BATCH")
