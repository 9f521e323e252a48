"""MOTChallenge tracks files: what trackers write reads back, and every bad line is named."""

from pathlib import Path

import pytest

from jersey_edge.core.errors import InputError
from jersey_edge.video.mot import TrackBox, frames_of, read_mot, write_mot

BOXES = [
    TrackBox(1, 1, 10, 20, 30, 60),
    TrackBox(1, 2, 100.5, 20.25, 31.75, 58.125),
    TrackBox(2, 1, 12, 21, 30, 60),
    TrackBox(4, 7, 0, 0, 1e-3, 2),  # id 2 ends, a new id 7 after a gap in frames
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tracks.txt"
    path.write_text(text)
    return path


def test_boxes_round_trip_exactly(tmp_path):
    path = tmp_path / "out" / "tracks.txt"
    write_mot(path, BOXES)
    assert read_mot(path) == BOXES
    assert path.read_text().splitlines()[0] == "1,1,10,20,30,60,1,-1,-1,-1"


def test_bytetrack_lines_comments_blanks_and_whitespace_columns(tmp_path):
    path = write(tmp_path, "# frame,id,x,y,w,h,score\n\n"
                           "1,3,10.5,20,30,60,0.91,-1,-1,-1\n"
                           "  2 3 11 21 30 61 0.88  \n"
                           "2, 5, 40, 20, 30, 60, 0.5\n")
    assert read_mot(path) == [TrackBox(1, 3, 10.5, 20, 30, 60), TrackBox(2, 3, 11, 21, 30, 61),
                              TrackBox(2, 5, 40, 20, 30, 60)]


def test_ids_that_jump_and_come_back_are_legal(tmp_path):
    path = write(tmp_path, "1,1,0,0,5,5\n2,900,0,0,5,5\n3,1,0,0,5,5\n9,900,0,0,5,5\n")
    by_frame = dict(frames_of(read_mot(path)))
    assert list(by_frame) == [1, 2, 3, 9]
    assert [b.track_id for f in (1, 2, 3, 9) for b in by_frame[f]] == [1, 900, 1, 900]


def test_frames_of_groups_a_frames_boxes_and_keeps_their_order():
    by_frame = [BOXES[1], BOXES[0], BOXES[2], BOXES[3]]  # sorted by frame, as files must be
    assert dict(frames_of(by_frame)) == {1: [BOXES[1], BOXES[0]], 2: [BOXES[2]], 4: [BOXES[3]]}


def test_xyxy_is_top_left_and_bottom_right():
    assert TrackBox(3, 1, 10, 20, 30, 60).xyxy == (10, 20, 40, 80)


@pytest.mark.parametrize("line,words", [
    ("1,2,3,4,5", "5 columns"),
    ("1,2,x,4,5,6", "x 'x' is not a number"),
    ("1,2,3,,5,6", "y '' is not a number"),
    ("1.5,2,3,4,5,6", "frame 1.5 is not a whole"),
    ("1,2.5,3,4,5,6", "id 2.5 is not a whole"),
    ("0,2,3,4,5,6", "frame 0 is below 1"),
    ("1,-1,3,4,5,6", "track id -1 is negative"),
    ("1,2,3,4,0,6", "box size 0x6 is not positive"),
    ("1,2,3,4,5,-6", "box size 5x-6 is not positive"),
    ("1,2,nan,4,5,6", "x is nan"),
    ("1,2,3,4,inf,6", "w is inf"),
    ("nan,2,3,4,5,6", "frame nan is not a whole"),
    ("3,1,1e308,10,1e308,30", "overflows"),
    ("3,1,1e3,10,1e-14,30", "vanishes"),
])
def test_a_malformed_line_is_named_with_its_number(tmp_path, line, words):
    path = write(tmp_path, f"# header\n1,9,0,0,5,5\n{line}\n")
    with pytest.raises(InputError) as caught:
        read_mot(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:3: ") and words in message, message
    assert "frame,id,x,y,w,h" in message and "\n" not in message


def test_one_id_twice_in_a_frame_names_both_lines(tmp_path):
    path = write(tmp_path, "1,4,0,0,5,5\n1,5,0,0,5,5\n\n1,4,9,9,5,5\n")
    with pytest.raises(InputError, match=r"tracks.txt:4: track 4 appears twice in frame 1 "
                                         r"\(first on line 1\)"):
        read_mot(path)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a header\n"])
def test_a_file_without_boxes_is_refused(tmp_path, text):
    with pytest.raises(InputError, match="holds no boxes"):
        read_mot(write(tmp_path, text))


def test_a_missing_or_binary_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such tracks file"):
        read_mot(tmp_path / "missing.txt")
    binary = tmp_path / "video.mp4"
    binary.write_bytes(b"\x00\xff\xfe" * 10)
    with pytest.raises(InputError, match="not a text file"):
        read_mot(binary)
    with pytest.raises(InputError, match="cannot read"):
        read_mot(tmp_path)


@pytest.mark.parametrize("boxes,words", [
    ([], "no boxes"),
    ([TrackBox(0, 1, 0, 0, 5, 5)], "below 1"),
    ([TrackBox(1, 1, 0, 0, 5, float("nan"))], "h is nan"),
    ([TrackBox(1, 1, 0, 0, 5, 5), TrackBox(1, 1, 3, 3, 5, 5)], "two boxes in frame 1"),
])
def test_write_refuses_what_read_would_refuse(tmp_path, boxes, words):
    path = tmp_path / "tracks.txt"
    with pytest.raises(InputError, match=words):
        write_mot(path, boxes)
    assert not path.exists()


def test_frames_out_of_order_are_refused_with_their_line(tmp_path):
    path = write(tmp_path, "1,1,0,0,5,5\n3,1,0,0,5,5\n2,1,0,0,5,5\n")
    with pytest.raises(InputError, match=r":3: frame 2 comes after frame 3.*sorted by frame"):
        read_mot(path)


def test_write_sorts_by_frame_so_what_it_writes_streams_back(tmp_path):
    path = tmp_path / "tracks.txt"
    write_mot(path, [BOXES[2], BOXES[0], BOXES[3], BOXES[1]])
    assert read_mot(path) == [BOXES[0], BOXES[1], BOXES[2], BOXES[3]]


def _peak_rss_mb(path: Path) -> float:
    """Peak RSS (MB) of a fresh process that checks and streams the whole file."""
    import subprocess
    import sys

    code = ("import resource, sys\n"
            "from jersey_edge.video.mot import check_mot, frames_of, iter_mot\n"
            "n = check_mot(sys.argv[1])\n"
            "assert sum(len(b) for _, b in frames_of(iter_mot(sys.argv[1]))) == n\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=300, check=True)
    return float(done.stdout.strip())


def test_memory_does_not_grow_with_the_tracks_file(tmp_path):
    """Peak RSS, measured: 20x the boxes (400k lines, ~17 MB of text; held as objects they
    took ~200 MB) cost the reader only a few MB more."""
    sizes = {}
    for frames in (1_000, 20_000):
        path = tmp_path / f"{frames}.txt"
        with open(path, "w") as out:
            for f in range(1, frames + 1):
                out.writelines(f"{f},{t},{10 * t},20,30,60,0.9,-1,-1,-1\n" for t in range(20))
        sizes[frames] = _peak_rss_mb(path)
    assert sizes[20_000] - sizes[1_000] < 15, sizes
