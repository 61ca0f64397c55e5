"""The paper's figures, drawn from the results JSON and the saved rollouts (Agg backend, files)."""

from __future__ import annotations

import numpy as np

from dltp.plots import pyplot

plt = pyplot()


def mse_curves(results: dict):
    """MSE per predicted frame (mean over seeds) of each predictor at the smallest and the largest
    rollout depth (solid, dashed), and of the references."""
    s = results["settings"]
    frames = np.arange(s["given"] + 1, s["frames"] + 1)
    depths = s["depths"]
    fig, ax = plt.subplots(figsize=(3.4, 2.6))
    for n, variant in enumerate(results["variants"]):
        for depth, style in ((depths[0], "-"), (depths[-1], "--")):
            model = results["models"].get(f"{variant}@k{depth}")
            if model and (depth == depths[0] or len(depths) > 1):
                ax.plot(frames, model["mse_per_frame"], style, color=f"C{n}",
                        label=f"{results['variants'][variant]['short']}, k={depth}")
    for key, style in (("copy-last", "k-."), ("baseline", "k--"), ("autoencoder", "k:")):
        ax.plot(frames, results["models"][key]["mse_per_frame"], style, label=results["models"][key]["label"])
    ax.set_xlabel("frame")
    ax.set_ylabel("MSE per frame")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=5)
    fig.tight_layout()
    return fig


def depth_curves(results: dict):
    """MSE per frame over the last frames and identity at the last frame against the rollout depth,
    per predictor (mean over seeds; bars: ± the seeds' standard deviation)."""
    s = results["settings"]
    fig, axes = plt.subplots(1, 2, figsize=(3.4, 1.8))
    for n, variant in enumerate(results["variants"]):
        models = [results["models"][f"{variant}@k{k}"] for k in s["depths"]]
        for ax, metric, scale in ((axes[0], "mse_last20", 1.0), (axes[1], f"identity{s['frames']}", 100.0)):
            ax.errorbar(s["depths"], [scale * m["mean"][metric] for m in models],
                        yerr=[scale * m["seed_std"][metric] for m in models], marker="o", markersize=2,
                        capsize=2, color=f"C{n}", label=results["variants"][variant]["short"], linewidth=0.8)
    for ax, title in zip(axes, (f"MSE/frame, last {s['last']}", f"identity at frame {s['frames']} (%)")):
        ax.set_xscale("log")
        ax.set_xticks(s["depths"])
        ax.set_xticklabels([str(k) for k in s["depths"]])
        ax.set_xlabel("rollout depth k", fontsize=6)
        ax.set_title(title, fontsize=6)
        ax.tick_params(labelsize=5)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=5)
    fig.tight_layout()
    return fig


def rollout_strips(results: dict, rollouts, sequence: int = 0, every: int = 5):
    """True frames and every forecast of one test sequence: the references, and each predictor at
    the smallest and the largest rollout depth (first seed)."""
    s = results["settings"]
    true = rollouts["true"][sequence]
    steps = list(range(s["given"] - 1 + every, s["frames"], every))  # 0-based frame indices shown
    rows = [("true", [true[t] for t in steps])]
    keys = ["copy-last", "baseline", "autoencoder",
            *[f"{v}@k{k}" for v in results["variants"] for k in sorted({s["depths"][0], s["depths"][-1]})]]
    for key in keys:
        if key in rollouts:
            pred = rollouts[key][sequence]
            variant, _, depth = key.partition("@")
            name = (f"{results['variants'][variant]['short']} {depth}" if depth else
                    {"copy-last": "copy last", "baseline": "baseline", "autoencoder": "autoenc."}[key])
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
