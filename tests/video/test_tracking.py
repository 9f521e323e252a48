"""`track`: a video and a tracker's boxes -> one number per track, each box encoded once."""

import json
from pathlib import Path

import numpy as np
import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.runtime import Recognizer
from jersey_edge.video.mot import TrackBox, write_mot
from jersey_edge.video.reader import VideoReader, VideoWriter
from jersey_edge.video.tracking import read_truth, score, track_video
from tests.test_bad_inputs import assert_one_line_error, cli

pytest.importorskip("av")
WIDTH, HEIGHT, FRAMES = 96, 64, 10


def boxes() -> list:
    """Track 1 throughout; track 7 for frames 3-6, then the tracker calls it 9 (an id that
    jumps); one box half outside the frame, one wholly outside (skipped)."""
    found = [TrackBox(f, 1, 4 + f, 6, 20, 40) for f in range(1, FRAMES + 1)]
    found += [TrackBox(f, 7, 50, 10, 18, 36) for f in range(3, 7)]
    found += [TrackBox(f, 9, 52, 10, 18, 36) for f in range(7, FRAMES + 1)]
    found += [TrackBox(2, 4, WIDTH - 8, 30, 20, 40), TrackBox(5, 5, WIDTH + 10, 0, 10, 10)]
    return found


@pytest.fixture
def clip(tmp_path: Path) -> tuple:
    rng = np.random.default_rng(0)
    video = tmp_path / "clip.mp4"
    with VideoWriter(video, width=WIDTH, height=HEIGHT, fps=25) as writer:
        for _ in range(FRAMES):
            writer.write(rng.integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    tracks = tmp_path / "tracks.txt"
    write_mot(tracks, boxes())
    return video, tracks


def test_every_box_is_encoded_once_in_one_call_per_video_frame(exported, clip):
    video, _ = clip
    with Recognizer.load(exported.out, backend="onnxruntime") as rec:
        calls = []
        encode = rec.encode
        rec.encode = lambda frames: calls.append(len(frames)) or encode(frames)
        run = track_video(rec, video, boxes(), progress=False)
    assert run.video_frames == FRAMES
    assert run.boxes_used == sum(calls) == len(boxes()) - 1  # the off-screen one skipped
    assert len(calls) == FRAMES  # every frame has boxes: one batch each
    assert sorted(run.tracks) == [1, 4, 7, 9]
    assert run.tracks[1].frames_seen == FRAMES and run.tracks[7].frames_seen == 4
    assert (run.tracks[9].first_frame, run.tracks[9].last_frame) == (7, FRAMES)
    assert run.frames_per_second > 0


def test_track_writes_results_annotated_video_and_accuracy(exported, clip, capsys, tmp_path):
    video, tracks = clip
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"numbers": {"1": 17, "7": 4, "9": 4}}))
    out, drawn = tmp_path / "tracks.json", tmp_path / "drawn.mp4"
    code, stdout, err = cli(capsys, "track", str(video), "--boxes", str(tracks), "--artifacts",
                            str(exported.out), "--out", str(out), "--annotate", str(drawn),
                            "--truth", str(truth))
    assert code == 0, err
    result = json.loads(out.read_text())
    rows = {t["track_id"]: t for t in result["tracks"]}
    assert set(rows) == {1, 4, 7, 9}
    assert set(rows[1]) >= {"number", "confidence", "frames_seen", "first_frame", "last_frame"}
    assert rows[1]["frames_seen"] == FRAMES
    assert result["accuracy"]["tracks"] == 3 and result["accuracy"]["tracks_without_truth"] == 1
    assert "frames/s" in stdout and "per-track accuracy" in stdout
    with VideoReader(drawn) as reader:
        assert sum(1 for _ in reader.frames()) == FRAMES
        assert (reader.info.width, reader.info.height) == (WIDTH, HEIGHT)


def test_a_file_that_is_no_video_is_one_line(exported, clip, capsys, tmp_path):
    _, tracks = clip
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a video" * 20)
    code, _, err = cli(capsys, "track", str(broken), "--boxes", str(tracks),
                       "--artifacts", str(exported.out), "--out", str(tmp_path / "t.json"))
    assert_one_line_error(code, err)
    assert "broken.mp4" in err
    assert not (tmp_path / "t.json").exists()


def test_an_empty_tracks_file_is_one_line(exported, clip, capsys, tmp_path):
    video, _ = clip
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, _, err = cli(capsys, "track", str(video), "--boxes", str(empty),
                       "--artifacts", str(exported.out))
    assert_one_line_error(code, err)
    assert "empty.txt" in err


def test_boxes_past_the_end_of_the_video_are_skipped_not_fatal(exported, clip):
    video, _ = clip
    late = boxes() + [TrackBox(FRAMES + 5, 1, 4, 6, 20, 40)]
    with Recognizer.load(exported.out, backend="onnxruntime") as rec:
        run = track_video(rec, video, late, progress=False)
    assert run.boxes_skipped == 2 and run.tracks[1].frames_seen == FRAMES


def test_score_counts_a_track_without_a_number_as_wrong(exported, clip):
    video, _ = clip
    with Recognizer.load(exported.out, backend="onnxruntime") as rec:
        run = track_video(rec, video, boxes(), progress=False)
    guess = run.tracks[1].best.best_guess
    result = score(run, {1: guess, 7: (guess + 1) % 100})
    assert result["tracks"] == 2 and result["tracks_without_truth"] == 2
    assert result["correct"] == (1 if run.tracks[1].best.number is not None else 0)


@pytest.mark.parametrize("text", ['[1, 2]', '{"numbers": {"1": 140}}', '{"a": "b"}', 'nope'])
def test_truth_files_that_map_no_numbers_are_refused(tmp_path, text):
    path = tmp_path / "truth.json"
    path.write_text(text)
    with pytest.raises(InputError, match="truth|numbers|JSON"):
        read_truth(path)
