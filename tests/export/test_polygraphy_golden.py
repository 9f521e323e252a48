"""The golden data in Polygraphy's JSON format, read back with Polygraphy's own loader and
compared with golden.npz; and `polygraphy run` checking the exported graphs with it."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jersey_edge.export.golden import RUNNER, Golden, part_iterations, write_polygraphy_golden
from jersey_edge.runtime.artifacts import (
    GOLDEN,
    PARTS,
    onnx_name,
    polygraphy_inputs_name,
    polygraphy_outputs_name,
)
from jersey_edge.runtime.manifest import load_manifest

polygraphy_json = pytest.importorskip("polygraphy.json", reason="needs polygraphy (dev extra)")


def small_golden(lengths=(4, 2, 1), frames=4, embed=8) -> Golden:
    rng = np.random.default_rng(0)
    count = len(lengths)
    mask = (np.arange(frames)[None] < np.array(lengths)[:, None]).astype(np.float32)

    def normal(*shape):
        return rng.normal(size=shape).astype(np.float32)

    return Golden(frames=normal(count, frames, 3, 6, 4) * mask[..., None, None, None],
                  mask=mask, lengths=np.array(lengths, dtype=np.int64),
                  labels=np.arange(count, dtype=np.int64), tens=np.zeros(count, np.int64),
                  ones=np.arange(count, dtype=np.int64),
                  embeddings=normal(count, frames, embed) * mask[..., None],
                  tens_logits=normal(count, 11), ones_logits=normal(count, 10),
                  attention=normal(count, frames), sequences=np.array(["a", "b", "c"]))


def load(folder: Path, part: str):
    inputs = polygraphy_json.load_json(str(folder / polygraphy_inputs_name(part)))
    outputs = polygraphy_json.load_json(str(folder / polygraphy_outputs_name(part)))
    return inputs, outputs


def iterations(outputs):
    """The one runner's iterations as plain dicts of arrays."""
    assert list(outputs.keys()) == [RUNNER]
    return [dict(result.items()) for result in outputs[RUNNER]]


def assert_same(left: dict, right: dict) -> None:
    assert list(left) == list(right)
    for name in left:
        assert left[name].dtype == right[name].dtype
        np.testing.assert_array_equal(left[name], right[name])


def test_polygraphy_reads_what_was_written(tmp_path: Path):
    from polygraphy.comparator import RunResults

    golden = small_golden()
    write_polygraphy_golden(golden, tmp_path)
    for part in PARTS:
        inputs, outputs = load(tmp_path, part)
        assert isinstance(outputs, RunResults)
        expected = part_iterations(golden, part)
        assert len(inputs) == len(iterations(outputs)) == len(expected) == 3
        for feed, result, (want_in, want_out) in zip(inputs, iterations(outputs), expected):
            assert_same(feed, want_in)
            assert_same(result, want_out)
    encoder_inputs, _ = load(tmp_path, "encoder")
    assert [feed["frames"].shape for feed in encoder_inputs] == [(4, 3, 6, 4), (2, 3, 6, 4),
                                                                 (1, 3, 6, 4)]  # real frames
    head_inputs, _ = load(tmp_path, "head")
    assert [feed["embeddings"].shape for feed in head_inputs] == [(1, 4, 8)] * 3  # batch 1


def test_the_same_golden_data_gives_the_same_bytes(tmp_path: Path):
    write_polygraphy_golden(small_golden(), tmp_path / "a")
    write_polygraphy_golden(small_golden(), tmp_path / "b")
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def test_export_writes_them_from_golden_npz_and_lists_them(exported):
    manifest = load_manifest(exported.out)
    with np.load(exported.out / GOLDEN) as data:
        golden = {name: data[name] for name in data.files}
    for part in PARTS:
        for name in (polygraphy_inputs_name(part), polygraphy_outputs_name(part)):
            manifest.verify(name)
    encoder_inputs, encoder_outputs = load(exported.out, "encoder")
    head_inputs, head_outputs = load(exported.out, "head")
    for i, n in enumerate(golden["lengths"]):
        np.testing.assert_array_equal(encoder_inputs[i]["frames"], golden["frames"][i, :n])
        np.testing.assert_array_equal(iterations(encoder_outputs)[i]["embeddings"],
                                      golden["embeddings"][i, :n])
        np.testing.assert_array_equal(head_inputs[i]["mask"], golden["mask"][i:i + 1])
        for name in ("tens_logits", "ones_logits", "attention"):
            np.testing.assert_array_equal(iterations(head_outputs)[i][name],
                                          golden[name][i:i + 1])


@pytest.mark.parametrize("part", PARTS)
def test_polygraphy_run_checks_the_fp32_graphs_with_them(exported, part):
    """The command the README gives for an engine, here with ONNX Runtime on the FP32 graph."""
    polygraphy = shutil.which("polygraphy", path=str(Path(sys.executable).parent))
    if polygraphy is None:
        pytest.skip("the polygraphy command is not installed")
    folder = exported.out
    result = subprocess.run(
        [polygraphy, "run", str(folder / onnx_name(part, "fp32")), "--onnxrt",
         "--load-inputs", str(folder / polygraphy_inputs_name(part)),
         "--load-outputs", str(folder / polygraphy_outputs_name(part)),
         "--atol", "1e-4", "--rtol", "1e-3"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PASSED" in result.stdout + result.stderr
