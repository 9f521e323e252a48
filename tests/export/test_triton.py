"""The Triton model repository, checked without a server: every config.pbtxt is parsed with
Triton's own proto definitions (tritonclient), held against the ONNX graphs it serves, and
the ensembles are run step by step with ONNX Runtime exactly as their configs wire them."""

import dataclasses
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from google.protobuf import text_format
from onnx import TensorProto
from tritonclient.grpc import model_config_pb2 as mc

from jersey_edge.core.errors import ArtifactError, InputError
from jersey_edge.core.preprocess import preprocess_frames
from jersey_edge.core.two_stage import pad_sequences
from jersey_edge.export.triton import (
    PAD_MODEL,
    SEQUENCE_ENSEMBLE,
    STREAM_ENSEMBLE,
    WINDOW_MODEL,
    TritonRepositoryConfig,
    write_repository,
)
from jersey_edge.runtime.artifacts import (
    EMBEDDINGS,
    FRAMES,
    MASK,
    PARTS,
    PRECISIONS,
    engine_name,
    graphs_for,
)
from jersey_edge.runtime.manifest import load_manifest, write_manifest
from jersey_edge.runtime.prediction import to_prediction
from tests.test_bad_inputs import assert_one_line_error, cli

MODELS = {*PARTS, PAD_MODEL, SEQUENCE_ENSEMBLE, WINDOW_MODEL, STREAM_ENSEMBLE}
TRITON_TYPES = {TensorProto.FLOAT: mc.TYPE_FP32, TensorProto.FLOAT16: mc.TYPE_FP16}
NUMPY_TYPES = {mc.TYPE_FP32: np.float32, mc.TYPE_FP16: np.float16}
Configs = Dict[str, mc.ModelConfig]


@pytest.fixture(scope="module")
def repositories(exported, tmp_path_factory) -> Dict[str, Path]:
    root = tmp_path_factory.mktemp("triton")
    for precision in PRECISIONS:
        write_repository(TritonRepositoryConfig(artifacts=exported.out, out=root / precision,
                                                precision=precision))
    return {precision: root / precision for precision in PRECISIONS}


def parse_configs(repo: Path) -> Configs:
    """Every model's config.pbtxt through Triton's ModelConfig (unknown fields fail)."""
    return {path.parent.name: text_format.Parse(path.read_text(), mc.ModelConfig())
            for path in sorted(repo.glob("*/config.pbtxt"))}


def graph_dims(value: onnx.ValueInfoProto) -> List[int]:
    return [d.dim_value if d.HasField("dim_value") else -1
            for d in value.type.tensor_type.shape.dim]


def test_layout_has_every_model_with_a_version_folder(repositories) -> None:
    repo = repositories["fp32"]
    configs = parse_configs(repo)
    assert set(configs) == MODELS == {p.name for p in repo.iterdir()}
    assert all(config.name == name for name, config in configs.items())
    files = {str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()}
    assert files == {f"{m}/config.pbtxt" for m in MODELS} | {
        f"{m}/1/model.onnx" for m in (*PARTS, PAD_MODEL, WINDOW_MODEL)}
    assert (repo / SEQUENCE_ENSEMBLE / "1").is_dir() and (repo / STREAM_ENSEMBLE / "1").is_dir()
    assert {configs[m].platform for m in (SEQUENCE_ENSEMBLE, STREAM_ENSEMBLE)} == {"ensemble"}


@pytest.mark.parametrize("precision", PRECISIONS)
def test_each_part_serves_the_serving_tables_graph(repositories, exported, precision) -> None:
    serving = graphs_for(precision, "tensorrt")
    configs = parse_configs(repositories[precision])
    for part in PARTS:
        served = repositories[precision] / part / "1" / "model.onnx"
        assert served.read_bytes() == (exported.out / serving.graph(part)).read_bytes()
        assert configs[part].platform == "onnxruntime_onnx"


@pytest.mark.parametrize("precision", PRECISIONS)
def test_configs_declare_what_the_onnx_graphs_take_and_give(repositories, precision) -> None:
    repo = repositories[precision]
    for name, config in parse_configs(repo).items():
        if config.platform != "onnxruntime_onnx":
            continue
        graph = onnx.load(str(repo / name / "1" / "model.onnx")).graph
        state = config.sequence_batching.state
        check_tensors(config, config.input, graph.input, {s.input_name for s in state})
        check_tensors(config, config.output, graph.output, {s.output_name for s in state})
        for entry in state:  # the state tensors are graph inputs/outputs Triton feeds back
            for value in (*graph.input, *graph.output):
                if value.name in (entry.input_name, entry.output_name):
                    assert graph_dims(value) == [-1, *entry.dims]
                    assert TRITON_TYPES[value.type.tensor_type.elem_type] == entry.data_type


