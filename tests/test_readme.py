"""The README's Python API block, run as pasted after `make demo`: in a folder holding
`artifacts/` (here the tiny export) and `data/synth/<label>/<track>/<seq>/` sequences."""

import re
import shutil
from pathlib import Path

from jersey_edge.runtime import Prediction
from tests.conftest import write_jpeg

README = Path(__file__).resolve().parents[1] / "README.md"


def python_api_block() -> str:
    """The first ```python block under the README's "## Python API" heading."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "README.md: no ```python block under ## Python API"
    return found.group(1)


def write_demo_layout(root: Path) -> None:
    """Sequences as `data synth` writes them, with an anchor and a held-out folder too."""
    synth = root / "data" / "synth"
    for label, track in (("7", "t00003"), ("48", "t00001"), ("heldout/17", "t00009")):
        for seq in ("s0", "s1"):
            folder = synth / label / track / seq
            write_jpeg(folder / "anchor.jpg", text=label)
            for i in range(6):
                write_jpeg(folder / f"frame_{i:03d}.jpg", size=(40 + i, 64), text=label)
    (synth / "synth.json").write_text("{}", encoding="utf-8")


def test_the_python_api_block_runs(exported, tmp_path, monkeypatch, capsys):
    code = python_api_block()
    for name in ("Recognizer.load(", ".predict(", ".stream(", ".update_from_detections("):
        assert name in code
    assert len(code.splitlines()) <= 20

    shutil.copytree(exported.out, tmp_path / "artifacts")
    write_demo_layout(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    try:
        exec(compile(code, str(README), "exec"), namespace)
    finally:
        if "rec" in namespace:
            namespace["rec"].close()

    assert isinstance(namespace["p"], Prediction)
    assert namespace["rec"].max_frames == exported.max_frames
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines

    seq, number, best_guess, confidence = lines[0].split()
    assert Path(seq) == Path("data/synth/48/t00001/s0")
    assert number == "None" or int(number) == int(best_guess)
    assert 0 <= int(best_guess) <= 99
    assert 0.0 <= float(confidence) <= 1.0

    for line, track_id in zip(lines[1:], ("7", "8")):
        got_id, number, best_guess = line.split()
        assert got_id == track_id
        assert number == "None" or int(number) == int(best_guess)
        assert 0 <= int(best_guess) <= 99
