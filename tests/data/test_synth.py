"""The synthetic generator: layout, synth.json, determinism, held-out split, typed errors.

Runs are tiny (a handful of sequences with short clips) and shared across tests.
"""

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
from PIL import Image, ImageDraw

from jersey_edge.core.errors import DatasetError, InputError
from jersey_edge.data.synth import DEFAULT_HELDOUT, SynthConfig, synthesize
from jersey_edge.data.synth.block_digits import block_masks, sample_block_style
from jersey_edge.data.synth.config import SHARES, resolve_labels
from jersey_edge.data.synth.printing import load_font
from jersey_edge.data.synth.style import FONT_FILES
from jersey_edge.data.synth.track import plan_tracks

SMALL = SynthConfig(frames=(4, 9))
OPTIONS = dict(sequences=4, labels=[1, 12, 21], heldout=[11], progress=False, config=SMALL)


def _hashes(root: Path) -> Dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    synthesize(out, seed=0, workers=1, **OPTIONS)
    return out


def _sequences(root: Path):
    return sorted(p for p in root.glob("*/t*/s*") if p.is_dir())


def test_layout_and_anchor(synth: Path) -> None:
    sequences = _sequences(synth)
    assert len(sequences) == 4
    for seq in sequences:
        label, track, name = seq.relative_to(synth).parts
        assert label in {"1", "12", "21"} and track.startswith("t") and name.startswith("s")
        frames = sorted(seq.glob("frame_*.jpg"))
        assert SMALL.frames[0] <= len(frames) <= SMALL.frames[1]
        assert [f.name for f in frames] == [f"frame_{i:03d}.jpg" for i in range(len(frames))]
        anchor = (seq / "anchor.jpg").read_bytes()
        assert any(anchor == f.read_bytes() for f in frames)
        for frame in frames:
            with Image.open(frame) as image:
                width, height = image.size
                assert image.format == "JPEG"
            assert 40 <= width <= 140
            assert 1.5 <= height / width <= 2.3
    tracks = [p.name for p in synth.glob("*/t*")] + [p.name for p in synth.glob("heldout/*/t*")]
    assert len(tracks) == len(set(tracks))
    assert not list(synth.rglob(".*"))  # no temporary folders or in-progress marker left


def test_heldout_only_under_heldout(synth: Path) -> None:
    assert not (synth / "11").exists()
    held = sorted(p for p in (synth / "heldout").glob("*/t*/s*") if p.is_dir())
    assert {p.relative_to(synth).parts[1] for p in held} == {"11"}
    assert len(held) == 3  # at least a few per held-out label
    assert (synth / "heldout" / "11").is_dir()


def test_manifest(synth: Path) -> None:
    manifest = json.loads((synth / "synth.json").read_text())
    assert manifest["generator"] == "jersey-edge synth" and manifest["version"] >= 1
    assert manifest["seed"] == 0
    assert manifest["fonts"] == sorted(set(FONT_FILES))
    assert manifest["labels"] == [1, 12, 21] and manifest["heldout"] == [11]
    assert manifest["config"]["difficulty"] == SMALL.difficulty
    assert manifest["config"]["frames"] == list(SMALL.frames)
    for knob in SHARES + ("box_jitter",):  # every variety knob is on record
        assert manifest["config"][knob] == getattr(SMALL, knob)
    assert manifest["counts"]["sequences"] == 4 and manifest["counts"]["heldout_sequences"] == 3
    per_label = manifest["splits"]["main"]["sequences_per_label"]
    assert sorted(per_label) == ["1", "12", "21"] and sum(per_label.values()) == 4
    assert manifest["splits"]["heldout"]["sequences_per_label"] == {"11": 3}
    legibility = manifest["legibility"]
    assert all(0 <= q <= 1 for q in legibility["frame_quartiles"] + legibility["anchor_quartiles"])
    frames = len(list(synth.rglob("frame_*.jpg")))
    assert manifest["counts"]["frames"] == frames


@pytest.mark.parametrize("face", sorted(set(FONT_FILES)))
def test_every_number_face_draws_ten_distinct_digits(face: str) -> None:
    font = load_font(face)
    drawn = set()
    for digit in "0123456789":
        canvas = Image.new("L", (160, 160))
        ImageDraw.Draw(canvas).text((20, 0), digit, font=font, fill=255)
        ink = np.asarray(canvas) > 127
        assert ink.sum() > 500, (face, digit)  # a glyph, not an empty box
        drawn.add(ink.tobytes())
    assert len(drawn) == 10, face