def check_tensors(config: mc.ModelConfig, declared: Sequence, values: Sequence,
                  state: set) -> None:
    graph = {v.name: v for v in values if v.name not in state}
    assert [t.name for t in declared] == list(graph)
    lead = [-1] if config.max_batch_size > 0 else []  # Triton's implicit batch axis
    for tensor in declared:
        value = graph[tensor.name]
        assert graph_dims(value) == lead + list(tensor.dims), (config.name, tensor.name)
        assert TRITON_TYPES[value.type.tensor_type.elem_type] == tensor.data_type


def test_fp16_head_attention_is_declared_fp16_as_its_graph_gives_it(repositories) -> None:
    configs = parse_configs(repositories["fp16"])
    head = {t.name: t.data_type for t in configs["head"].output}
    ensemble = {t.name: t.data_type for t in configs[SEQUENCE_ENSEMBLE].output}
    assert head["attention"] == ensemble["attention"] == mc.TYPE_FP16
    assert head["tens_logits"] == mc.TYPE_FP32


def test_batches_are_frames_for_the_encoder_and_sequences_for_the_head(
        exported, tmp_path) -> None:
    write_repository(TritonRepositoryConfig(artifacts=exported.out, out=tmp_path / "r",
                                            max_sequences=3))
    configs = parse_configs(tmp_path / "r")
    frames = exported.max_frames
    assert configs["encoder"].max_batch_size == 3 * frames
    assert configs["head"].max_batch_size == configs[WINDOW_MODEL].max_batch_size == 3
    for part in PARTS:
        batching = configs[part].dynamic_batching
        assert 0 < batching.max_queue_delay_microseconds <= 1000
        assert max(batching.preferred_batch_size) == configs[part].max_batch_size
    assert configs[PAD_MODEL].max_batch_size == 0
    assert configs[SEQUENCE_ENSEMBLE].max_batch_size == configs[STREAM_ENSEMBLE].max_batch_size == 0


def full_dims(config: mc.ModelConfig, tensor) -> List[int]:
    return ([-1] if config.max_batch_size > 0 else []) + list(tensor.dims)


def consistent(a: Tuple[int, List[int], List[int]], b: Tuple[int, List[int], List[int]]) -> bool:
    """Triton's ValidateTensorConsistency: same type, and dims or full dims (with the batch
    axis) equal where neither is -1."""
    def match(x: List[int], y: List[int]) -> bool:
        return len(x) == len(y) and all(i == j or -1 in (i, j) for i, j in zip(x, y))

    return a[0] == b[0] and (match(a[1], b[1]) or match(a[2], b[2]))


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("ensemble", [SEQUENCE_ENSEMBLE, STREAM_ENSEMBLE])
def test_ensemble_steps_wire_existing_tensors_consistently(repositories, precision,
                                                           ensemble) -> None:
    configs = parse_configs(repositories[precision])
    config = configs[ensemble]
    tensors = {t.name: (t.data_type, list(t.dims), full_dims(config, t)) for t in config.input}
    for step in config.ensemble_scheduling.step:
        model = configs[step.model_name]
        inputs = {t.name: t for t in model.input}
        assert sorted(step.input_map) == sorted(inputs), step.model_name  # all, once each
        for key, value in step.input_map.items():
            assert value in tensors, f"{value} is used before any step gives it"
            expected = inputs[key]
            assert consistent(tensors[value], (expected.data_type, list(expected.dims),
                                               full_dims(model, expected))), (ensemble, value)
        outputs = {t.name: t for t in model.output}
        for key, value in step.output_map.items():
            given = outputs[key]
            tensors[value] = (given.data_type, list(given.dims), full_dims(model, given))
    for output in config.output:
        assert consistent(tensors[output.name], (output.data_type, list(output.dims),
                                                 full_dims(config, output)))


