"""history.json and curves.png, rewritten atomically after every epoch."""

import json
from pathlib import Path
from typing import Any, Dict, List

from ..core.fileio import atomic_path, atomic_write_text

HISTORY = "history.json"
CURVES = "curves.png"


def write_history(save_dir: Path, history: List[Dict[str, Any]]) -> None:
    text = json.dumps(history, indent=2, allow_nan=False)  # strict JSON: no NaN tokens
    atomic_write_text(Path(save_dir) / HISTORY, text + "\n")
    plot_curves(history, Path(save_dir) / CURVES)


def plot_curves(history: List[Dict[str, Any]], out: Path) -> None:
    """Loss and number accuracy per epoch: the two things to look at after a run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] + 1 for h in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train loss")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("loss (tens + ones CE, + frame loss if on)")
    loss_ax.legend()
    acc_ax.plot(epochs, [h["train_number_acc"] for h in history], marker="o", label="train")
    acc_ax.plot(epochs, [h["val_number_acc"] for h in history], marker="o", label="val (EMA)")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("number accuracy")
    acc_ax.set_ylim(0, 1)
    acc_ax.legend()
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
