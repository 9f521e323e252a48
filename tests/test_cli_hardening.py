"""The CLI's last-resort handling (unexpected errors, Ctrl-C, --debug) and `predict` over many
folders: a bounded number at a time, each result printed as soon as it is known."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from jersey_edge.cli import main
from jersey_edge.data import preview
from jersey_edge.runtime import Recognizer
from jersey_edge.runtime import folders as folders_mod
from tests.test_bad_inputs import cli

PREVIEW = ("data", "preview", "--data-root", "nowhere")


def raiser(exc: BaseException):
    def raise_it(*args, **kwargs):
        raise exc

    return raise_it


def test_unexpected_error_is_one_line_and_exit_3(monkeypatch, capsys):
    monkeypatch.setattr(preview, "contact_sheet", raiser(TypeError("bad thing\n  in detail")))
    code, out, err = cli(capsys, *PREVIEW)
    assert code == 3
    assert err.splitlines() == [
        "error: internal error (TypeError): bad thing in detail; re-run with --debug"]


def test_debug_shows_the_traceback_of_an_unexpected_error(monkeypatch):
    monkeypatch.setattr(preview, "contact_sheet", raiser(TypeError("bad thing")))
    with pytest.raises(TypeError, match="bad thing"):
        main(["--debug", *PREVIEW])


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_ctrl_c_is_exit_130_and_one_line(monkeypatch, capsys, debug):
    monkeypatch.setattr(preview, "contact_sheet", raiser(KeyboardInterrupt()))
    code, out, err = cli(capsys, *debug, *PREVIEW)
    assert code == 130
    assert [line for line in err.splitlines() if line.strip()] == ["error: interrupted"]


PATCHED_RUN = """
import sys
from jersey_edge.cli import main
from jersey_edge.data import preview
def fail(*args, **kwargs):
    raise {exc}
preview.contact_sheet = fail
main(sys.argv[1:])
"""


@pytest.mark.parametrize("exc, debug, code", [
    ("ZeroDivisionError('boom')", False, 3),
    ("ZeroDivisionError('boom')", True, 1),
    ("KeyboardInterrupt()", False, 130),
])
def test_exit_codes_of_a_real_process(exc, debug, code):
    args = ["--debug"] * debug + list(PREVIEW)
    result = subprocess.run([sys.executable, "-c", PATCHED_RUN.format(exc=exc), *args],
                            capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).parents[1])
    assert result.returncode == code, result.stderr
    assert ("Traceback" in result.stderr) == debug
    if not debug:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def sequence_folders(exported, count: int) -> List[Path]:
    """Sequence folders of the exported dataset (read directly: no discovery logging)."""
    return sorted(p.parent for p in exported.data_root.glob("*/*/*/frame_000.jpg"))[:count]


def test_predict_works_through_folders_a_chunk_at_a_time(exported, capsys, monkeypatch):
    """Chunks of 2: each is read, predicted and printed before the next one is read."""
    monkeypatch.setattr(folders_mod, "PREDICT_CHUNK", 2)
    events: List[str] = []
    real_preprocess, real_predict = Recognizer.preprocess, Recognizer.predict_preprocessed

    def preprocess(self, frames):
        events.append(f"printed {capsys.readouterr().out.count(chr(10))}")
        events.append("read")
        return real_preprocess(self, frames)

    def predict(self, sequences):
        events.append(f"predict {len(sequences)}")
        return real_predict(self, sequences)

    monkeypatch.setattr(Recognizer, "preprocess", preprocess)
    monkeypatch.setattr(Recognizer, "predict_preprocessed", predict)
    folders = sequence_folders(exported, 5)
    code, out, err = cli(capsys, "predict", *map(str, folders), "--artifacts", str(exported.out))
    assert code == 0, err
    reads = [e for e in events if not e.startswith("printed 0")]
    assert reads == ["read", "read", "predict 2", "printed 2", "read", "read", "predict 2",
                     "printed 2", "read", "predict 1"]
    assert [line.split("\t")[0] for line in out.splitlines()] == [str(folders[-1])]


def test_predict_json_never_prints_nan(exported, capsys, monkeypatch):
    real_predict = Recognizer.predict_preprocessed

    def nan_first(self, sequences):
        first, *rest = real_predict(self, sequences)
        return [dataclasses.replace(first, confidence=float("nan")), *rest]

    monkeypatch.setattr(Recognizer, "predict_preprocessed", nan_first)
    folders = sequence_folders(exported, 2)
    code, out, err = cli(capsys, "predict", *map(str, folders), "--artifacts", str(exported.out),
                         "--json")
    assert code == 2
    assert err.splitlines()[0].startswith(f"error: {folders[0]}: ")
    assert "not finite" in err
    strict = [json.loads(line, parse_constant=raiser(ValueError("NaN"))) for line in
              out.splitlines()]
    assert [row["sequence"] for row in strict] == [str(folders[1])]


def test_library_warnings_print_as_one_line():
    from jersey_edge.cli_support import one_line_warning

    text = one_line_warning(UserWarning("int8 misses its target\nsee manifest.json"),
                             UserWarning, "cli.py", 376, "source line shown by default")
    assert text.startswith("warning: int8 misses its target") and text.count("\n") == 1
    assert "cli.py" not in text and "source line" not in text