class Emulator:
    """Runs a repository's ensembles step by step as their configs wire them, on ONNX
    Runtime: a step's tensors go in as they are (a batching model's batch is their leading
    axis), and a model's implicit state is kept per sequence id, starting from zeros."""

    def __init__(self, repo: Path) -> None:
        self.configs = parse_configs(repo)
        self.sessions = {
            name: ort.InferenceSession(str(repo / name / "1" / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
            for name, config in self.configs.items() if config.platform == "onnxruntime_onnx"}
        self.states: Dict[Tuple[Optional[int], str], np.ndarray] = {}

    def infer(self, ensemble: str, inputs: Dict[str, np.ndarray],
              sequence_id: Optional[int] = None) -> Dict[str, np.ndarray]:
        config = self.configs[ensemble]
        tensors = dict(inputs)
        for step in config.ensemble_scheduling.step:
            model = self.configs[step.model_name]
            state = model.sequence_batching.state
            feed = {key: tensors[value] for key, value in step.input_map.items()}
            for entry in state:
                initial = np.zeros((1, *entry.initial_state[0].dims),
                                   NUMPY_TYPES[entry.data_type])
                feed[entry.input_name] = self.states.get((sequence_id, entry.input_name),
                                                         initial)
            names = [t.name for t in model.output] + [s.output_name for s in state]
            results = dict(zip(names, self.sessions[step.model_name].run(names, feed)))
            for entry in state:
                self.states[(sequence_id, entry.input_name)] = results[entry.output_name]
            tensors.update({value: results[key] for key, value in step.output_map.items()})
        outputs = {t.name: tensors[t.name] for t in config.output}
        for t in config.output:
            assert consistent((t.data_type, list(outputs[t.name].shape), []),
                              (t.data_type, list(t.dims), []))
        return outputs


Infer = Callable[..., Dict[str, np.ndarray]]  # (model, pixels, sequence_id, start) -> outputs


def assert_sequence_ensemble_reads_as_the_recognizer(infer: Infer, recognizer, exported,
                                                     atol: float) -> None:
    """`ensemble` on sequences of 1, T-1 and T frames reads what `Recognizer` reads."""
    cfg = exported.preprocess
    rng = np.random.default_rng(0)
    for frames in (1, exported.max_frames - 1, exported.max_frames):
        pixels = rng.normal(size=(frames, 3, cfg.height, cfg.width)).astype(np.float32)
        got = infer(SEQUENCE_ENSEMBLE, pixels)
        want = recognizer.predict_preprocessed([pixels])[0]
        read = to_prediction(got["tens_logits"][0], got["ones_logits"][0],
                             got["attention"][0], frames)
        np.testing.assert_allclose(read.tens_probs, want.tens_probs, atol=atol)
        np.testing.assert_allclose(read.ones_probs, want.ones_probs, atol=atol)
        np.testing.assert_allclose(read.attention, want.attention, atol=atol)


def assert_track_stream_answers_as_track_stream(infer: Infer, recognizer, exported,
                                                atol: float) -> None:
    """`track_stream`, one crop per request and the track id as the sequence id, answers
    what `TrackStream` answers."""
    stream = recognizer.stream()
    rng = np.random.default_rng(1)
    # track 7 runs past a full window; track 9 joins later, so windows of different fill
    schedule = [[7], [7], [7, 9], [7, 9], [7], [7, 9], [9]]
    seen_tracks: set = set()
    for tracks in schedule:
        crops = {t: rng.integers(0, 255, (48, 24, 3), dtype=np.uint8) for t in tracks}
        want = stream.update_many(crops)
        for track, crop in crops.items():
            pixels = preprocess_frames([crop], exported.preprocess)
            got = infer(STREAM_ENSEMBLE, pixels, track, track not in seen_tracks)
            seen_tracks.add(track)
            seen = int(got[MASK][0].sum())
            read = to_prediction(got["tens_logits"][0], got["ones_logits"][0],
                                 got["attention"][0], seen)
            assert seen == len(want[track].attention)
            np.testing.assert_allclose(read.tens_probs, want[track].tens_probs, atol=atol)
            np.testing.assert_allclose(read.ones_probs, want[track].ones_probs, atol=atol)


def emulated(repo: Path) -> Infer:
    emulator = Emulator(repo)

    def infer(model: str, pixels: np.ndarray, sequence_id: Optional[int] = None,
              start: bool = False) -> Dict[str, np.ndarray]:
        return emulator.infer(model, {FRAMES: pixels}, sequence_id=sequence_id)

    return infer


def test_sequence_ensemble_reads_as_the_recognizer_does(repositories, recognizer,
                                                        exported) -> None:
    assert_sequence_ensemble_reads_as_the_recognizer(emulated(repositories["fp32"]), recognizer,
                                                     exported, atol=1e-5)


def test_track_stream_ensemble_answers_as_track_stream(repositories, recognizer,
                                                       exported) -> None:
    assert_track_stream_answers_as_track_stream(emulated(repositories["fp32"]), recognizer,
                                                exported, atol=1e-5)


def session(repo: Path, model: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(repo / model / "1" / "model.onnx"),
                                providers=["CPUExecutionProvider"])


def test_pad_embeddings_pads_as_the_runtime_and_refuses_too_many_frames(
        repositories, exported) -> None:
    pad = session(repositories["fp32"], PAD_MODEL)
    frames = exported.max_frames
    rng = np.random.default_rng(2)
    for n in range(1, frames + 1):
        rows = rng.normal(size=(n, 256)).astype(np.float32)
        embeddings, mask = pad.run([EMBEDDINGS, MASK], {"frame_embeddings": rows})
        want_embeddings, want_mask = pad_sequences(rows, [n], frames)
        np.testing.assert_array_equal(embeddings, want_embeddings)
        np.testing.assert_array_equal(mask, want_mask)
    with pytest.raises(Exception, match=f"more_than_{frames}_frames"):
        pad.run(None, {"frame_embeddings": np.zeros((frames + 1, 256), np.float32)})


def test_track_window_keeps_the_last_frames_of_each_track_in_a_batch(repositories,
                                                                     exported) -> None:
    window = session(repositories["fp32"], WINDOW_MODEL)
    frames, width = exported.max_frames, 256
    state = np.zeros((2, frames, width), np.float32), np.zeros((2, frames), np.float32)
    history: List[List[np.ndarray]] = [[], []]
    rng = np.random.default_rng(3)
    for step in range(2 * frames + 1):
        new = rng.normal(size=(2, width)).astype(np.float32)
        if step == frames:  # track 1 ends; a new one starts in its slot from zero state
            history[1] = []
            state[0][1], state[1][1] = 0, 0
        embeddings, mask, *state = window.run(
            [EMBEDDINGS, MASK, "window_out", "window_mask_out"],
            {"frame_embeddings": new, "window_in": state[0], "window_mask_in": state[1]})
        for track in range(2):
            history[track] = (history[track] + [new[track]])[-frames:]
            want, want_mask = pad_sequences(np.stack(history[track]), [len(history[track])],
                                            frames)
            np.testing.assert_array_equal(embeddings[track], want[0])
            np.testing.assert_array_equal(mask[track], want_mask[0])


def partial_export(exported, folder: Path, names: Sequence[str],
                   extra: Optional[Dict[str, bytes]] = None) -> Path:
    """A copy of the tiny export holding only `names` (+ `extra` files), with a manifest
    that lists exactly those."""
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes((exported.out / name).read_bytes())
    for name, data in (extra or {}).items():
        (folder / name).write_bytes(data)
    manifest = dataclasses.replace(load_manifest(exported.out), root=folder)
    write_manifest(manifest, [*names, *(extra or {})])
    return folder


def test_listed_engines_are_served_as_tensorrt_plans(exported, repositories, tmp_path) -> None:
    serving = graphs_for("fp16", "tensorrt")
    engines = {engine_name(part, "fp16"): f"{part} engine".encode() for part in PARTS}
    folder = partial_export(exported, tmp_path / "engines", [serving.encoder, serving.head],
                            engines)
    assert load_manifest(folder).has(serving.engine("encoder"))
    write_repository(TritonRepositoryConfig(artifacts=folder, out=tmp_path / "r",
                                            precision="fp16"))
    configs, onnx_configs = parse_configs(tmp_path / "r"), parse_configs(repositories["fp16"])
    for part in PARTS:
        assert configs[part].platform == "tensorrt_plan"
        assert sorted(p.name for p in (tmp_path / "r" / part / "1").iterdir()) == ["model.plan"]
        plan = (tmp_path / "r" / part / "1" / "model.plan").read_bytes()
        assert plan == engines[serving.engine(part)]
        assert configs[part].input == onnx_configs[part].input  # I/O read from the graph
        assert configs[part].output == onnx_configs[part].output


@pytest.mark.parametrize("device,kind", [("auto", mc.ModelInstanceGroup.KIND_AUTO),
                                         ("cpu", mc.ModelInstanceGroup.KIND_CPU),
                                         ("gpu", mc.ModelInstanceGroup.KIND_GPU)])
def test_every_model_runs_where_device_says(exported, tmp_path, device, kind) -> None:
    write_repository(TritonRepositoryConfig(artifacts=exported.out, out=tmp_path / device,
                                            precision="int8", device=device))
    configs = parse_configs(tmp_path / device)
    for name in (*PARTS, PAD_MODEL, WINDOW_MODEL):
        assert [(g.kind, g.count) for g in configs[name].instance_group] == [(kind, 1)], name


def test_a_cpu_server_runs_the_cpu_graphs_and_no_plans(exported, tmp_path) -> None:
    """int8 on a CPU-only server: the U8 CPU encoder and the FP32 head, as the runtime's
    ONNX Runtime CPU path runs them; an engine listed in the folder is not served."""
    cpu, gpu = graphs_for("int8", "cpu"), graphs_for("int8", "tensorrt")
    engines = {engine_name(part, "int8"): f"{part} engine".encode() for part in PARTS}
    folder = partial_export(exported, tmp_path / "engines",
                            sorted({cpu.encoder, cpu.head, gpu.encoder, gpu.head}), engines)
    write_repository(TritonRepositoryConfig(artifacts=folder, out=tmp_path / "r",
                                            precision="int8", device="cpu"))
    configs = parse_configs(tmp_path / "r")
    for part in PARTS:
        assert configs[part].platform == "onnxruntime_onnx"
        served = (tmp_path / "r" / part / "1" / "model.onnx").read_bytes()
        assert served == (exported.out / cpu.graph(part)).read_bytes()


def test_cli_writes_the_repository_and_names_each_model(capsys, exported, tmp_path) -> None:
    code, out, err = cli(capsys, "triton", "--artifacts", str(exported.out), "--out",
                         str(tmp_path / "r"), "--precision", "int8", "--max-batch", "2")
    assert code == 0, err
    assert {line.split("\t")[0] for line in out.splitlines()[:-1]} == MODELS
    assert "encoder\tonnxruntime_onnx\tencoder.int8.onnx" in out
    assert parse_configs(tmp_path / "r")["head"].max_batch_size == 2


def test_cli_refuses_a_precision_the_folder_lacks(capsys, exported, tmp_path) -> None:
    fp32 = graphs_for("fp32", "tensorrt")
    folder = partial_export(exported, tmp_path / "fp32-only", [fp32.encoder, fp32.head])
    for precision in ("fp16", "int8"):
        code, _, err = cli(capsys, "triton", "--artifacts", str(folder), "--out",
                           str(tmp_path / precision), "--precision", precision)
        assert_one_line_error(code, err, f"no {precision} export", "re-export")
        assert not (tmp_path / precision).exists()


def test_cli_refuses_a_non_empty_out_unless_forced(capsys, exported, tmp_path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("someone's file")
    args = ("triton", "--artifacts", str(exported.out), "--out", str(out))
    code, _, err = cli(capsys, *args)
    assert_one_line_error(code, err, "not empty", "--force")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    code, _, err = cli(capsys, *args, "--force")
    assert code == 0, err
    assert {p.name for p in out.iterdir()} == MODELS
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no staging folder left behind


@pytest.mark.parametrize("args,words", [
    (("--max-batch", "0"), ("--max-batch",)),
    (("--precision", "fp8"), ("fp8",)),
    (("--device", "tpu"), ("tpu",)),
])
def test_cli_refuses_bad_options(capsys, exported, tmp_path, args, words) -> None:
    code, _, err = cli(capsys, "triton", "--artifacts", str(exported.out), "--out",
                       str(tmp_path / "r"), *args)
    assert_one_line_error(code, err, *words)


def test_the_export_folder_itself_is_never_the_repository(exported, tmp_path) -> None:
    for out in (exported.out, exported.out.parent):
        with pytest.raises(InputError, match="holds the export folder"):
            write_repository(TritonRepositoryConfig(artifacts=exported.out, out=out,
                                                    force=True))
    with pytest.raises(ArtifactError, match="no artifacts folder"):
        write_repository(TritonRepositoryConfig(artifacts=tmp_path / "missing",
                                                out=tmp_path / "r"))
