"""The paper's figures, drawn from the results JSON and the saved rollouts (Agg backend, files)."""

from __future__ import annotations

import numpy as np

from dltp.plots import pyplot

plt = pyplot()


REGIME_STYLE = {"teacher_forcing": "-", "rollout": "--"}


from dltp.research.wording import variant_name  # noqa: E402  (one naming for the figures and the text)


def mse_curves(results: dict):
    """MSE per predicted frame (mean over seeds, band = ± std) for the main models in both training
    regimes (solid: teacher forcing, dashed: rollout training) and the two reference lines."""
    s = results["settings"]
    frames = np.arange(s["given"] + 1, s["frames"] + 1)
    fig, ax = plt.subplots(figsize=(3.4, 2.6))
    for n, variant in enumerate(results["main"]):
        for regime, style in REGIME_STYLE.items():
            m = results["regimes"][regime][variant]
            mean, std = np.array(m["mse_per_frame_mean"]), np.array(m["mse_per_frame_std"])
            suffix = "" if regime == "teacher_forcing" else " + rollout"
            ax.plot(frames, mean, style, color=f"C{n}", label=variant_name(results, variant) + suffix)
            ax.fill_between(frames, mean - std, mean + std, color=f"C{n}", alpha=0.2)
    ax.plot(frames, results["copy_last"]["mse_per_frame"], "k-.", label="copy last frame")
    ax.plot(frames, results["reconstruction_mse_per_frame"], "k:", label="autoencoder (true latents)")
    ax.set_xlabel("frame")
    ax.set_ylabel("MSE")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def rollout_strips(results: dict, rollouts, sequence: int = 0, every: int = 5):
    """True frames vs each main model's predicted frames for one test sequence."""
    s = results["settings"]
    true = rollouts["true"][sequence]
    steps = list(range(s["given"] - 1 + every, s["frames"], every))  # 0-based frame indices shown
    rows = [("true", [true[t] for t in steps])]
    keys = ["copy-last", *[v + suffix for v in results["main"] for suffix in ("", "+rollout")]]
    for variant in keys:
        if variant in rollouts:
            pred = rollouts[variant][sequence]
            base, _, regime = variant.partition("+")
            name = "copy last" if variant == "copy-last" else variant_name(results, base) + (" +R" if regime else "")
            rows.append((name, [pred[t - s["given"]] for t in steps]))
    fig, axes = plt.subplots(len(rows), len(steps), figsize=(0.45 * len(steps) + 0.9, 0.5 * len(rows) + 0.3),
                             squeeze=False)
    for r, (name, frames) in enumerate(rows):
        for c, frame in enumerate(frames):
            ax = axes[r, c]
            ax.imshow(frame, cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(str(steps[c] + 1), fontsize=6)
            if c == 0:
                ax.set_ylabel(name, fontsize=5, rotation=0, ha="right", va="center")
    fig.subplots_adjust(left=0.22, right=0.99, top=0.9, bottom=0.01, wspace=0.05, hspace=0.05)
    return fig


def method_diagram():
    """The pipeline: encoder → latent predictor (three variants) → decoder, rolled out."""
    fig, ax = plt.subplots(figsize=(3.4, 1.9))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 6)
    ax.axis("off")

    def box(x, y, w, h, text, color):
        ax.add_patch(plt.Rectangle((x, y), w, h, facecolor=color, edgecolor="black", linewidth=0.6))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=6)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "linewidth": 0.6})

    box(0.1, 2.3, 1.5, 1.4, "frames\n$x_{1..t}$", "#eeeeee")
    box(2.1, 2.3, 1.4, 1.4, "conv\nencoder", "#cfe2f3")
    box(4.0, 0.2, 2.6, 1.5, "TAP-M: read memory\n$z_{\\leq t}$ with query $z_t$", "#d9ead3")
    box(4.0, 2.3, 2.6, 1.4, "TAP-T: causal Transformer\nover last $N$ latents", "#fff2cc")
    box(4.0, 4.3, 2.6, 1.5, "TAP: recurrent\n(GRU) over $z_{\\leq t}$", "#f4cccc")
    box(7.1, 2.3, 1.4, 1.4, "$\\hat z_{t+1}$\n→ decoder", "#cfe2f3")
    box(8.9, 2.3, 1.0, 1.4, "$\\hat x_{t+1}$", "#eeeeee")
    arrow(1.6, 3.0, 2.1, 3.0)
    for y in (1.0, 3.0, 5.0):
        arrow(3.5, 3.0, 4.0, y)
        arrow(6.6, y, 7.1, 3.0)
    arrow(8.5, 3.0, 8.9, 3.0)
    ax.annotate("", xy=(3.5, 2.4), xytext=(7.8, 2.3),
                arrowprops={"arrowstyle": "->", "linewidth": 0.6, "linestyle": "--",
                            "connectionstyle": "arc3,rad=0.5"})
    fig.tight_layout()
    return fig
