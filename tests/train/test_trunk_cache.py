from dataclasses import replace

import numpy as np
import torch

from jersey_edge.data.dataset import SequenceDataset
from jersey_edge.data.discovery import discover
from jersey_edge.model.net import build_model, load_checkpoint
from jersey_edge.train.inference import native_cpu_bf16
from jersey_edge.train.loop import train
from jersey_edge.train.trunk_cache import CachedSequenceDataset, build_trunk_cache

from .conftest import TINY_MODEL, TINY_PREPROCESS

CPU = torch.device("cpu")


def test_cached_eval_items_give_the_same_embeddings_as_pixels(tiny_dataset):
    records = discover(tiny_dataset).records
    model = build_model(TINY_MODEL).eval()
    pixels = SequenceDataset(records, preprocess=TINY_PREPROCESS, max_frames=4)
    cache = build_trunk_cache(model, pixels, device=CPU, workers=0, desc="",
                              progress=False)
    assert cache.features.dtype == torch.float16
    assert len(cache.rows) == cache.features.shape[0] == sum(len(r.frames[:4]) for r in records)
    cached = CachedSequenceDataset(pixels, cache)
    with torch.no_grad():
        for index in (0, len(records) - 1):
            a, b = pixels[index], cached[index]
            assert torch.equal(a["mask"], b["mask"]) and a["ones"] == b["ones"]
            from_pixels = model.embed(a["frames"][None])
            from_cache = model.embed_trunk_features(b["features"][None])
            assert torch.allclose(from_pixels, from_cache, atol=2e-2)  # fp16 cache


def test_bf16_cache_stays_close_to_the_fp32_cache(tiny_dataset):
    """bf16 caching is used only where the CPU has native bf16; elsewhere it is a no-op."""
    records = discover(tiny_dataset).records
    model = build_model(TINY_MODEL).eval()
    pixels = SequenceDataset(records, preprocess=TINY_PREPROCESS, max_frames=4)
    fp32, bf16 = (build_trunk_cache(model, pixels, device=CPU, workers=0, desc="", bf16=flag,
                                    progress=False).features.float() for flag in (False, True))
    error = float((bf16 - fp32).abs().max() / fp32.abs().max())
    if native_cpu_bf16(CPU):
        assert 0 < error < 0.05
    else:
        assert error == 0


def test_cached_training_items_sample_like_the_pixel_dataset(tiny_dataset):
    records = discover(tiny_dataset).records
    model = build_model(TINY_MODEL).eval()
    source = SequenceDataset(records, preprocess=TINY_PREPROCESS, max_frames=3, train=True,
                             frame_drop=0.3, seed=5)
    cache = build_trunk_cache(model, source, device=CPU, workers=0, desc="",
                              progress=False)
    anchors = sum(r.anchor is not None for r in records)
    assert cache.features.shape[0] == sum(len(r.frames) for r in records) + anchors
    cached = CachedSequenceDataset(source, cache)
    masks = []
    for epoch in (0, 1):
        cached.set_epoch(epoch)
        assert source.epoch == epoch
        for index in range(len(records)):
            a, b = source[index], cached[index]
            assert torch.equal(a["mask"], b["mask"]) and a["tens"] == b["tens"]
            masks.append(b["mask"].sum().item())
    assert min(masks) < 3  # frame drop reached the cached items too


def test_training_from_the_cache_and_resuming(tiny_dataset, tmp_path, tiny_train_config):
    config = replace(tiny_train_config, cache_trunk=True, frame_loss_weight=1.0)
    first = train(tiny_dataset, tmp_path, config=replace(config, epochs=1),
                  model_config=TINY_MODEL, preprocess=TINY_PREPROCESS, device="cpu",
                  progress=False)
    assert first.epochs_run == 1
    state = load_checkpoint(tmp_path / "last.pt").extra
    assert set(state["frame_head_state"]) == {"tens.weight", "tens.bias", "ones.weight",
                                               "ones.bias"}
    resumed = train(tiny_dataset, tmp_path, config=config, resume=True, device="cpu",
                    progress=False)
    assert [h["epoch"] for h in resumed.history] == [0]  # resume keeps the saved config
    best = load_checkpoint(tmp_path / "best.pt")
    assert "frame_head_state" not in best.extra and np.isfinite(best.extra["val_number_acc"])
