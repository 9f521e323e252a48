
import logging
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
from PIL import Image

from jersey_edge.core.digits import BLANK
from jersey_edge.core.errors import DatasetError
from jersey_edge.core.preprocess import (
    PreprocessConfig,
    linspace_indices,
    load_rgb,
    network_size,
    preprocess_frame,
    preprocess_frames,
    resize_pad,
)
from jersey_edge.data.dataset import (
    AugmentConfig,
    ColourJitter,
    SequenceDataset,
    add_noise,
    augment_image,
    make_loader,
    random_indices,
    sample_frames,
    to_input,
)
from jersey_edge.data.discovery import SequenceRecord, discover

PRE = PreprocessConfig()


def fake_record(n_frames: int, anchor: bool = True) -> SequenceRecord:
    frames = tuple(Path(f"s/f{i:03d}.jpg") for i in range(n_frames))
    return SequenceRecord(7, "7/s", "7/s", frames, Path("s/anchor.jpg") if anchor else None)


# --- sampling ---------------------------------------------------------------------------

def test_eval_is_linspace_without_anchor() -> None:
    record = fake_record(40)
    picked = sample_frames(record, max_frames=16, train=False)
    assert picked == [record.frames[i] for i in linspace_indices(40, 16)]
    assert sample_frames(fake_record(5), max_frames=16, train=False) == list(fake_record(5).frames)


def test_single_frame_baseline_is_anchor_else_first() -> None:
    assert sample_frames(fake_record(9), max_frames=1, train=False) == [Path("s/anchor.jpg")]
    no_anchor = fake_record(9, anchor=False)
    assert sample_frames(no_anchor, max_frames=1, train=False) == [no_anchor.frames[0]]


def test_train_prepends_anchor_within_budget() -> None:
    record = fake_record(40)
    picked = sample_frames(record, max_frames=16, train=True, rng=np.random.default_rng(0),
                           frame_drop=0.0)
    assert len(picked) == 16 and picked[0] == record.anchor
    rest = [record.frames.index(p) for p in picked[1:]]
    assert rest == sorted(set(rest)) and len(rest) == 15  # time order, no repeats
    plain = sample_frames(record, max_frames=16, train=True, rng=np.random.default_rng(0),
                          frame_drop=0.0, use_anchor=False)
    assert record.anchor not in plain and len(plain) == 16


def test_train_jitters_frames_between_draws_and_keeps_short_sequences_whole() -> None:
    record = fake_record(40, anchor=False)
    draws = {tuple(sample_frames(record, max_frames=4, train=True,
                                 rng=np.random.default_rng(seed), frame_drop=0.0))
             for seed in range(20)}
    assert len(draws) > 15  # temporal jitter: other frames each epoch
    seen = {p for draw in draws for p in draw}
    assert len(seen) > 30  # and over epochs, most of the sequence
    short = fake_record(3, anchor=False)
    assert sample_frames(short, max_frames=16, train=True, rng=np.random.default_rng(0),
                         frame_drop=0.0) == list(short.frames)


def test_random_indices_are_a_sorted_subset() -> None:
    rng = np.random.default_rng(0)
    for length, count in ((10, 4), (4, 10), (5, 5), (1, 3)):
        picked = random_indices(length, count, rng)
        assert picked == sorted(set(picked)) and len(picked) == min(length, count)
        assert all(0 <= i < length for i in picked)


def test_frame_drop_never_drops_first_frame() -> None:
    record = fake_record(30, anchor=False)
    lengths = []
    for seed in range(50):
        undropped = sample_frames(record, max_frames=16, train=True,
                                  rng=np.random.default_rng(seed), frame_drop=0.0)
        picked = sample_frames(record, max_frames=16, train=True,
                               rng=np.random.default_rng(seed), frame_drop=0.5)
        assert picked[0] == undropped[0] and set(picked) <= set(undropped)
        lengths.append(len(picked))
    assert min(lengths) < 16 and 6 < np.mean(lengths) < 11  # ~1 + 15/2 kept
    always = sample_frames(record, max_frames=16, train=True, rng=np.random.default_rng(0),
                           frame_drop=0.999999)
    assert len(always) == 1


# --- dataset ----------------------------------------------------------------------------

