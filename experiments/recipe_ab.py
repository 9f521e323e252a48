"""A/B of training-recipe changes at the demo's budget, on one machine, one dataset.

Each arm trains the `demo` preset (12 epochs, the same data, seed and steps) with the
changes it names, then evaluates the test split and the held-out combinations. The arms
differ only in the recipe, so their difference is the change's effect; read it against the
Wilson intervals printed beside it. Results go to OUT/<arm>/ab.json.

    python experiments/recipe_ab.py --data-root data/synth --out runs/ab baseline shared

Run arms in parallel (one process each, `--threads 1`) to pair them under the same load.
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from jersey_edge.model.config import ModelConfig
from jersey_edge.train.config import preset
from jersey_edge.train.evaluate import evaluate
from jersey_edge.train.loop import train

ARMS = {
    # main as of 69f3af1: a linear classifier per position, every frame counted fully
    "baseline": (dict(legibility_weight=0.0), dict(shared_digits=False)),
    "shared": (dict(legibility_weight=0.0), dict(shared_digits=True)),
    "legibility": (dict(legibility_weight=0.5), dict(shared_digits=False)),
    "shared+legibility": (dict(legibility_weight=0.5), dict(shared_digits=True)),
}


def run_arm(name: str, data_root: Path, out: Path) -> dict:
    recipe, model = ARMS[name]
    save_dir = out / name
    config = dataclasses.replace(preset("demo"), **recipe)
    started = time.perf_counter()
    result = train(data_root, save_dir, config=config, model_config=ModelConfig(**model),
                   progress=False, on_epoch=lambda line: print(f"[{name}] {line}", flush=True))
    seconds = time.perf_counter() - started
    best = save_dir / "best.pt"
    test = evaluate(best, split="test", progress=False)
    anchor = evaluate(best, split="test", max_frames=1, progress=False)
    row = {"arm": name, "recipe": recipe, "model": model, "train_seconds": round(seconds),
           "best_val": result.best_val_acc, "best_epoch": result.best_epoch + 1,
           "test": test.number_acc, "test_ci95": list(test.number_ci95), "test_n": test.n,
           "tens": test.tens_acc, "ones": test.ones_acc, "anchor_only": anchor.number_acc,
           "heldout": test.heldout, "threads": torch.get_num_threads()}
    (save_dir / "ab.json").write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("data/synth"))
    parser.add_argument("--out", type=Path, default=Path("runs/ab"))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("arms", nargs="+", choices=sorted(ARMS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in args.arms:
        print(json.dumps(run_arm(name, args.data_root, args.out)), flush=True)


if __name__ == "__main__":
    main()
