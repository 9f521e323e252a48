"""Every manifest section the runtime reads is checked when the manifest loads, and graphs
must have the outputs the runtime reads, not only its inputs."""

import json
import shutil

import onnx
import pytest

from jersey_edge.core.errors import ArtifactError
from jersey_edge.runtime import Recognizer
from jersey_edge.runtime.artifacts import MANIFEST, graphs_for
from jersey_edge.runtime.manifest import add_files, load_manifest


def _with(exported, tmp_path, **sections):
    folder = tmp_path / "artifacts"
    shutil.copytree(exported.out, folder)
    data = json.loads((folder / MANIFEST).read_text())
    data.update(sections)
    (folder / MANIFEST).write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize("sections,words", [
    ({"degraded": {"fp32": [1, 2]}}, '"degraded" must map'),
    ({"degraded": ["int8"]}, '"degraded" must map'),
    ({"degraded": {"fp64": ["encoder"]}}, '"degraded" must map'),
    ({"checkpoint": 7}, '"checkpoint" must be a path'),
    ({"abstain": {"threshold": "high"}}, "re-export"),
    ({"engines": []}, "re-export"),
])
def test_a_section_of_the_wrong_type_is_refused_at_load(exported, tmp_path, sections, words):
    folder = _with(exported, tmp_path, **sections)
    with pytest.raises(ArtifactError, match=words):
        load_manifest(folder)


def test_a_head_graph_without_attention_is_refused_at_load(exported, tmp_path):
    folder = tmp_path / "artifacts"
    shutil.copytree(exported.out, folder)
    name = graphs_for("fp32", "cpu").graph("head")
    model = onnx.load(str(folder / name))
    old = model.graph.output[2].name
    for node in model.graph.node:
        node.output[:] = ["renamed" if o == old else o for o in node.output]
        node.input[:] = ["renamed" if i == old else i for i in node.input]
    model.graph.output[2].name = "renamed"
    onnx.save(model, str(folder / name))
    add_files(folder, [name])
    with pytest.raises(ArtifactError, match="lacks the output"):
        Recognizer.load(folder, backend="onnxruntime")
