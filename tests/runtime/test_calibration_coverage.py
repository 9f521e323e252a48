"""Calibration-cache coverage: tensors TensorRT's parser inserts (reshapes around Flatten and
Gemm) take the scale of the tensor they reshape; what stays uncovered is reported."""

from jersey_edge.runtime.backends.tensorrt.calibration_cache import (
    HEADER,
    Layer,
    fill_gaps,
    scale_hex,
)

TABLE = (f"{HEADER}\nframes: {scale_hex(1.0)}\nconv: {scale_hex(6.0)}\n"
         f"gemm: {scale_hex(3.0)}\n").encode()
LAYERS = [
    Layer("CONVOLUTION", ("frames",), ("conv",)),
    Layer("SHUFFLE", ("conv",), ("(Unnamed Layer* 7) [Shuffle]_output",)),  # Flatten
    Layer("SHUFFLE", ("(Unnamed Layer* 7) [Shuffle]_output",), ("reshaped twice",)),
    Layer("MATRIX_MULTIPLY", ("reshaped twice",), ("(Unnamed Layer* 9) [Matrix Multiply]",)),
    Layer("ELEMENTWISE", ("(Unnamed Layer* 9) [Matrix Multiply]",), ("gemm",)),
]


def test_reshapes_take_their_inputs_scale_in_network_order():
    table, coverage = fill_gaps(TABLE, LAYERS)
    lines = table.decode().splitlines()
    assert lines[0] == HEADER and len(lines) == 6
    assert lines[4:] == [f"(Unnamed Layer* 7) [Shuffle]_output: {scale_hex(6.0)}",
                         f"reshaped twice: {scale_hex(6.0)}"]
    assert coverage.covered == 2 and len(coverage.filled) == 2
    assert coverage.missing == ["(Unnamed Layer* 9) [Matrix Multiply]"]  # not a reshape
    assert coverage.describe().startswith("calibration cache covers 4 of 5 layer outputs")
    assert "not INT8: (Unnamed Layer* 9) [Matrix Multiply]" in coverage.describe()


def test_a_complete_cache_is_left_as_it_is():
    table, coverage = fill_gaps(TABLE, LAYERS[:1] + LAYERS[4:])
    assert table == TABLE
    assert coverage.covered == 2 and not coverage.filled and not coverage.missing