def test_eval_item_shapes_mask_targets_and_pixels(tiny_dataset: Path) -> None:
    records = discover(tiny_dataset).records
    ds = SequenceDataset(records, preprocess=PRE, max_frames=16)
    item = ds[0]
    assert item["frames"].shape == (16, 3, PRE.height, PRE.width)
    assert item["frames"].dtype == torch.float32 and item["mask"].dtype == torch.float32
    assert item["mask"].tolist() == [1.0] * 4 + [0.0] * 12
    assert torch.count_nonzero(item["frames"][4:]) == 0
    assert (item["tens"].item(), item["ones"].item()) == (BLANK, 4)
    assert item["tens"].dtype == torch.int64 and item["index"] == 0
    expected = preprocess_frames(list(records[0].frames), PRE)  # the runtime's preprocessing
    assert np.abs(item["frames"][:4].numpy() - expected).max() <= 1e-5
    last = ds[len(ds) - 1]
    assert (last["tens"].item(), last["ones"].item()) == (4, 8)


def test_train_item_deterministic_per_seed_epoch_index(tiny_dataset: Path) -> None:
    records = discover(tiny_dataset).records
    kwargs = dict(preprocess=PRE, max_frames=8, train=True, frame_drop=0.3,
                  augment=AugmentConfig(), seed=3)
    ds = SequenceDataset(records, **kwargs)
    ds.set_epoch(2)
    a = ds[5]
    resumed = SequenceDataset(records, **kwargs)  # a resumed run: fresh object, same epoch
    resumed.set_epoch(2)
    b = resumed[5]
    assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["mask"], b["mask"])
    ds.set_epoch(3)
    assert not torch.equal(ds[5]["frames"], a["frames"])


def test_augmentation_only_in_training(tiny_dataset: Path) -> None:
    records = discover(tiny_dataset).records[:2]
    plain = SequenceDataset(records, preprocess=PRE, train=True, frame_drop=0.0)
    augmented = SequenceDataset(records, preprocess=PRE, train=True, frame_drop=0.0,
                                augment=AugmentConfig())
    disabled = SequenceDataset(records, preprocess=PRE, train=True, frame_drop=0.0,
                               augment=AugmentConfig(enabled=False))
    evaluated = SequenceDataset(records, preprocess=PRE, train=False, augment=AugmentConfig())
    assert not torch.equal(plain[0]["frames"], augmented[0]["frames"])
    assert torch.equal(plain[0]["frames"], disabled[0]["frames"])
    expected = preprocess_frames(list(records[0].frames), PRE)
    assert np.abs(evaluated[0]["frames"][:4].numpy() - expected).max() <= 1e-5
    # training prepends the anchor; evaluation does not
    assert plain[0]["mask"].sum() == 5 and evaluated[0]["mask"].sum() == 4


def test_colour_jitter_is_per_sequence(tmp_path: Path, jpeg) -> None:
    for i in range(3):
        jpeg(tmp_path / "5" / "seq" / f"f{i}.jpg", size=(40, 64), text="5")
    # identical frames + only colour jitter -> identical outputs within the sequence
    record = discover(tmp_path).records[0]
    cfg = AugmentConfig(rotation_deg=0.0, blur_p=0.0, noise_p=0.0)
    ds = SequenceDataset([record], preprocess=PRE, train=True, frame_drop=0.0, augment=cfg)
    frames = ds[0]["frames"]
    assert torch.equal(frames[0], frames[1]) and torch.equal(frames[0], frames[2])
    ds.set_epoch(1)
    assert not torch.equal(ds[0]["frames"][0], frames[0])


def test_unreadable_frame_skipped_and_logged_once(
        fake_dataset, caplog: pytest.LogCaptureFixture) -> None:
    root = fake_dataset(labels=(7,), tracks=1, sequences=1, anchor=False)
    record = discover(root).records[0]
    record.frames[1].write_bytes(b"\xff\xd8 truncated after discovery")
    ds = SequenceDataset([record], preprocess=PRE, max_frames=16)
    with caplog.at_level(logging.WARNING, logger="jersey_edge"):
        assert ds[0]["mask"].sum() == 3
        assert ds[0]["mask"].sum() == 3
    assert len(caplog.records) == 1 and "frame_001.jpg" in caplog.records[0].getMessage()
    for frame in record.frames:
        frame.write_bytes(b"")
    with pytest.raises(DatasetError, match="7/track_00/seq_00"):
        ds[0]


def test_loader_batches_and_deterministic_shuffle(tiny_dataset: Path) -> None:
    records = discover(tiny_dataset).records
    ds = SequenceDataset(records, preprocess=PRE, max_frames=4, train=True, seed=1)
    loader = make_loader(ds, batch_size=5, shuffle=True, workers=0, seed=1)
    ds.set_epoch(0)
    order0 = torch.cat([b["index"] for b in loader]).tolist()
    assert sorted(order0) == list(range(len(ds)))
    assert torch.cat([b["index"] for b in loader]).tolist() == order0
    ds.set_epoch(1)
    batch = next(iter(loader))
    assert batch["frames"].shape == (5, 4, 3, PRE.height, PRE.width)
    assert batch["mask"].shape == (5, 4) and batch["tens"].dtype == torch.int64
    assert torch.cat([b["index"] for b in loader]).tolist() != order0


