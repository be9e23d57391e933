"""Figure of `scnas train` runs: training loss and test accuracy per epoch."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from reports.figure import Figure
from reports.style import distinct_colors

__all__ = ["training_curves"]


def training_curves(res: dict, name: str = "train") -> Figure:
    """Loss (left axis) and test accuracy (right axis) against the epoch."""
    hist = res["history"]
    epochs = [h["epoch"] for h in hist]
    c = distinct_colors(2)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(epochs, [h["loss"] for h in hist], color=c[0], marker="o", label="training loss")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("training loss (cross-entropy)", color=c[0])
    ax2 = ax.twinx()
    ax2.plot(epochs, [100 * h["test_accuracy"] for h in hist], color=c[1], marker="s", label="test accuracy")
    ax2.set_ylabel("test accuracy (%)", color=c[1])
    ax2.grid(False)
    title = f"{res['model']} on {res['dataset']}: training ({100 * res['test_accuracy']:.2f}% final)"
    ax.set_title(title)
    rows = [{k: h.get(k) for k in ("epoch", "loss", "test_accuracy", "seconds")} for h in hist]
    return Figure(f"{name}-training", title, fig, ["epoch", "loss", "test_accuracy", "seconds"], rows,
                  "The teacher the SC and co-design runs start from.",
                  series={"training loss": c[0], "test accuracy": c[1]})
