"""Confusion matrices of the two digit heads: where tens-vs-blank and ones errors sit."""

from pathlib import Path
from typing import Dict

import numpy as np

from ..core.fileio import atomic_path
from ..core.labels import BLANK
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
