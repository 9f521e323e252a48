import json
from dataclasses import asdict, replace

import pytest
import torch

from jersey_edge.core.digits import number_to_digits
from jersey_edge.core.errors import DatasetError, InputError
from jersey_edge.core.preprocess import PreprocessConfig
from jersey_edge.data.dataset import AugmentConfig
from jersey_edge.data.online import OnlineSynthDataset, folder_synth_config
from jersey_edge.data.synth import SynthConfig

TINY = PreprocessConfig(height=64, width=32)
LABELS = (7, 23, 58)


def dataset(**kwargs):
    options = dict(size=6, synth=SynthConfig(), preprocess=TINY, max_frames=4,
                   augment=AugmentConfig(), seed=5)
    return OnlineSynthDataset(LABELS, **{**options, **kwargs})


def test_items_are_a_function_of_seed_epoch_and_index() -> None:
    first, again = dataset(), dataset()
    item = first[4]
    assert item["frames"].shape == (4, 3, 64, 32) and item["mask"].sum() >= 1
    assert torch.equal(item["frames"], again[4]["frames"])
    first.set_epoch(1)
    assert not torch.equal(first[4]["frames"], item["frames"])  # a fresh sequence each epoch
    assert not torch.equal(again[3]["frames"], item["frames"])


def test_every_label_comes_equally_often_with_its_digits() -> None:
    data = dataset()
    seen = [(int(data[i]["tens"]), int(data[i]["ones"])) for i in range(len(data))]
    assert sorted(seen) == sorted(2 * [number_to_digits(n) for n in LABELS])


def test_bad_options_are_input_errors() -> None:
    with pytest.raises(InputError):
        dataset(size=0)
    with pytest.raises(InputError):
        OnlineSynthDataset([], size=1, synth=SynthConfig(), preprocess=TINY, max_frames=4)


def test_folder_config_is_read_from_synth_json(tmp_path) -> None:
    assert folder_synth_config(tmp_path) == SynthConfig()  # a real dataset: defaults
    wanted = replace(SynthConfig(), difficulty=0.8, frames=(6, 12))
    (tmp_path / "synth.json").write_text(json.dumps({"config": asdict(wanted)}))
    assert folder_synth_config(tmp_path) == wanted
    (tmp_path / "synth.json").write_text(json.dumps({"config": {"difficulty": 3.0}}))
    with pytest.raises(InputError):
        folder_synth_config(tmp_path)
    (tmp_path / "synth.json").write_text("{")
    with pytest.raises(DatasetError):
        folder_synth_config(tmp_path)