@pytest.mark.parametrize("seed", range(6))
def test_block_numerals_draw_ten_distinct_digits_with_open_counters(seed: int) -> None:
    style = sample_block_style(np.random.default_rng(seed))
    drawn = set()
    for digit in "0123456789":
        full, inner = block_masks(digit, style, 120, outline=7)
        assert full.size == inner.size
        fill, outlined = np.asarray(inner) > 127, np.asarray(full) > 127
        assert fill.sum() > 1500 and (outlined & ~fill).sum() > 0, (style, digit)
        drawn.add(fill.tobytes())
    assert len(drawn) == 10, style
    zero = np.asarray(block_masks("0", style, 120, outline=7)[0]) > 127
    assert not zero[60, zero.shape[1] // 2]  # the middle of a 0 stays open, outline and all


def test_deterministic_and_worker_independent(synth: Path, tmp_path: Path) -> None:
    synthesize(tmp_path / "again", seed=0, workers=2, **OPTIONS)
    assert _hashes(tmp_path / "again") == _hashes(synth)
    synthesize(tmp_path / "other", seed=1, workers=1, **OPTIONS)
    other = _hashes(tmp_path / "other")
    assert set(other.values()) - {_hashes(synth)["synth.json"]} != set(_hashes(synth).values())
    frames = [k for k in other if k.endswith(".jpg")]
    assert all(other[k] != _hashes(synth).get(k) for k in frames)


def test_rerun_replaces_previous_output(tmp_path: Path) -> None:
    out, options = tmp_path / "data", {**OPTIONS, "sequences": 1, "heldout": []}
    synthesize(out, seed=0, workers=1, **options)
    first = _hashes(out)
    (out / "17").mkdir()  # a label folder left by an older, bigger run
    synthesize(out, seed=0, workers=1, **options)
    assert _hashes(out) == first and not (out / "17").exists()


def test_refuses_foreign_or_unfinished_folders(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not a synthetic dataset"):
        synthesize(foreign, **OPTIONS)
    (foreign / "synth.json").write_text("{}")
    with pytest.raises(DatasetError, match="refusing to delete"):
        synthesize(foreign, **OPTIONS)
    assert (foreign / "notes.txt").read_text() == "mine"
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(InputError):
        synthesize(afile, **OPTIONS)


def test_interrupted_run_is_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "data"
    (out / "12" / ".t00000.tmp" / "s0").mkdir(parents=True)
    (out / ".synth-in-progress").write_text("")
    synthesize(out, seed=0, workers=1, **{**OPTIONS, "sequences": 1, "heldout": []})
    assert not (out / "12" / ".t00000.tmp").exists()
    assert (out / "synth.json").is_file() and not (out / ".synth-in-progress").exists()


@pytest.mark.parametrize(
    "options",
    [
        dict(labels=[5, 100]),
        dict(labels=[-1]),
        dict(labels=[1, 12, 21], heldout=[12]),
        dict(labels=[1, 12, 21], heldout=[7]),
        dict(labels=[1, 2], heldout=[21]),  # tens digit 2 never seen as a tens digit
        dict(sequences=0),
        dict(seed=-1),
        dict(workers=-1),
        dict(config=SynthConfig(difficulty=1.5)),
        dict(config=SynthConfig(frames=(0, 4))),
        dict(config=SynthConfig(block_digits=1.5)),
        dict(config=SynthConfig(distractors=-0.1)),
        dict(config=SynthConfig(box_jitter=4.0)),
    ],
)
def test_bad_options_raise_input_error(tmp_path: Path, options: dict) -> None:
    with pytest.raises(InputError):
        synthesize(tmp_path / "x", progress=False, **options)
    assert not (tmp_path / "x").exists()


def test_default_heldout_digits_are_seen_in_both_positions() -> None:
    labels, heldout = resolve_labels(None, None)
    assert heldout == tuple(sorted(DEFAULT_HELDOUT)) and len(heldout) >= 6
    assert len(labels) == 100 - len(heldout) and not set(labels) & set(heldout)
    tens = {n // 10 for n in labels if n >= 10}
    ones = {n % 10 for n in labels}
    for number in heldout:
        assert number >= 10 and number // 10 in tens and number % 10 in ones
        assert int(str(number)[::-1]) in labels  # its reversal is trained on


def test_default_plan_spreads_sequences() -> None:
    labels, heldout = resolve_labels(None, None)
    tracks = plan_tracks(2000, labels, heldout, 0, SynthConfig())
    main = [t for t in tracks if t.split == "main"]
    per_label = {label: sum(t.n_sequences for t in main if t.label == label) for label in labels}
    assert sum(per_label.values()) == 2000 and set(per_label.values()) <= {21, 22}
    held = [t for t in tracks if t.split == "heldout"]
    assert {t.label for t in held} == set(heldout)
    assert sum(t.n_sequences for t in held) == 22 * len(heldout)
    assert all(1 <= t.n_sequences <= 3 for t in tracks)
    assert len({t.name for t in tracks}) == len(tracks)
    assert plan_tracks(2000, labels, heldout, 0, SynthConfig()) == tracks


def test_config_is_frozen_and_replaceable() -> None:
    harder = replace(SynthConfig(), difficulty=0.9)
    assert harder.difficulty == 0.9 and SynthConfig().difficulty == 0.55
