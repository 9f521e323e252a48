"""Commands refuse, before any work, to write an output over one of their inputs (the real
CLI in its own process: one line on stderr, exit 2, the input untouched)."""

import subprocess
import sys
from pathlib import Path

import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.core.fileio import check_outputs


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jersey_edge", *args], capture_output=True,
                          text=True, timeout=120)


def _refused(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert all(w in lines[0] for w in words), done.stderr


@pytest.fixture
def clip(tmp_path: Path) -> dict:
    video = tmp_path / "in.mp4"
    video.write_bytes(b"not really a video, never read: refused first")
    boxes = tmp_path / "t.txt"
    boxes.write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    return {"video": video, "boxes": boxes, "bytes": {p: p.read_bytes() for p in (video, boxes)}}


@pytest.mark.parametrize("option,target", [("--annotate", "video"), ("--out", "boxes"),
                                           ("--annotate", "boxes")])
def test_track_never_writes_over_its_video_or_boxes(clip, tmp_path, option, target):
    done = _run("track", str(clip["video"]), "--boxes", str(clip["boxes"]),
                "--artifacts", str(tmp_path), option, str(clip[target]))
    _refused(done, option, "would overwrite the input")
    for path, data in clip["bytes"].items():
        assert path.read_bytes() == data


def test_track_refuses_one_file_for_both_outputs(clip, tmp_path):
    same = tmp_path / "out.bin"
    _refused(_run("track", str(clip["video"]), "--boxes", str(clip["boxes"]),
                  "--out", str(same), "--annotate", str(same)), "--out and --annotate")


def test_a_hard_link_is_the_same_file(tmp_path):
    source = tmp_path / "boxes.txt"
    source.write_text("x")
    link = tmp_path / "other-name.txt"
    link.hardlink_to(source)
    with pytest.raises(InputError, match="would overwrite the input"):
        check_outputs({"--out": link}, [source])


def test_an_existing_file_inside_an_input_folder_is_refused(tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "manifest.json").write_text("{}")
    with pytest.raises(InputError, match="--json"):
        check_outputs({"--json": artifacts / "manifest.json"}, [artifacts])
    check_outputs({"--json": artifacts / "bench.json"}, [artifacts])  # a new file is fine
    check_outputs({"--json": None}, [artifacts, None])


def test_evaluate_never_writes_json_over_its_checkpoint(tmp_path):
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    _refused(_run("evaluate", "--checkpoint", str(checkpoint), "--json", str(checkpoint)),
             "--json", "would overwrite the input")
    assert checkpoint.read_bytes() == b"weights"
