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
    assert run.skipped == {"off the frame or under 2 px once clipped": 1,
                           "after the video's last frame": 1}


def test_boxes_that_cannot_be_cropped_are_skipped_also_when_annotating(exported, clip,
                                                                        tmp_path):
    """Far off the frame, a sliver under a pixel wide, astronomically large: none ends the
    run, none reaches Pillow unclipped."""
    video, _ = clip
    odd = boxes() + [TrackBox(2, 20, 3, 10, 1e-14, 30), TrackBox(3, 21, -1.7e308, 0, 1.7e308, 9),
                     TrackBox(4, 22, 1e300, 1e300, 1e300, 1e300)]
    with Recognizer.load(exported.out, backend="onnxruntime") as rec:
        run = track_video(rec, video, odd, annotate=tmp_path / "out.mp4", progress=False)
    assert run.skipped == {"off the frame or under 2 px once clipped": 4}
    assert sorted(run.tracks) == [1, 4, 7, 9]
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_the_library_raises_typed_errors_for_boxes_beyond_floats(exported):
    with Recognizer.load(exported.out, backend="onnxruntime") as rec:
        stream = rec.stream()
        frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        with pytest.raises(InputError, match="wider or taller than a float"):
            stream.update_from_detections(frame, np.array([[-1.7e308, 0, 1.7e308, 10]]), [1])


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


def test_a_track_run_stopped_with_sigterm_leaves_partial_results(exported, tmp_path):
    """The real CLI in its own process, terminated part-way through a long video."""
    import re
    import signal
    import subprocess
    import sys
    import time

    frames = 1500
    video = tmp_path / "long.mp4"
    with VideoWriter(video, width=WIDTH, height=HEIGHT, fps=25) as writer:
        still = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        for _ in range(frames):
            writer.write(still)
    tracks = tmp_path / "long.txt"
    write_mot(tracks, [TrackBox(f, t, 4 + 30 * t, 6, 20, 40)
                       for f in range(1, frames + 1) for t in (0, 1)])
    out, log = tmp_path / "tracks.json", tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "jersey_edge", "track", str(video), "--boxes", str(tracks),
             "--artifacts", str(exported.out), "--backend", "onnxruntime", "--out", str(out)],
            stderr=stderr, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            counts = [int(n) for n in re.findall(rf"(\d+)/{frames}", log.read_text())]
            if counts and max(counts) >= 20:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    lines = [line for line in log.read_text().replace("\r", "\n").splitlines()
             if line.startswith("error:")]
    assert code == 130, log.read_text()[-2000:]
    assert len(lines) == 1 and "interrupted; partial results" in lines[0]
    result = json.loads(out.read_text())
    assert result["partial"] is True
    assert 0 < result["video_frames"] < frames
    assert {t["track_id"] for t in result["tracks"]} == {0, 1}
    assert all(t["frames_seen"] == result["video_frames"] for t in result["tracks"])


def test_a_frame_larger_than_the_video_is_scaled_into_it(tmp_path):
    """A stream whose resolution grows mid-video: the annotated video keeps its size."""
    out = tmp_path / "grown.mp4"
    with VideoWriter(out, width=WIDTH, height=HEIGHT, fps=25) as writer:
        writer.write(np.zeros((HEIGHT, WIDTH, 3), np.uint8))
        writer.write(np.full((HEIGHT * 2, WIDTH * 3, 3), 255, np.uint8))
        writer.write(np.zeros((HEIGHT // 2, WIDTH // 2, 3), np.uint8))
    with VideoReader(out) as reader:
        shapes = [f.shape for f in reader.frames()]
    assert shapes == [(HEIGHT, WIDTH, 3)] * 3


def test_a_declared_rotation_is_warned_about(tmp_path):
    from jersey_edge.video.reader import _warn_if_rotated

    with pytest.warns(RuntimeWarning, match="90 degree rotation"):
        _warn_if_rotated(tmp_path / "phone.mp4", -90.0)
    _warn_if_rotated(tmp_path / "plain.mp4", 0.0)
