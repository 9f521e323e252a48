"""Choice options: --help lists their values, a value outside them is one line and exit 2,
and each list is the library's own (the CLI spells them out to stay fast to import)."""

import inspect
import re
from typing import get_args

import pytest
from typer.testing import CliRunner

from jersey_edge import cli as cli_mod
from jersey_edge import cli_train
from jersey_edge.core.errors import InputError
from jersey_edge.data.splits import SPLIT_NAMES
from jersey_edge.export.int8.calibration import CALIB_METHODS
from jersey_edge.export.pipeline import ExportOptions
from jersey_edge.export.triton.config import DEVICES
from jersey_edge.runtime import Recognizer
from jersey_edge.runtime.artifacts import PRECISIONS
from jersey_edge.runtime.backends import BACKENDS
from jersey_edge.runtime.backends.openvino import INFERENCE_PRECISIONS
from jersey_edge.train.config import PRESETS
from jersey_edge.train.evaluate import ALL
from tests.test_bad_inputs import assert_one_line_error, cli

WIDE = {"COLUMNS": "240", "TERMINAL_WIDTH": "240"}  # no wrapping inside the option table


@pytest.mark.parametrize(("choice", "library"), [
    (cli_mod.PrecisionName, PRECISIONS),
    (cli_mod.BackendName, ("auto", *BACKENDS)),
    (cli_train.PresetName, tuple(PRESETS)),
    (cli_mod.SplitName, (*SPLIT_NAMES, ALL)),
    (cli_mod.CalibMethod, CALIB_METHODS),
    (cli_mod.InferencePrecisionName, INFERENCE_PRECISIONS),
    (cli_mod.TritonDevice, DEVICES),
])
def test_choices_are_the_librarys(choice, library):
    assert sorted(get_args(choice)) == sorted(library)


def test_build_engine_precisions_are_the_librarys():
    """build-engine's repeatable --precision is an Enum (typer takes no list of Literal)."""
    assert [p.value for p in cli_mod.EnginePrecision] == list(get_args(cli_mod.PrecisionName))
    assert sorted(p.value for p in cli_mod.EnginePrecision) == sorted(PRECISIONS)


def test_device_choices_are_what_training_resolves():
    from jersey_edge.train.loop import resolve_device

    assert get_args(cli_train.DeviceName) == ("auto", "cpu", "cuda")
    resolve_device("cpu")
    with pytest.raises(InputError, match="auto, cpu or cuda"):
        resolve_device("tpu")


def help_of(*command: str) -> str:
    result = CliRunner().invoke(cli_mod.app, [*command, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def listed(text: str, values) -> bool:
    """Whether --help shows these choices as one `a|b|c` list (typer's notation)."""
    return re.search(r"\|".join(map(re.escape, values)), text) is not None


@pytest.mark.parametrize(("command", "choices"), [
    ("export", [cli_mod.CalibMethod]),
    ("predict", [cli_mod.BackendName, cli_mod.PrecisionName, cli_mod.InferencePrecisionName]),
    ("track", [cli_mod.BackendName, cli_mod.PrecisionName, cli_mod.InferencePrecisionName]),
    ("evaluate", [cli_mod.SplitName]),
    ("train", [cli_train.PresetName, cli_train.DeviceName]),
    ("build-engine", [cli_mod.PrecisionName]),
])
def test_help_lists_the_choices(command, choices):
    text = help_of(command)
    for choice in choices:
        assert listed(text, get_args(choice)), text


def test_bench_help_lists_its_backends_and_precisions():
    text = " ".join(help_of("bench").split())
    assert f"Comma list of {', '.join(BACKENDS)};" in text
    assert f"Comma list of {', '.join(PRECISIONS)};" in text


def test_shell_completion_is_offered():
    assert "--install-completion" in help_of()


@pytest.mark.parametrize("args", [
    ("predict", "folder", "--precision", "fp64"),
    ("predict", "folder", "--backend", "coreml"),
    ("track", "clip.mp4", "--boxes", "t.txt", "--precision", "int4"),
    ("evaluate", "--split", "dev"),
    ("export", "--calib-method", "kl"),
    ("train", "--preset", "huge"),
    ("train", "--device", "tpu"),
    ("build-engine", "--precision", "fp64"),
])
def test_a_value_outside_the_choices_is_one_line_and_exit_2(capsys, args):
    code, out, err = cli(capsys, *args)
    assert_one_line_error(code, err)
    option, value = args[-2:]
    assert option in err and value in err and "--help" in err
    assert out == ""


@pytest.mark.parametrize("args", [("--bogus",), ("bogus",), ("predict",),
                                  ("data", "synth", "--sequences", "many")])
def test_other_usage_errors_are_one_line_and_exit_2(capsys, args):
    code, _, err = cli(capsys, *args)
    assert_one_line_error(code, err)


def test_no_arguments_still_show_the_help(capsys):
    code, out, _ = cli(capsys)
    assert code == 2 and "Usage:" in out and "checks" in out


def test_a_choice_reaches_the_library_as_a_plain_string(capsys, monkeypatch, tmp_path):
    seen = {}

    def load(cls, artifacts, backend, precision, **kwargs):
        seen.update(backend=backend, precision=precision)
        raise InputError("stop here")

    monkeypatch.setattr(Recognizer, "load", classmethod(load))
    code, _, err = cli(capsys, "predict", str(tmp_path), "--backend", "onnxruntime",
                       "--precision", "int8")
    assert_one_line_error(code, err)
    assert seen == {"backend": "onnxruntime", "precision": "int8"}
    assert {type(value) for value in seen.values()} == {str}


def test_calib_size_defaults_to_export_options():
    default = inspect.signature(cli_mod.export).parameters["calib_size"].default
    assert default == ExportOptions().calib_size == 500
