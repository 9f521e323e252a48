"""`data synth-video`: a tiny clip decodes to its size and length, its ground truth is a MOT
file of boxes inside the frame, its numbers are its tracks', and a seed fixes it."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from jersey_edge.core.errors import BackendUnavailableError, InputError
from jersey_edge.data.synth.clip import ClipConfig, parse_size, synthesize_clip
from jersey_edge.video.mot import frames_of, read_mot

av = pytest.importorskip("av")
TINY = ClipConfig(players=3, frames=12, width=160, height=96, seed=3)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clip") / "tiny"
    synthesize_clip(out, TINY, progress=False)
    return out


def test_the_video_has_every_frame_at_its_size_and_rate(clip):
    with av.open(str(clip / "clip.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert float(stream.average_rate) == TINY.fps
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(frames) == TINY.frames
    assert {frame.shape for frame in frames} == {(TINY.height, TINY.width, 3)}
    assert len({frame.tobytes() for frame in frames}) > 1  # the camera pans, players move


def test_ground_truth_boxes_lie_inside_the_frame_once_per_track(clip):
    boxes = read_mot(clip / "gt.txt")
    by_frame = dict(frames_of(boxes))
    assert set(by_frame) <= set(range(1, TINY.frames + 1))
    for box in boxes:
        x0, y0, x1, y1 = box.xyxy
        assert 0 <= x0 < x1 <= TINY.width and 0 <= y0 < y1 <= TINY.height, box
    manifest = json.loads((clip / "clip.json").read_text())
    assert manifest["boxes"] == len(boxes)


def test_clip_json_numbers_are_the_tracks_numbers(clip):
    manifest = json.loads((clip / "clip.json").read_text())
    assert (manifest["width"], manifest["height"]) == (TINY.width, TINY.height)
    assert (manifest["frames"], manifest["fps"], manifest["seed"]) == (TINY.frames, TINY.fps,
                                                                        TINY.seed)
    assert manifest["generator"] == "jersey-edge synth-video" and manifest["version"] >= 1
    numbers = manifest["numbers"]
    track_ids = {box.track_id for box in read_mot(clip / "gt.txt")}
    assert {int(k) for k in numbers} == track_ids == {1, 2, 3}
    assert len(set(numbers.values())) == 3 and all(1 <= n <= 99 for n in numbers.values())


def test_the_same_seed_gives_the_same_ground_truth_and_another_seed_does_not(clip, tmp_path):
    synthesize_clip(tmp_path / "again", TINY, progress=False)
    synthesize_clip(tmp_path / "other", replace(TINY, seed=4), progress=False)
    truth = (clip / "gt.txt").read_text()
    assert (tmp_path / "again" / "gt.txt").read_text() == truth
    assert (tmp_path / "other" / "gt.txt").read_text() != truth


@pytest.mark.parametrize("change,words", [
    ({"width": 161}, "even sides"),
    ({"players": 0}, "players must be a whole number from 1 to 99"),
    ({"players": 100}, "from 1 to 99"),
    ({"frames": 0}, "frames must be"),
    ({"seed": -1}, "seed must be a whole number >= 0"),
    ({"box_height": (50.0, 20.0)}, "box_height"),
])
def test_bad_configs_are_input_errors(tmp_path, change, words):
    with pytest.raises(InputError, match=words):
        synthesize_clip(tmp_path / "out", replace(TINY, **change), progress=False)
    assert not (tmp_path / "out").exists()


def test_sizes_parse_and_bad_ones_are_input_errors():
    assert parse_size("640x360") == (640, 360) and parse_size(" 160 X 96 ") == (160, 96)
    for text in ("640", "640x", "x360", "640x360x3", "-640x360", "wide"):
        with pytest.raises(InputError, match="WIDTHxHEIGHT"):
            parse_size(text)


def test_without_pyav_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(BackendUnavailableError, match="pip install av"):
        synthesize_clip(tmp_path / "out", replace(TINY, frames=2), progress=False)
    assert not (tmp_path / "out").exists()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jersey_edge", "data", "synth-video", *args],
                          capture_output=True, text=True, timeout=120)


def test_the_command_writes_the_three_files(tmp_path):
    out = tmp_path / "clip"
    done = run_cli("--out", str(out), "--players", "2", "--frames", "4", "--size", "96x64",
                   "--seed", "1", "--fps", "10")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["clip.json", "clip.mp4", "gt.txt"]
    assert json.loads((out / "clip.json").read_text())["fps"] == 10
    assert "wrote 4 frames" in done.stdout


def test_a_bad_size_is_one_line_and_exit_2(tmp_path):
    done = run_cli("--out", str(tmp_path / "clip"), "--size", "640by360")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.strip().count("\n") == 0
    assert "WIDTHxHEIGHT" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "clip").exists()


def test_a_users_own_video_in_the_folder_is_never_overwritten(tmp_path):
    from jersey_edge.core.errors import InputError
    from jersey_edge.data.synth.clip import ClipConfig, synthesize_clip

    out = tmp_path / "clips"
    out.mkdir()
    (out / "clip.mp4").write_bytes(b"my match")
    with pytest.raises(InputError, match="not written by synth-video"):
        synthesize_clip(out, ClipConfig(players=2, frames=4, width=96, height=64),
                        progress=False)
    assert (out / "clip.mp4").read_bytes() == b"my match"
    assert sorted(p.name for p in out.iterdir()) == ["clip.mp4"]
