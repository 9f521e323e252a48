"""The per-frame legibility sidecar: written by the generator, read by discovery and the
datasets, and harmless where it is missing or does not fit its folder."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from jersey_edge.data.dataset import SequenceDataset, frame_scores
from jersey_edge.data.discovery import discover
from jersey_edge.data.legibility import LEGIBILITY
from jersey_edge.data.synth import SynthConfig, synthesize
from jersey_edge.train.legibility_loss import FULLY_LEGIBLE, attention_loss, frame_weights

from ..train.conftest import TINY_PREPROCESS


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("legibility") / "data"
    synthesize(out, sequences=3, labels=[1, 12, 21], heldout=[11], seed=0, workers=1,
               progress=False, config=SynthConfig(frames=(4, 6)))
    return out


def test_the_generator_scores_every_frame_and_discovery_reads_it(synth):
    records = discover(synth).records
    assert records
    for record in records:
        sidecar = json.loads((synth / record.sequence / LEGIBILITY).read_text())["frames"]
        assert record.legibility == tuple(sidecar)
        assert len(sidecar) == len(record.frames)
        assert all(0.0 <= s <= 1.0 for s in sidecar)


def test_items_carry_the_drawn_frames_scores(synth):
    record = discover(synth).records[0]
    item = SequenceDataset([record], preprocess=TINY_PREPROCESS, max_frames=8)[0]
    count = int(item["mask"].sum())
    assert item["legibility_known"] == 1.0
    assert torch.allclose(item["legibility"][:count], torch.tensor(record.legibility[:count]))
    assert torch.all(item["legibility"][count:] == 0)


def test_a_missing_or_unfitting_sidecar_counts_every_frame_fully(synth, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(synth, copy)
    folders = sorted({(copy / r.sequence) for r in discover(copy).records})
    (folders[0] / LEGIBILITY).unlink()
    (folders[1] / LEGIBILITY).write_text(json.dumps({"frames": [0.5]}))  # wrong count
    broken = {folders[0], folders[1]}
    for record in discover(copy).records:
        if copy / record.sequence in broken:
            assert record.legibility is None
            item = SequenceDataset([record], preprocess=TINY_PREPROCESS, max_frames=8)[0]
            assert item["legibility_known"] == 0.0
            assert torch.equal(item["legibility"], item["mask"])


def test_the_anchor_scores_the_sequences_best_frame():
    frames = (Path("a.jpg"), Path("b.jpg"), Path("c.jpg"))
    scores, known = frame_scores((0.1, 0.7, 0.3), frames, Path("anchor.jpg"),
                                 [Path("anchor.jpg"), Path("c.jpg")], max_frames=4)
    assert known == 1.0
    assert torch.allclose(scores, torch.tensor([0.7, 0.3, 0.0, 0.0]))


def test_frame_weights_and_the_attention_target():
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    legibility = torch.tensor([[0.0, FULLY_LEGIBLE / 2, 0.9, 0.0], [0.2, 0.2, 0.0, 0.0]])
    known = torch.tensor([1.0, 0.0])
    weights = frame_weights(legibility, known, mask)
    assert torch.allclose(weights, torch.tensor([[0.0, 0.5, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]]))
    target = torch.tensor([[0.0, 0.15, 0.9, 0.0], [0.5, 0.5, 0.0, 0.0]])
    target = target / target.sum(dim=1, keepdim=True)
    assert attention_loss(target, legibility, known, mask) < 1e-4
    uniform = mask / mask.sum(dim=1, keepdim=True)
    assert attention_loss(uniform, legibility, known, mask) > 0.1
    # the sequence without scores adds nothing, whatever its attention
    assert torch.allclose(attention_loss(torch.stack([target[0], uniform[1]]), legibility,
                                         known, mask),
                          attention_loss(torch.stack([target[0], target[1]]), legibility,
                                         known, mask))
