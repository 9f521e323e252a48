"""What a run leaves for people: history.json and its learning curves, confusion matrices
of the two digit heads (where tens-vs-blank and ones errors sit), and the coverage/accuracy
trade-off of abstaining below a confidence threshold."""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from ..core.abstain import CoverageCurve
from ..core.digits import BLANK
from ..core.fileio import atomic_path, atomic_write_text
from .inference import LabelledLogits


def confusion(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def plot_confusions(logits: LabelledLogits, out_dir: Path, *, prefix: str) -> Dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = {}
    heads = (("tens", logits.tens_true, logits.tens), ("ones", logits.ones_true, logits.ones))
    for name, true, scores in heads:
        classes = scores.shape[1]
        matrix = confusion(true, scores.argmax(-1), classes)
        ticks = [("blank" if i == BLANK else str(i)) for i in range(classes)]
        fig, ax = plt.subplots(figsize=(6, 5))
        ax.imshow(matrix, cmap="Blues")
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(classes), ticks, rotation=45)
        ax.set_yticks(range(classes), ticks)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name} digit")
        fig.tight_layout()
        target = Path(out_dir) / f"{prefix}_{name}_confusion.png"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        written[name] = str(target)
    return written


def plot_coverage(curve: CoverageCurve, out_dir: Path, *, prefix: str,
                  threshold: Optional[float] = None) -> str:
    """Accuracy against coverage (left) and both against the threshold (right), with the
    abstain threshold marked where there is one; returns the PNG's path. A threshold between
    two candidates accepts what the higher one accepts, hence the steps to the left."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (trade, by_threshold) = plt.subplots(1, 2, figsize=(10, 4))
    trade.plot(100 * curve.coverage, 100 * curve.accuracy)
    trade.set_xlabel("coverage % (sequences answered)")
    trade.set_ylabel("accuracy % of answered")
    by_threshold.plot(curve.thresholds, 100 * curve.coverage, label="coverage",
                      drawstyle="steps-pre")
    by_threshold.plot(curve.thresholds, 100 * curve.accuracy, label="accuracy",
                      drawstyle="steps-pre")
    by_threshold.set_xlabel("confidence threshold (abstain below)")
    by_threshold.set_ylabel("%")
    if threshold is not None:
        by_threshold.axvline(threshold, color="grey", linestyle="--",
                             label=f"threshold {threshold:.3f}")
    by_threshold.legend(loc="lower left")
    for ax in (trade, by_threshold):
        ax.set_ylim(0, 102)
        ax.grid(alpha=0.3)
    fig.suptitle("abstaining below a confidence threshold")
    fig.tight_layout()
    target = Path(out_dir) / f"{prefix}_coverage.png"
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return str(target)


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
