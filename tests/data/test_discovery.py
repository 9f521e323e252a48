"""The per-frame legibility sidecar: written by the generator, read by discovery and the
datasets, and harmless where it is missing or does not fit its folder."""

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from jersey_edge.core.errors import DatasetError
from jersey_edge.data.dataset import SequenceDataset, frame_scores
from jersey_edge.data.discovery import LEGIBILITY, discover
from jersey_edge.data.synth import SynthConfig, synthesize
from jersey_edge.train.losses import FULLY_LEGIBLE, attention_loss, frame_weights

from ..train.conftest import TINY_PREPROCESS


def test_project_b_layout(tiny_dataset: Path) -> None:
    found = discover(tiny_dataset)
    assert found.skipped == {}
    assert len(found.records) == 3 * 3 * 2
    first = found.records[0]
    assert (first.label, first.track, first.sequence) == (4, "4/track_00", "4/track_00/seq_00")
    assert [p.name for p in first.frames] == [f"frame_{i:03d}.jpg" for i in range(4)]
    assert first.anchor == tiny_dataset / "4/track_00/seq_00/anchor.jpg"
    assert {r.label for r in found.records} == {4, 7, 48}
    assert len({r.track for r in found.records}) == 9


def test_project_a_layout_track_is_the_sequence(tiny_dataset_a: Path) -> None:
    found = discover(tiny_dataset_a)
    assert len(found.records) == 3 * 6
    assert all(r.track == r.sequence for r in found.records)
    assert found.records[0].sequence == "4/seq_00"


def test_sorted_and_deterministic(tiny_dataset: Path) -> None:
    records = discover(tiny_dataset).records
    assert records == sorted(records, key=lambda r: (r.label, r.sequence))
    assert records == discover(tiny_dataset).records
    # numeric label order, not string order: 4 < 7 < 48
    assert [r.label for r in records][::6] == [4, 7, 48]


def test_layout_detected_per_folder(tmp_path: Path, fake_dataset) -> None:
    fake_dataset(tmp_path, layout="A", labels=(5,), tracks=2, sequences=1)
    fake_dataset(tmp_path, layout="B", labels=(23,), tracks=2, sequences=2)
    records = discover(tmp_path).records
    assert [r.track for r in records if r.label == 5] == ["5/seq_00", "5/seq_01"]
    assert {r.track for r in records if r.label == 23} == {"23/track_00", "23/track_01"}
    assert len(records) == 2 + 4


def test_heldout_is_excluded_silently_and_discoverable(tmp_path: Path, fake_dataset) -> None:
    fake_dataset(tmp_path, labels=(4,), tracks=1, sequences=1)
    fake_dataset(tmp_path / "heldout", labels=(94,), tracks=1, sequences=1)
    found = discover(tmp_path)
    assert [r.label for r in found.records] == [4]
    assert found.skipped == {}
    assert [r.label for r in discover(tmp_path / "heldout").records] == [94]


def test_bad_entries_are_skipped_counted_and_warned_once(
        tmp_path: Path, fake_dataset, caplog: pytest.LogCaptureFixture) -> None:
    fake_dataset(tmp_path, labels=(4, 7), tracks=1, sequences=2, frames=3)
    for junk in ("cats", "07", "100"):
        (tmp_path / junk / "seq").mkdir(parents=True)
    (tmp_path / "4/track_00/seq_00/frame_000.jpg").write_bytes(b"")
    (tmp_path / "4/track_00/seq_00/frame_001.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "7/track_00/seq_01/anchor.jpg").write_bytes(b"\xff\xd8garbage")
    (tmp_path / "7/track_00/seq_01/notes.txt").write_text("ignored: not an image")
    with caplog.at_level(logging.WARNING, logger="jersey_edge"):
        found = discover(tmp_path, min_frames=2)
    assert found.skipped == {
        "empty image file": 1,
        "fewer than 2 frame(s)": 1,
        "not a label folder": 3,
        "unreadable image": 2,
    }
    assert [r.sequence for r in found.records] == [
        "4/track_00/seq_01", "7/track_00/seq_00", "7/track_00/seq_01"]
    assert found.records[-1].anchor is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "3 not a label folder" in warnings[0].getMessage()


def test_png_jpeg_accepted_and_anchor_only_folder(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "9/a/f1.jpeg")
    Image.new("RGB", (8, 8)).save(tmp_path / "9/a/f0.png")
    jpeg(tmp_path / "9/b/anchor.jpg")
    records = discover(tmp_path).records
    assert [p.name for p in records[0].frames] == ["f0.png", "f1.jpeg"]
    only_anchor = records[1]
    assert [p.name for p in only_anchor.frames] == ["anchor.jpg"]
    assert only_anchor.anchor is None


def test_sequence_of_broken_images_is_still_a_sequence(tmp_path: Path, jpeg) -> None:
    jpeg(tmp_path / "3/good/f0.jpg")
    (tmp_path / "3/broken").mkdir()
    (tmp_path / "3/broken/f0.jpg").write_bytes(b"garbage")
    found = discover(tmp_path)
    assert [r.sequence for r in found.records] == ["3/good"]
    assert found.skipped == {"fewer than 1 frame(s)": 1, "unreadable image": 1}


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        discover(tmp_path / "nope")


def test_nothing_usable_names_root_and_counts(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "3/seq").mkdir(parents=True)
    (tmp_path / "3/seq/f.jpg").write_bytes(b"")
    with pytest.raises(DatasetError) as err:
        discover(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message
    assert "1 not a label folder" in message and "1 empty image file" in message


def test_empty_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no usable sequences"):
        discover(tmp_path)


def test_copy_of_dataset_gives_same_relative_ids(tiny_dataset: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_dataset, tmp_path / "copy"))
    ids = [(r.label, r.track, r.sequence, len(r.frames)) for r in discover(copy).records]
    assert ids == [(r.label, r.track, r.sequence, len(r.frames))
                   for r in discover(tiny_dataset).records]


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