def test_worker_matches_main_process(tiny_dataset: Path) -> None:
    records = discover(tiny_dataset).records[:4]
    ds = SequenceDataset(records, preprocess=PRE, max_frames=4, train=True,
                         augment=AugmentConfig(), seed=0)
    ds.set_epoch(4)
    main = next(iter(make_loader(ds, batch_size=4, shuffle=True, workers=0, seed=0)))
    worker = next(iter(make_loader(ds, batch_size=4, shuffle=True, workers=1, seed=0)))
    assert torch.equal(main["index"], worker["index"])
    assert torch.equal(main["frames"], worker["frames"])


CONFIGS = [PreprocessConfig(), PreprocessConfig(height=192, width=96, sharpness=1.0,
                                                mean=(123.7, 116.3, 103.5),
                                                std=(58.4, 57.1, 57.4))]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_torch_matches_numpy_runtime(odd_frames: Dict[str, Path], cfg: PreprocessConfig) -> None:
    for name, path in odd_frames.items():
        # decoded and resized as the dataset does unaugmented frames (draft mode for large JPEGs)
        torch_side = to_input(resize_pad(load_rgb(path, fit=network_size(cfg)), cfg), cfg)
        assert torch_side.dtype == torch.float32, name
        assert tuple(torch_side.shape) == (3, cfg.height, cfg.width), name
        numpy_side = preprocess_frame(path, cfg)
        assert np.abs(torch_side.numpy() - numpy_side).max() <= 1e-5, name


def test_padding_is_grey(odd_frames: Dict[str, Path]) -> None:
    cfg = PreprocessConfig()
    wide = to_input(resize_pad(load_rgb(odd_frames["wide"]), cfg), cfg)
    grey = (cfg.pad_value - cfg.mean[0]) / cfg.std[0]
    assert torch.allclose(wide[:, 0, :], torch.full((3, cfg.width), grey))


def crop() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (60, 40, 3), dtype=np.uint8))


NEUTRAL = ColourJitter(1.0, 1.0, 1.0)


def test_neutral_augmentation_is_identity() -> None:
    cfg = AugmentConfig(rotation_deg=0.0, blur_p=0.0)
    out = augment_image(crop(), cfg, NEUTRAL, np.random.default_rng(0), fill=128)
    assert np.array_equal(np.asarray(out), np.asarray(crop()))


@pytest.mark.parametrize("cfg, colour", [
    (AugmentConfig(rotation_deg=0.0, blur_p=0.0), ColourJitter(1.2, 1.0, 1.0)),
    (AugmentConfig(rotation_deg=0.0, blur_p=0.0), ColourJitter(1.0, 0.8, 1.0)),
    (AugmentConfig(rotation_deg=0.0, blur_p=0.0), ColourJitter(1.0, 1.0, 0.8)),
    (AugmentConfig(rotation_deg=5.0, blur_p=0.0), NEUTRAL),
    (AugmentConfig(rotation_deg=0.0, blur_p=1.0), NEUTRAL),
])
def test_each_augmentation_changes_pixels(cfg: AugmentConfig, colour: ColourJitter) -> None:
    out = augment_image(crop(), cfg, colour, np.random.default_rng(1), fill=128)
    assert out.size == crop().size and out.mode == "RGB"
    assert not np.array_equal(np.asarray(out), np.asarray(crop()))


def test_noise_in_pixel_units_and_clipped() -> None:
    pre = PreprocessConfig()
    x = torch.zeros(3, pre.height, pre.width)
    assert add_noise(x, AugmentConfig(noise_p=0.0), pre, np.random.default_rng(0)) is x
    cfg = AugmentConfig(noise_p=1.0, noise_std=(0.02, 0.02))
    noisy = add_noise(x, cfg, pre, np.random.default_rng(0))
    # std 0.02 of the 0-255 range, expressed in normalised units (/128)
    assert noisy.std().item() == pytest.approx(0.02 * 255 / 128, rel=0.05)
    bright = torch.full_like(x, (255 - 127) / 128)
    assert add_noise(bright, cfg, pre, np.random.default_rng(0)).max().item() <= bright.max()
